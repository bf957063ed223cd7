#!/usr/bin/env bash
# The SDK as an API team takes it: `cmake --install` the build, configure and build
# examples/sdk_consumer against the installed package with find_package(Tessera), then validate a
# real access token of `tessera demo` with it — and see it refuse a tampered one.
#   sdk_install.sh BUILD_DIR SOURCE_DIR TESSERA_BIN [EXTRA_CXX_FLAGS]
set -euo pipefail
build=$1 source=$2 bin=$3 flags=${4:-}
work=$(mktemp -d)
demo_pid=
cleanup() {
  [[ -n $demo_pid ]] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/tessera/validator.h"
# Nothing but the SDK's public headers is installed.
if find "$work/prefix/include" -name '*.h' | grep -v '/include/tessera/'; then
  echo "headers other than include/tessera/ were installed" >&2
  exit 1
fi
cmake -S "$source/examples/sdk_consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$work/consumer" >/dev/null
consumer=$work/consumer/sdk_consumer

# JSON and a free port through node, which the test suite requires anyway. A port found free
# may be taken by a test running beside this one before the demo binds it (the demo then
# exits): up to three ports are tried.
for attempt in 1 2 3; do
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  rm -rf "$work/demo"
  "$bin" demo --port "$port" --data-dir "$work/demo" >"$work/ready" 2>"$work/demo.log" &
  demo_pid=$!
  for _ in $(seq 1 300); do
    [[ -s $work/ready ]] && break
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -s $work/ready ]] && break
  echo "sdk_install: the demo did not start on port $port (attempt $attempt):" >&2
  tail -3 "$work/demo.log" >&2
  kill "$demo_pid" 2>/dev/null || true
  wait "$demo_pid" 2>/dev/null || true
  demo_pid=
done
[[ -s $work/ready ]] || { echo "sdk_install: the demo never started" >&2; exit 1; }
ready() { node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(eval("r."+process.argv[2]))' "$work/ready" "$1"; }
issuer=$(ready issuer)
id=$(ready clients.service.client_id)
secret=$(ready clients.service.client_secret)
token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "$issuer/token" |
  node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).access_token)')

out=$(printf '%s\n' "$token" | "$consumer" "$issuer" urn:tessera:api:invoices)
node -e '
const p = JSON.parse(process.argv[1]);
if (p.client_id !== process.argv[2]) throw new Error("client_id: " + process.argv[1]);
if (JSON.stringify(p.domain_claims) !== JSON.stringify({tenant: "tenant-of-" + p.sub})) throw new Error("domain claims: " + process.argv[1]);
' "$out" "$id"

# The same token for another audience, and a tampered one: refused with RFC 6750 challenges.
set +e
wrong=$(printf '%s\n' "$token" | "$consumer" "$issuer" urn:tessera:api:other); wrong_rc=$?
# Another last character of the signature: the signature no longer verifies.
last=${token: -1}; [[ $last == A ]] && other=B || other=A
tampered=$(printf '%s%s\n' "${token%?}" "$other" | "$consumer" "$issuer" urn:tessera:api:invoices); tampered_rc=$?
set -e
[[ $wrong_rc == 1 && $wrong == 401* && $wrong == *'error="invalid_token"'* ]] || {
  echo "wrong audience accepted or misreported: $wrong" >&2; exit 1; }
[[ $tampered_rc == 1 && $tampered == 401* ]] || { echo "tampered token: $tampered" >&2; exit 1; }
echo "sdk_install: ok"
