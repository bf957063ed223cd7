#!/usr/bin/env bash
# Client credentials with certificate-bound ES256 access tokens over mutual TLS (RFC 8705): the
# client authenticates with tls_client_auth (§2.1: its certificate chains to the client CA and
# carries the registered dNSName) at the as.mtls listener (§5), and its tokens carry
# cnf.x5t#S256 (§3). wrk presents no client certificate, so the load comes from mtls_load
# (bench/oauth/mtls_load.cpp, built with the project).
#
# 1. Certificates: a CA for the server, one for clients, a client certificate (SAN
#    DNS:client.example); `tessera serve` with http.tls and as.mtls on a second port.
# 2. One token by curl over the mTLS alias, its cnf.x5t#S256 compared with the certificate's
#    SHA-256 thumbprint.
# 3. Runs of mtls_load, each after a warm-up, each printing tokens/s:
#      resumed   a new TLS 1.3 connection per token request, resuming the previous session
#                (tickets): what a client that asks for a token now and then costs; the target;
#      tls12     the same with TLS 1.2 session tickets (no key exchange on resumption);
#      keepalive 100 token requests per connection (one full handshake per 100).
#
#   bench/oauth/mtls.sh [TESSERA_BINARY]
#
# Env: DURATION (10, seconds), WARMUP (2), CONNECTIONS (32), TARGET (5000), MTLS_LOAD (the
# load generator; default next to the binary, bench/oauth/mtls_load).
# Exits 1 below the target or when any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10}
warmup=${WARMUP:-2}
connections=${CONNECTIONS:-32}
target=${TARGET:-5000}
load=${MTLS_LOAD:-$(dirname "$TESSERA")/bench/oauth/mtls_load}
[[ -x "$load" ]] || { echo "no mtls_load at $load (cmake --build builds it)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl not installed" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not installed" >&2; exit 2; }

# --- certificates (EC P-256, a day) ---
pki="$bench_tmp/pki"
mkdir -p "$pki"
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=$2" -keyout "$pki/$1.key" -out "$pki/$1.pem" 2>/dev/null
}
issue() {  # NAME CA CN SAN EKU
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$4" "$5" >"$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" \
    -CAcreateserial -days 1 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2>/dev/null
}
make_ca server-ca "Bench Server CA"
make_ca client-ca "Bench Client CA"
issue server server-ca server "DNS:localhost,IP:127.0.0.1" serverAuth
issue client client-ca client "DNS:client.example" clientAuth

# --- server ---
port=$(bench_free_port)
mtls_port=$(bench_free_port)
while [[ "$mtls_port" == "$port" ]]; do mtls_port=$(bench_free_port); done
db="$bench_tmp/tessera.db"
head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$bench_tmp/secret.key"
printf 'store:\n  driver: sqlite\n  path: %s\n' "$db" >"$bench_tmp/store.yaml"
"$TESSERA" client create --id pki --config "$bench_tmp/store.yaml" --type confidential \
  --auth-method tls_client_auth --tls-client-auth-san-dns client.example \
  --grant-type client_credentials --scope invoices:read --audience urn:tessera:invoices \
  --tls-client-certificate-bound-access-tokens --json >/dev/null
cat >"$bench_tmp/tessera.yaml" <<EOF
roles: [as]
http:
  listen: 127.0.0.1:$port
  # The closed loop runs every connection flat out; the per-connection guard is for clients.
  max_requests_per_second_per_connection: 1000000
  tls:
    cert_file: $pki/server.pem
    key_file: $pki/server.key
store:
  driver: sqlite
  path: $db
as:
  issuer: https://127.0.0.1:$port
  secret_key_file: $bench_tmp/secret.key
  mtls:
    port: $mtls_port
    client_ca_file: $pki/client-ca.pem
