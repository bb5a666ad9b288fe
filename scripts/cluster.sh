# cluster.sh — source me: start a throwaway PostgreSQL cluster for tests/demos.
#
#   source scripts/cluster.sh
#
# Creates a data directory in a fresh mktemp directory, starts a server that
# listens only on a private Unix socket, exports PGHOST PGPORT PGUSER
# PGDATABASE, and registers an EXIT trap that stops the server and removes the
# directory. ec_cluster_stop does the same on demand and is safe to call twice.
#
# initdb and postgres refuse to run as root, so as root they run as the
# `postgres` OS user; any other user runs them directly. Either way the
# database superuser is called `postgres`.
#
#   PG_CONFIG        pg_config of the server to run (default: PostgreSQL 15)
#   EC_CLUSTER_PORT  first port to try (default 54329)
#   EC_CLUSTER_CONF  extra postgresql.conf lines (e.g. shared_preload_libraries)
#   EC_CLUSTER_DURABLE=1  fsync, synchronous_commit and full_page_writes on, as
#                    in production (benchmarks); tests run with them off

EC_PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
EC_PG_BINDIR="$("$EC_PG_CONFIG" --bindir)" || {
    echo "cluster: cannot run $EC_PG_CONFIG" >&2
    return 1 2>/dev/null || exit 1
}

if [ "$(id -u)" -eq 0 ]; then
    EC_AS_PG=(runuser -u postgres --)
    EC_PG_OWNER=postgres
else
    EC_AS_PG=()
    EC_PG_OWNER="$(id -un)"
fi

ec_cluster_stop() {
    if [ -n "${EC_CLUSTER_DIR:-}" ] && [ -d "$EC_CLUSTER_DIR" ]; then
        if [ -f "$EC_CLUSTER_DIR/data/postmaster.pid" ]; then
            "${EC_AS_PG[@]}" "$EC_PG_BINDIR/pg_ctl" -D "$EC_CLUSTER_DIR/data" \
                -m fast -w -t 60 stop >/dev/null 2>&1 \
            || "${EC_AS_PG[@]}" "$EC_PG_BINDIR/pg_ctl" -D "$EC_CLUSTER_DIR/data" \
                -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
        if [ -n "${EC_CLUSTER_PID:-}" ]; then
            # The postmaster is a child of this shell (not daemonized by
            # pg_ctl), so it is reaped here and leaves no zombie behind.
            kill -0 "$EC_CLUSTER_PID" 2>/dev/null && kill -KILL "$EC_CLUSTER_PID" 2>/dev/null
            wait "$EC_CLUSTER_PID" 2>/dev/null || true
        fi
        rm -rf "$EC_CLUSTER_DIR"
    fi
    EC_CLUSTER_DIR=
    EC_CLUSTER_PID=
}

# A port nobody is using, neither on TCP localhost nor as a socket in /tmp.
# The server itself listens only on its private socket directory, so this is
# belt and braces against clashing shared-memory keys and confusing logs.
ec_free_port() {
    local port="${EC_CLUSTER_PORT:-54329}" tries=0
    while [ "$tries" -lt 200 ]; do
        if [ ! -e "/tmp/.s.PGSQL.$port" ] && [ ! -e "/var/run/postgresql/.s.PGSQL.$port" ] \
           && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
        tries=$((tries + 1))
    done
    return 1
}

ec_cluster_start() {
    local dir port
    dir="$(mktemp -d "${TMPDIR:-/tmp}/ec_cluster.XXXXXX")" || return 1
    EC_CLUSTER_DIR="$dir"
    mkdir -p "$dir/sock"
    : >"$dir/server.log"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$dir"
    fi
    chmod 700 "$dir"

    port="$(ec_free_port)" || { echo "cluster: no free port" >&2; return 1; }

    if ! "${EC_AS_PG[@]}" "$EC_PG_BINDIR/initdb" -D "$dir/data" -U postgres \
            --auth=trust --locale=C.UTF-8 --encoding=UTF8 --no-sync \
            >"$dir/initdb.log" 2>&1; then
        echo "cluster: initdb failed:" >&2
        cat "$dir/initdb.log" >&2
        return 1
    fi

    # Test settings: durability off for speed (unless EC_CLUSTER_DURABLE),
    # no TCP, private socket.
    local durability=off
    [ "${EC_CLUSTER_DURABLE:-0}" = 1 ] && durability=on
    "${EC_AS_PG[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- throwaway test cluster (scripts/cluster.sh) ---
port = $port
listen_addresses = ''
unix_socket_directories = '$dir/sock'
fsync = $durability
synchronous_commit = $durability
full_page_writes = $durability
max_connections = 50
max_prepared_transactions = 0
log_min_messages = warning
log_min_error_statement = error
lc_messages = 'C'
${EC_CLUSTER_CONF:-}
EOF

    # Started as a background child rather than with `pg_ctl start`: pg_ctl
    # orphans the postmaster, and where PID 1 does not reap orphans its exit
    # would leave a zombie `postgres` process behind.
    "${EC_AS_PG[@]}" "$EC_PG_BINDIR/postgres" -D "$dir/data" >>"$dir/server.log" 2>&1 &
    EC_CLUSTER_PID=$!
    local waited=0
    until "$EC_PG_BINDIR/pg_isready" -q -h "$dir/sock" -p "$port" -U postgres -d postgres; do
        if ! kill -0 "$EC_CLUSTER_PID" 2>/dev/null || [ "$waited" -ge 600 ]; then
            echo "cluster: server failed to start; server log:" >&2
            cat "$dir/server.log" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done

    export PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
    export EC_CLUSTER_DIR EC_CLUSTER_LOG="$dir/server.log"
    echo "cluster: PostgreSQL $("$EC_PG_BINDIR/postgres" -V | awk '{print $3}') running on socket $PGHOST port $PGPORT (log: $EC_CLUSTER_LOG)"
}

# Stop the server whenever the sourcing shell exits, however it exits; keep
# any EXIT trap the caller already had.
ec_prev_exit_trap="$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")"
# shellcheck disable=SC2064
trap "ec_cluster_stop; ${ec_prev_exit_trap:-:}" EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! ec_cluster_start; then
    ec_cluster_stop
    return 1 2>/dev/null || exit 1
fi
