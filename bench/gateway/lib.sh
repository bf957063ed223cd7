# What the gateway benches share (source after bench/oauth/lib.sh and bench_init).

# gateway_nginx_upstream WORKERS [HTTP_BLOCK_EXTRA]: nginx with WORKERS workers serving a 12-byte
# file at /invoices/1 on $upstream_port (set by the caller), with HTTP_BLOCK_EXTRA added to its
# http block (proxy.sh's reverse-proxy server). In the background, stopped by bench_cleanup.
gateway_nginx_upstream() {
  chmod 755 "$bench_tmp"
  mkdir -p "$bench_tmp/html/invoices" "$bench_tmp/logs"
  printf 'hello world\n' >"$bench_tmp/html/invoices/1"
  chmod -R a+rX "$bench_tmp/html"
  cat >"$bench_tmp/nginx.conf" <<CONF
worker_processes $1;
daemon off;
pid $bench_tmp/nginx.pid;
error_log $bench_tmp/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $bench_tmp/body;
  proxy_temp_path $bench_tmp/proxy;
  fastcgi_temp_path $bench_tmp/fastcgi;
  uwsgi_temp_path $bench_tmp/uwsgi;
  scgi_temp_path $bench_tmp/scgi;
  default_type text/plain;
  server { listen 127.0.0.1:$upstream_port; root $bench_tmp/html; location / { } }
${2:-}
}
CONF
  "${NGINX:-/usr/sbin/nginx}" -p "$bench_tmp" -c "$bench_tmp/nginx.conf" &
  bench_pids+=("$!")
}

# gateway_demo_token [ALG]: `tessera demo` in the background (signing with ALG when given); sets
# issuer and token (a client_credentials access token of the demo's service client).
gateway_demo_token() {
  DEMO_SIGNING_ALG=${1:-} bench_start_demo
  issuer=$(bench_ready_field issuer)
  local id secret
  id=$(bench_ready_field clients service client_id)
  secret=$(bench_ready_field clients service client_secret)
  token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "$issuer/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

# gateway_jwt_yaml ALG CLAIMS_CACHE_BYTES [EXTRA_LINE]: the gateway proxy.sh and instructions.sh
# measure: the demo's issuer, the jwt policy with ALG, one route to the nginx upstream
# ($upstream_port) needing invoices:read, with one claim header.
gateway_jwt_yaml() {
  echo "gateway:
  ${3:-}
  issuer: $issuer
  audiences: [urn:tessera:api:invoices]
  algorithms: [$1]
  claims_cache_bytes: $2
  routes:
    - { name: invoices, path_prefix: /invoices, upstream: \"http://127.0.0.1:$upstream_port\",
        scopes: [invoices:read], claim_headers: { X-User: sub } }"
}

# gateway_serve NAME YAML: `tessera serve` on YAML (written to $bench_tmp/NAME.yaml, log in
# NAME.log) with the gateway role alone on a free port, 2 io threads and no access log; YAML is
# the rest of the file (store, gateway). Sets started_port once /readyz answers, and started_pid
# (not $(...): the server would hold the substitution's pipe open, and its pid would be lost with
# the subshell). GATEWAY_WRAPPER, when set, is the command it runs under (valgrind ...).
gateway_serve() {
  local port
  port=$(bench_free_port)
  cat >"$bench_tmp/$1.yaml" <<YAML
roles: [gateway]
http: { listen: 127.0.0.1:$port, threads: 2, access_log: false,
        max_requests_per_second_per_connection: 1000000 }
store: { path: $bench_tmp/$1.db }
$2
YAML
  ${GATEWAY_WRAPPER:-} "$TESSERA" serve --config "$bench_tmp/$1.yaml" 2>"$bench_tmp/$1.log" &
  started_pid=$!
  bench_pids+=("$started_pid")
  for _ in $(seq 1 1200); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.05
  done
  started_port=$port
}
