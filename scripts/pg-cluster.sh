#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the registry tests and benchmarks.
#
#   scripts/pg-cluster.sh start [DIR]   initdb + pg_ctl start in DIR (default .tmp/pg); prints the URL
#   scripts/pg-cluster.sh stop  [DIR]   pg_ctl stop and remove DIR
#   scripts/pg-cluster.sh url   [DIR]   print the URL of a running cluster
#
# The server listens on a Unix socket in DIR and on 127.0.0.1 only (a free port), with
# `trust` login for a superuser named `qb`: it is reachable from this machine and from
# nowhere else, and nothing in it matters. Where `openssl` is found it also takes TLS
# (optional for clients), with a certificate for localhost and 127.0.0.1 signed by a
# throwaway CA made here: DIR/tls/ca.crt (its key is deleted once used). The URL is written to DIR/url;
# test/support/pg-url.ts reads it from there (or from $QB_TEST_PG_URL), and finds the
# socket in DIR (or in $QB_TEST_PG_SOCKET_DIR).
#
# PostgreSQL refuses to run as root: as root the cluster is owned by and run as the
# `postgres` system user (Debian's package creates it). When the server binaries are
# missing and we are root, Debian's `postgresql` package is installed first.
set -euo pipefail

cmd="${1:-}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${2:-$here/.tmp/pg}"

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
  done
  return 1
}

as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}

case "$cmd" in
  start)
    if ! bin="$(find_bin)"; then
      if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "pg-cluster: PostgreSQL server binaries missing; installing Debian's postgresql package" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        bin="$(find_bin)"
      else
        echo "pg-cluster: no PostgreSQL server found under /usr/lib/postgresql/*/bin; install it (Debian: apt-get install postgresql)" >&2
        exit 1
      fi
    fi
    if [[ -f "$dir/url" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      cat "$dir/url"
      exit 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ "$(id -u)" == 0 ]]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown postgres "$dir"
      # The owner must be able to reach DIR: open the path down to it for traversal only.
      p="$dir"
      while [[ "$p" != "/" ]]; do p="$(dirname "$p")"; chmod o+x "$p" 2>/dev/null || true; done
    fi
    port="$(free_port)"
    as_owner "$bin/initdb" -D "$dir/data" -U qb --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    # Loopback and the socket only; small and fast (durability does not matter for a test cluster).
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
checkpoint_timeout = 30min
max_locks_per_transaction = 256
EOF
    if command -v openssl >/dev/null; then
      tls="$dir/tls"
      mkdir "$tls"
      ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
      {
        openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 7 -subj "/CN=quantum-butler test CA" \
          -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req "${ec[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost"
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -out "$tls/server.crt" -days 7 \
          -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
      } >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; exit 1; }
      rm -f "$tls/ca.key" "$tls/ca.srl" "$tls/server.csr"
      chmod 600 "$tls/server.key"
      if [[ "$(id -u)" == 0 ]]; then chown -R postgres "$tls"; fi
      printf "ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n" "$tls/server.crt" "$tls/server.key" >>"$dir/data/postgresql.conf"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
    url="postgresql://qb@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
  stop)
    if bin="$(find_bin)" && [[ -d "$dir/data" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  url)
    cat "$dir/url"
    ;;
  *)
    echo "usage: $0 start|stop|url [DIR]" >&2
    exit 2
    ;;
esac
