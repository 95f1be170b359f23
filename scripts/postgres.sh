#!/usr/bin/env bash
# A private PostgreSQL 15 server whose data and log stay in .run/postgres-PORT, for the tests
# and for trying the PostgreSQL store.
# usage: scripts/postgres.sh start|stop|restart|status|url
# The port is BOOKREC_POSTGRES_PORT (default 5433); it listens on BOOKREC_POSTGRES_LISTEN
# (default 127.0.0.1). The role `bookrec` may create databases; its password is generated once
# into .run/postgres-PORT/password (give that file as BOOKREC_STORE_PASSWORD_FILE), and
# connections over TCP must present it (scram-sha-256). With BOOKREC_POSTGRES_TLS_DIR (holding
# server.pem and server.key) it accepts TLS connections too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${BOOKREC_POSTGRES_PORT:-5433}"
listen="${BOOKREC_POSTGRES_LISTEN:-127.0.0.1}"
base="$root/.run/postgres-$port"
data="$base/data"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$bin" ]] || { echo "PostgreSQL is not installed (scripts/setup.sh postgresql installs it)" >&2; exit 1; }

# The server refuses to run as root: as root it runs as the postgres user.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The certificate and key given for TLS, installed where the server reads them (it reads its
# key only if no one else can).
install_tls() {
    [[ -n "${BOOKREC_POSTGRES_TLS_DIR:-}" ]] || return 0
    install -m 600 "$BOOKREC_POSTGRES_TLS_DIR/server.pem" "$data/server.crt"
    install -m 600 "$BOOKREC_POSTGRES_TLS_DIR/server.key" "$data/server.key"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$data/server.crt" "$data/server.key"
    grep -q "^ssl = on" "$data/postgresql.conf" || printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" >>"$data/postgresql.conf"
}

case "${1:-}" in
start)
    if [[ -f "$data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        echo "postgres already running on $listen:$port"
        exit 0
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        mkdir -p "$base"
        [[ -f "$base/password" ]] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$base/password")
        rm -rf "$data"
        mkdir -p "$data"
        if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$base"; fi
        as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$base/initdb.log"
        # Tests make many short-lived databases: durability is traded for speed on this scratch server.
        cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$data'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
        echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
        install_tls
        as_owner "$bin/pg_ctl" -D "$data" -l "$base/server.log" -w start >/dev/null
        password="$(cat "$base/password")"
        as_owner "$bin/psql" -h "$data" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
            -c "CREATE ROLE bookrec LOGIN CREATEDB PASSWORD '$password'" \
            -c "CREATE DATABASE bookrec OWNER bookrec"
    else
        sed -i "s/^listen_addresses = .*/listen_addresses = '$listen'/" "$data/postgresql.conf"
        install_tls
        as_owner "$bin/pg_ctl" -D "$data" -l "$base/server.log" -w start >/dev/null
    fi
    echo "postgres running on $listen:$port (password in $base/password)"
    ;;
stop)
    if [[ -f "$data/postmaster.pid" ]]; then as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true; fi
    ;;
restart)
    as_owner "$bin/pg_ctl" -D "$data" -l "$base/server.log" -m fast -w restart >/dev/null
    ;;
status)
    as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && echo running || { echo stopped; exit 1; }
    ;;
url)
    echo "postgres://bookrec@$listen:$port/bookrec"
    ;;
*)
    echo "usage: $0 start|stop|restart|status|url" >&2
    exit 2
    ;;
esac
