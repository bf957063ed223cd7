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

# gateway_serve NAME YAML: `tessera serve` on YAML (written to $bench_tmp/NAME.yaml, log in
# NAME.log) with the gateway role alone on a free port, 2 io threads and no access log; YAML is
# the rest of the file (store, gateway). Sets started_port once /readyz answers (not $(...): the
# server would hold the substitution's pipe open, and its pid would be lost with the subshell).
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
  "$TESSERA" serve --config "$bench_tmp/$1.yaml" 2>"$bench_tmp/$1.log" &
  bench_pids+=("$!")
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.05
  done
  started_port=$port
}