log_level: warn
EOF
"$TESSERA" serve --config "$bench_tmp/tessera.yaml" >"$bench_tmp/serve.log" 2>&1 &
server_pid=$!
bench_pids+=("$server_pid")
for _ in $(seq 1 300); do
  curl -s --cacert "$pki/server-ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.05
done
curl -sf --cacert "$pki/server-ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null || {
  echo "tessera serve did not get ready" >&2
  cat "$bench_tmp/serve.log" >&2
  exit 2
}

# --- one checked token ---
body="grant_type=client_credentials&client_id=pki&scope=invoices%3Aread"
answer=$(curl -s --cacert "$pki/server-ca.pem" --cert "$pki/client.pem" --key "$pki/client.key" \
  -d "$body" "https://127.0.0.1:$mtls_port/token")
thumbprint=$(openssl x509 -in "$pki/client.pem" -outform DER | openssl dgst -sha256 -binary |
  base64 | tr '+/' '-_' | tr -d '=\n')
cnf=$(python3 -c '
import base64, json, sys
token = json.loads(sys.argv[1])["access_token"]
payload = token.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
print(claims["cnf"]["x5t#S256"])' "$answer") || {
  echo "no bound token: $answer" >&2
  exit 2
}
[[ "$cnf" == "$thumbprint" ]] || {
  echo "cnf.x5t#S256 $cnf is not the certificate's thumbprint $thumbprint" >&2
  exit 2
}
echo "checked: the token's cnf.x5t#S256 is the client certificate's thumbprint"

# --- runs ---
# mtls_run NAME ARGS...: sets RUN_RATE, RUN_FAILED, RUN_SERVER_US (server CPU per token).
mtls_run() {
  local name=$1 out before after hz
  shift
  hz=$(getconf CLK_TCK)
  before=$(bench_cpu_ticks "$server_pid")
  out=$("$load" --port "$mtls_port" --ca "$pki/server-ca.pem" --cert "$pki/client.pem" \
    --key "$pki/client.key" --body "$body" --connections "$connections" --seconds "$duration" \
    --warmup "$warmup" "$@") || true
  after=$(bench_cpu_ticks "$server_pid")
  echo "--- $name: mtls_load $* (load $(bench_load))" >&2
  echo "  $out" >&2
  RUN_RATE=$(echo "$out" | awk '/^rate / { print $2 }')
  RUN_FAILED=$(echo "$out" | awk '/^rate / { print $7 }')
  [[ -n "$RUN_RATE" ]] || { echo "mtls_load printed no rate" >&2; exit 2; }
  local ok
  ok=$(echo "$out" | awk '/^rate / { print $5 }')
  # The warm-up's work is in the CPU figure too: scale by (warm-up + run) / run.
  RUN_SERVER_US=$(awk -v t="$((after - before))" -v hz="$hz" -v n="$ok" -v w="$warmup" \
    -v d="$duration" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / (n * (w + d) / d) : 0 }')
  echo "  server CPU ~${RUN_SERVER_US} us/token" >&2
}


mtls_run keepalive --requests-per-connection 100
keep_rate=$RUN_RATE keep_failed=$RUN_FAILED keep_us=$RUN_SERVER_US
mtls_run tls12 --requests-per-connection 1 --tls12
tls12_rate=$RUN_RATE tls12_failed=$RUN_FAILED tls12_us=$RUN_SERVER_US
mtls_run resumed --requests-per-connection 1
echo "keep-alive (100 tokens per connection): $keep_rate tokens/s, failed $keep_failed," \
  "server ~$keep_us us/token"
echo "TLS 1.2 resumed connection per token: $tls12_rate tokens/s, failed $tls12_failed," \
  "server ~$tls12_us us/token"
echo "TLS 1.3 resumed connection per token: server ~$RUN_SERVER_US us/token"
bench_verdict "client_credentials mTLS-bound ES256, new resumed TLS 1.3 connection per token" \
  "$RUN_RATE" ">=" "$target" "tokens/s" "$RUN_FAILED"
