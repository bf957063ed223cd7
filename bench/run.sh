#!/usr/bin/env bash
# Every performance figure the issues ask for, measured in one run on this
# machine. Usage: bench/run.sh [BUILD_DIR]. Each part prints its own figures
# and targets; the exit code is non-zero if any part missed its target.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=$(realpath "${1:-build}")
rc=0
echo "== JOSE: Tessera against openssl speed (one core)"
bash bench/jose/run.sh || rc=1
echo "== HTTP: Tessera JSON endpoint against nginx static file (wrk -t1 -c64)"
bash bench/http/run.sh || rc=1
echo "== OAuth: client credentials, ES256 JWT access tokens, Tessera vs oidc-provider (wrk -t1 -c64)"
bash bench/oauth/compare.sh "$BUILD_DIR/tessera" || rc=1
echo "== OAuth: introspection of opaque access tokens (wrk -t1 -c64)"
bash bench/oauth/introspect.sh "$BUILD_DIR/tessera" || rc=1
echo "== OAuth: refresh token grant with rotation on SQLite (wrk -t1 -c64)"
bash bench/oauth/refresh.sh "$BUILD_DIR/tessera" || rc=1
echo "== OAuth: client credentials with DPoP-bound ES256 access tokens (wrk -t1 -c64)"
bash bench/oauth/dpop.sh "$BUILD_DIR/tessera" || rc=1
echo "== OAuth: client credentials over mutual TLS, certificate-bound ES256 tokens (mtls_load -c32)"
bash bench/oauth/mtls.sh "$BUILD_DIR/tessera" || rc=1
echo "== FGA: in-process engine, GitHub-like model, one million tuples"
BUILD_DIR=$BUILD_DIR bash bench/fga/run.sh || rc=1
BUILD_DIR=$BUILD_DIR bash bench/fga/branches.sh || rc=1
echo "== FGA: HTTP Check, the same model and tuples on SQLite (wrk -t1 -c64)"
BUILD_DIR=$BUILD_DIR bash bench/fga/http_check.sh "$BUILD_DIR/tessera" || rc=1
echo "== Gateway: jwt policy (cached and uncached) against nginx's reverse proxy, p99 at half rate"
bash bench/gateway/proxy.sh "$BUILD_DIR/tessera" || rc=1
echo "== Gateway: per-client rate limits in memory against buckets shared in Redis"
bash bench/gateway/redis_limits.sh "$BUILD_DIR/tessera" || rc=1
echo "== SDK: claims cache hits, and memory for one million cached principals"
"$BUILD_DIR/bench/resource/claims_cache_bench" || rc=1
"$BUILD_DIR/bench/resource/claims_cache_bench" --memory || rc=1
echo "== SDK: RFC 9421 hmac-sha256, one gateway request signed and verified"
"$BUILD_DIR/bench/resource/message_signature_bench" || rc=1
echo "== SDK: uncached validation (RS256, ES256, EdDSA) against openssl speed verify (one core)"
BUILD_DIR=$BUILD_DIR bash bench/resource/run.sh || rc=1
echo "== Memory: idle"
bash bench/memory/run.sh "$BUILD_DIR" || rc=1
echo "== Memory: after one million tokens under load"
bash bench/memory/tokens.sh "$BUILD_DIR/tessera" || rc=1
exit $rc
