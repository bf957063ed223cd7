#!/usr/bin/env bash
# Client credentials with DPoP-bound ES256 access tokens (RFC 9449 §5) against `tessera demo`,
# keep-alive, wrk: every request carries a fresh ES256 proof, so the server verifies one signature
# (the proof) and makes one (the token, bound by cnf.jkt, token_type DPoP). The demo's `service`
# client (client_secret_basic) asks for scope invoices:read, as in run.sh.
#
# 1. seed_dpop.mjs --check: one DPoP token request, its JWT verified with jose against the JWKS
#    (cnf.jkt = the proof key's thumbprint), and the same proof replayed must be refused.
# 2. The same request without DPoP (client_credentials.lua, the same wrk settings), for context;
#    its rate also sizes the proofs: a DPoP request does all of its work and more.
# 3. Proofs are single use and the server takes them up to 60 s after their iat, so they are made
#    (seed_dpop.mjs, in PROOF_PROCESSES node processes) right before the runs: PROOF_RATE x
#    (WARMUP + DURATION) of them, timed. The script refuses to run when making them took so long
#    that generation + warm-up + run (+ 2 s) would pass MAX_AGE (50 s).
# 4. A warm-up wrk run (WARMUP seconds, its own proofs), then the measured run (dpop.lua). A wrk
#    thread out of proofs sends none (counted, "exhausted", and refused by the server): rerun with
#    a higher PROOF_RATE.
#
#   bench/oauth/dpop.sh [TESSERA_BINARY]
#
# Env: DURATION (10, seconds), WARMUP (3), CONNECTIONS (64), THREADS (wrk threads, 1),
# TARGET (10000), PROOF_RATE (proofs per second of run: 1.5 x the larger of the plain rate and
# the target), PROOF_PROCESSES (nproc), PROOF_SIGNER (node; jose: every proof by jose's SignJWT,
# ~3x slower, see seed_dpop.mjs), MAX_AGE (50).
# Exits 1 below the target or when any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10}
duration=${duration%s}
warmup=${WARMUP:-3}
warmup=${warmup%s}
connections=${CONNECTIONS:-64}
wrk_threads=${THREADS:-1}
target=${TARGET:-10000}
processes=${PROOF_PROCESSES:-$(nproc)}
signer=${PROOF_SIGNER:-node}
max_age=${MAX_AGE:-50}
[[ "$duration" =~ ^[0-9]+$ && "$warmup" =~ ^[0-9]+$ ]] || {
  echo "DURATION and WARMUP are whole seconds" >&2
  exit 2
}
command -v node >/dev/null || { echo "node not installed" >&2; exit 2; }

bench_start_demo
issuer=$(bench_ready_field issuer)
client_id=$(bench_ready_field clients service client_id)
secret=$(bench_ready_field clients service client_secret)
node "$bench_here/seed_dpop.mjs" --check "$issuer" "$client_id" "$secret"

CLIENT_ID=$client_id CLIENT_SECRET=$secret BENCH_SERVER_PID=$DEMO_PID bench_wrk \
  client_credentials -t"$wrk_threads" -c"$connections" -d"${duration}s" \
  -s "$bench_here/client_credentials.lua" "$issuer"
plain_rate=$WRK_RATE plain_failures=$WRK_FAILURES plain_us=$WRK_SERVER_US

proof_rate=${PROOF_RATE:-$(awk -v p="$plain_rate" -v t="$target" \
  'BEGIN { printf "%d", 1.5 * (p > t ? p : t) }')}
warm_count=$((proof_rate * warmup))
run_count=$((proof_rate * duration))
echo "making $((warm_count + run_count)) DPoP proofs ($proof_rate/s of run, $processes" \
  "processes, signer $signer)..." >&2
started=$(date +%s.%N)
node "$bench_here/seed_dpop.mjs" "$issuer/token" "$((warm_count + run_count))" "$processes" \
  "$signer" >"$bench_tmp/proofs"
made=$(date +%s.%N)
generation=$(awk -v a="$started" -v b="$made" 'BEGIN { printf "%.1f", b - a }')
[[ $(wc -l <"$bench_tmp/proofs") -eq $((warm_count + run_count)) ]] || {
  echo "making proofs failed" >&2
  exit 2
}
echo "made $((warm_count + run_count)) proofs in $generation s" \
  "($(awk -v n=$((warm_count + run_count)) -v s="$generation" 'BEGIN { printf "%.0f", n / s }')/s)"
if awk -v g="$generation" -v w="$warmup" -v d="$duration" -v m="$max_age" \
  'BEGIN { exit !(g + w + d + 2 > m) }'; then
  echo "making the proofs took $generation s: by the end of a ${warmup} s warm-up and a" \
    "${duration} s run the first ones would be more than $max_age s old (the server takes" \
    "60 s). Use a lower PROOF_RATE or DURATION, or a quieter machine." >&2
  exit 2
fi
head -n "$warm_count" "$bench_tmp/proofs" >"$bench_tmp/proofs.warmup"
tail -n +"$((warm_count + 1))" "$bench_tmp/proofs" >"$bench_tmp/proofs.run"

export CLIENT_ID=$client_id CLIENT_SECRET=$secret BENCH_THREADS=$wrk_threads
PROOFS_FILE="$bench_tmp/proofs.warmup" bench_wrk dpop_warmup -t"$wrk_threads" \
  -c"$connections" -d"${warmup}s" -s "$bench_here/dpop.lua" "$issuer"
echo "warm-up: $WRK_RATE tokens/s, failures $WRK_FAILURES (not counted)"
PROOFS_FILE="$bench_tmp/proofs.run" BENCH_SERVER_PID=$DEMO_PID bench_wrk dpop -t"$wrk_threads" \
  -c"$connections" -d"${duration}s" -s "$bench_here/dpop.lua" "$issuer"
age=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
exhausted=$(awk '/^exhausted / { print $2 }' "$bench_tmp/wrk.out")
left=$(awk '/^proofs_left / { print $2 }' "$bench_tmp/wrk.out")
echo "dpop: server CPU $WRK_SERVER_US us/token (without DPoP $plain_us), wrk $WRK_CLIENT_US us;" \
  "proofs: $left left, $exhausted requests without one; the oldest was $age s old at the end"
[[ "$exhausted" == "0" ]] || echo "proofs ran out: rerun with PROOF_RATE above $proof_rate" >&2
echo "client_credentials ES256 JWT without DPoP, same wrk settings: $plain_rate tokens/s," \
  "failures $plain_failures"
bench_verdict "client_credentials DPoP ES256 (proof check + token), tessera" "$WRK_RATE" ">=" \
  "$target" "tokens/s" "$WRK_FAILURES"
