#!/usr/bin/env bash
# A local PostgreSQL for `make run` and the tests: no system service, no password,
# listening on 127.0.0.1 only, data in a directory of our own.
#
#   scripts/pg.sh ensure              make sure PostgreSQL's binaries are installed
#   scripts/pg.sh start [DIR] [PORT]  initdb if needed, start, create db `cti`, print the DSN
#   scripts/pg.sh stop  [DIR]         fast shutdown
#   scripts/pg.sh status [DIR]        exit 0 and print the DSN when running
#
# DIR defaults to <project>/.run/pg, PORT to 54329. DIR holds data/ (the cluster),
# postgres.log and the unix socket. Works as root (the server then runs as the
# `postgres` user, which PostgreSQL insists on) and as a normal user.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_DIR="$ROOT/.run/pg"
DEFAULT_PORT=54329
START_DEADLINE=${CTI_PG_START_DEADLINE:-60}

say() { echo "pg.sh: $*" >&2; }
die() { say "$*"; exit 1; }

find_bindir() {
    # Debian keeps the server binaries off PATH, one directory per major version.
    if [[ -n "${PG_BINDIR:-}" && -x "$PG_BINDIR/initdb" ]]; then echo "$PG_BINDIR"; return 0; fi
    # Newest major version first (sort numerically: glob order would put 9.6 after 15).
    local best
    best=$(for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && echo "$d"; done \
           | sort -t/ -k5,5n | tail -n1)
    if [[ -n "$best" ]]; then echo "$best"; return 0; fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"; return 0
    fi
    return 1
}

cmd_ensure() {
    if find_bindir >/dev/null; then return 0; fi
    if [[ $(id -u) -eq 0 ]]; then
        say "PostgreSQL is not installed: installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
        find_bindir >/dev/null || die "apt-get installed postgresql but no initdb was found"
        return 0
    fi
    say "PostgreSQL is not installed. Install it once with:"
    say "    sudo apt-get install -y postgresql"
    exit 1
}

# Resolve DIR and, as root, the directory the postgres user can actually reach.
resolve_dir() {
    local dir="${1:-$DEFAULT_DIR}"
    [[ "$dir" = /* ]] || dir="$PWD/$dir"
    [[ "$dir" != *"'"* && "$dir" != *$'\n'* ]] || die "refusing a directory name with a quote or newline: $dir"
    if [[ $(id -u) -eq 0 ]]; then
        getent passwd postgres >/dev/null || die "running as root needs the 'postgres' user (apt-get install postgresql creates it)"
        mkdir -p "$dir"
        if ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
            # A project under /root (mode 700) cannot be entered by postgres: use /tmp instead,
            # keyed by the requested path so start and stop agree.
            local alt
            alt="/tmp/cti-pg-$(printf '%s' "$dir" | md5sum | cut -c1-12)"
            say "the postgres user cannot reach $dir (a parent directory is closed to it): using $alt"
            dir="$alt"
            mkdir -p "$dir"
        fi
        chown postgres: "$dir"
        chmod 700 "$dir"
    else
        mkdir -p "$dir"
        chmod 700 "$dir"
    fi
    echo "$dir"
}

as_pg() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running_port() {
    # postmaster.pid line 4 is the port the running server listens on.
    local dir="$1"
    as_pg "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 1
    sed -n 4p "$dir/data/postmaster.pid"
}

dsn() { echo "postgresql://cti@127.0.0.1:$1/cti"; }

init_cluster() {
    local dir="$1"
    say "creating a PostgreSQL cluster in $dir/data"
    as_pg "$BIN/initdb" -D "$dir/data" --username=cti --auth=trust --encoding=UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    # Trust only the local socket and loopback: a throwaway cluster without passwords.
    as_pg tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
    as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- cti: small, local, for development and tests ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 50
shared_buffers = 16MB
work_mem = 4MB
maintenance_work_mem = 16MB
max_wal_size = 256MB
wal_level = minimal
max_wal_senders = 0
logging_collector = off
log_min_messages = warning
EOF
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
    local port="${2:-$DEFAULT_PORT}"
    [[ "$port" =~ ^[0-9]+$ && "$port" -gt 0 && "$port" -lt 65536 ]] || die "not a TCP port: $port"
    cmd_ensure
    BIN=$(find_bindir)
    local dir; dir=$(resolve_dir "${1:-}")
    local current
    if current=$(running_port "$dir"); then
        [[ "$current" == "$port" ]] || say "already running on port $current (not $port)"
        port="$current"
    else
        [[ -f "$dir/data/PG_VERSION" ]] || init_cluster "$dir"
        if [[ -z "${2:-}" ]]; then
            # The default port may belong to another checkout's cluster: take the next free one.
            local tries=0
            while port_in_use "$port" && ((tries < 50)); do port=$((port + 1)); tries=$((tries + 1)); done
        fi
        as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t "$START_DEADLINE" start \
            >/dev/null 2>&1 || { tail -n 20 "$dir/postgres.log" >&2 || true; die "PostgreSQL did not start (log: $dir/postgres.log)"; }
    fi
    local deadline=$((SECONDS + START_DEADLINE))
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; do
        ((SECONDS < deadline)) || die "PostgreSQL on 127.0.0.1:$port is not accepting connections after ${START_DEADLINE}s"
        sleep 0.2
    done
    local psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U cti -d postgres)
    if [[ -z "$("${psql[@]}" -Atc "SELECT 1 FROM pg_database WHERE datname = 'cti'")" ]]; then
        "${psql[@]}" -c "CREATE DATABASE cti" >/dev/null
    fi
    dsn "$port"
}

cmd_stop() {
    BIN=$(find_bindir) || die "PostgreSQL is not installed"
    local dir="${1:-$DEFAULT_DIR}"
    [[ "$dir" = /* ]] || dir="$PWD/$dir"
    [[ -d "$dir" ]] || { say "nothing to stop in $dir"; return 0; }
    dir=$(resolve_dir "$dir")
    if running_port "$dir" >/dev/null; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
        say "stopped PostgreSQL in $dir"
    else
        say "PostgreSQL in $dir is not running"
    fi
}

cmd_status() {
    BIN=$(find_bindir) || die "PostgreSQL is not installed"
    local dir="${1:-$DEFAULT_DIR}" port
    [[ "$dir" = /* ]] || dir="$PWD/$dir"
    [[ -d "$dir" ]] || exit 1
    dir=$(resolve_dir "$dir")
    port=$(running_port "$dir") || { say "not running"; exit 1; }
    dsn "$port"
}

case "${1:-}" in
    ensure) cmd_ensure; say "PostgreSQL binaries: $(find_bindir)" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) echo "usage: $0 ensure | start [DIR] [PORT] | stop [DIR] | status [DIR]" >&2; exit 2 ;;
esac
