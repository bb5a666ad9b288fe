# bench/lib.sh — sourced by bench/run.sh and bench/backfill.sh, never run.
# It owns what the two benchmarks share: option checks and log/die; the tools
# (psql, pgbench, initdb, jq, the installed extension; gnuplot-nox installed
# when gnuplot is missing); running the server as postgres when root; the
# throwaway cluster (free port, initdb, server settings, the postmaster as a
# child of the script, the EXIT trap that stops it however the script ends);
# the psql helpers; CPU accounting per phase; the machine and build facts of
# the results files. The sourcing script sets BENCH_DIR (this directory)
# first; messages carry the script's own name.
# shellcheck shell=bash

REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
BENCH_NAME="${0##*/}"             # run.sh or backfill.sh, in messages

# --- options and messages ----------------------------------------------------------
usage_error() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 2; }
need_value() { [ "$#" -ge 2 ] || usage_error "$1 needs a value"; }
is_count() { [[ "$2" =~ ^[0-9]+$ ]] || usage_error "$1 wants a non-negative integer, got '$2'"; }
at_least() { [ "$2" -ge "$3" ] || usage_error "$1 must be at least $3"; }   # option value minimum

RUN_START=$SECONDS
log() { printf '[%4ds] %s\n' "$(( SECONDS - RUN_START ))" "$*"; }
die() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------
# Sets PG_BINDIR, PSQL, PGBENCH, EC_LIB, and AS_PG (the prefix that runs a
# command as the cluster's owner) with PG_OWNER.
check_tools() {
    local tool
    PG_BINDIR="$("$PG_CONFIG" --bindir)" || die "cannot run $PG_CONFIG"
    PSQL="$PG_BINDIR/psql"
    PGBENCH="$PG_BINDIR/pgbench"
    for tool in "$PSQL" "$PGBENCH" "$PG_BINDIR/initdb" "$PG_BINDIR/postgres" "$PG_BINDIR/pg_ctl"; do
        [ -x "$tool" ] || die "missing $tool"
    done
    command -v jq >/dev/null 2>&1 || die "jq is required"
    if ! command -v gnuplot >/dev/null 2>&1; then
        log "gnuplot missing: installing gnuplot-nox"
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox
    fi
    EC_LIB="$("$PG_CONFIG" --pkglibdir)/expand_contract.so"
    [ -f "$EC_LIB" ] || die "$EC_LIB is not installed (run scripts/setup.sh first)"
    [ -f "$("$PG_CONFIG" --sharedir)/extension/expand_contract.control" ] || die "expand_contract.control is not installed"

    if [ "$(id -u)" -eq 0 ]; then
        AS_PG=(runuser -u postgres --)
        PG_OWNER=postgres
    else
        AS_PG=()
        PG_OWNER="$(id -un)"
    fi
}

# --- throwaway cluster -------------------------------------------------------------
WORK=""
PG_PID=""
BG_PIDS=()      # background children of the script (a measuring session, a pgbench) for cleanup to end
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ -f "$WORK/data/postmaster.pid" ]; then
            "${AS_PG[@]}" "$PG_BINDIR/pg_ctl" -D "$WORK/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
                || "${AS_PG[@]}" "$PG_BINDIR/pg_ctl" -D "$WORK/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
                || true
        fi
        if [ -n "$PG_PID" ]; then
            kill -0 "$PG_PID" 2>/dev/null && kill -KILL "$PG_PID" 2>/dev/null
            wait "$PG_PID" 2>/dev/null || true
        fi
        rm -rf "$WORK"
    fi
}

free_port() {   # first port to try
    local port="$1" tries=0
    while [ "$tries" -lt 200 ]; do
        if [ ! -e "/tmp/.s.PGSQL.$port" ] && [ ! -e "/var/run/postgresql/.s.PGSQL.$port" ] \
           && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"; return 0
        fi
        port=$((port + 1)); tries=$((tries + 1))
    done
    return 1
}

# Server settings, the same for both benchmarks and for every variant of each.
# Durability stays on (fsync, full_page_writes); commits do not wait for the
# WAL flush (synchronous_commit = off), so single-row transactions and the
# per-batch commits of a backfill measure CPU work rather than the disk's
# fsync latency. The extension's library is preloaded into every session, as
# the README recommends for production (without it a backend's first UPDATE
# runs before the library's hooks exist); every variant's sessions pay the
# same small load cost, including those whose tables no migration touches
# (the extension's hooks do nothing there).
SETTINGS=(
    "shared_buffers = 1GB"
    "max_wal_size = 8GB"
    "min_wal_size = 1GB"
    "checkpoint_timeout = 30min"
    "synchronous_commit = off"
    "fsync = on"
    "full_page_writes = on"
    "autovacuum = off"
    "jit = off"
    "huge_pages = off"
    "maintenance_work_mem = 512MB"
    "session_preload_libraries = 'expand_contract'"
    "max_connections = 20"
)

# Creates a cluster in a fresh directory ${TMPDIR:-/tmp}/<prefix>.XXXXXX,
# listening only on a Unix socket there at the first free port from
# <first-port>, with SETTINGS; starts it, creates the database bench and
# points libpq at it (PGHOST, PGPORT, PGUSER, PGDATABASE). Sets WORK (with
# sock/, raw/, server.log), PORT, PG_PID and PM_PID; from here on the EXIT
# trap stops the server and removes WORK. Call check_tools first.
start_cluster() {   # prefix first-port
    local waited=0
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    mkdir -p "$WORK/sock" "$WORK/raw"
    : >"$WORK/server.log"
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$WORK"
    chmod 700 "$WORK"
    PORT="$(free_port "$2")" || die "no free port"

    log "initdb in $WORK (locale C.UTF-8)"
    "${AS_PG[@]}" "$PG_BINDIR/initdb" -D "$WORK/data" -U postgres --auth=trust --locale=C.UTF-8 \
        --encoding=UTF8 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
    {
        echo ""
        echo "# --- bench/$BENCH_NAME ---"
        echo "port = $PORT"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$WORK/sock'"
        echo "lc_messages = 'C'"
        echo "log_min_messages = warning"
        printf '%s\n' "${SETTINGS[@]}"
    } | "${AS_PG[@]}" tee -a "$WORK/data/postgresql.conf" >/dev/null

    # A child of this shell rather than `pg_ctl start`, so it is reaped here.
    "${AS_PG[@]}" "$PG_BINDIR/postgres" -D "$WORK/data" >>"$WORK/server.log" 2>&1 &
    PG_PID=$!
    until "$PG_BINDIR/pg_isready" -q -h "$WORK/sock" -p "$PORT" -U postgres -d postgres; do
        if ! kill -0 "$PG_PID" 2>/dev/null || [ "$waited" -ge 600 ]; then
            cat "$WORK/server.log" >&2
            die "server failed to start"
        fi
        sleep 0.1; waited=$((waited + 1))
    done
    export PGHOST="$WORK/sock" PGPORT="$PORT" PGUSER=postgres PGDATABASE=bench
    unset PGOPTIONS PGAPPNAME || true
    "$PSQL" -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench" >/dev/null
    log "server $("$PG_BINDIR/postgres" -V | awk '{print $3}') up on $PGHOST port $PORT (owner $PG_OWNER)"
    PM_PID="$(head -n 1 "$WORK/data/postmaster.pid")"
    : >"$WORK/raw/cpu.tsv"
}

# --- psql helpers ------------------------------------------------------------------
q()  { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
server_fail() { echo "--- last lines of the server log ---" >&2; tail -n 30 "$WORK/server.log" >&2; die "$*"; }

# Milliseconds reported by psql's \timing for the last statement of its output.
timed_ms() { awk '/^Time: / { ms = $2 } END { if (ms == "") exit 1; print ms }'; }
# Milliseconds between two $EPOCHREALTIME stamps.
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

# --- CPU accounting per phase -------------------------------------------------------
# To show how much of the machine something other than the benchmark used
# meanwhile (other processes, kernel threads). All in clock ticks: the
# machine's busy time and steal from /proc/stat, the cluster's processes
# (postmaster with its reaped children, and every live child), and the
# script's reaped children (psql, pgbench, awk) from `times`. phase_end
# appends one line per phase to $WORK/raw/cpu.tsv.
TICKS="$(getconf CLK_TCK 2>/dev/null || echo 100)"
proc_ticks() {   # utime+stime (+ cutime+cstime with $2 = all) of pid $1
    awk -v all="${2:-}" '{ sub(/^.*\) /, ""); t = $12 + $13; if (all != "") t += $14 + $15; print t }' \
        "/proc/$1/stat" 2>/dev/null || echo 0
}
# CPU ticks of the cluster so far: every live child of the postmaster, plus
# the postmaster itself with the children it has reaped. A child that is
# reaped between the two reads would be counted twice or not at all, so the
# reads repeat until the set of children is the same before and after.
server_ticks() {
    local before after pg child tries
    for (( tries = 0; tries < 50; tries++ )); do
        before="$(ps -o pid= --ppid "$PM_PID" 2>/dev/null | tr -s ' \n' ' ' || true)"
        pg=0
        for child in $before; do
            pg=$(( pg + $(proc_ticks "$child") ))
        done
        pg=$(( pg + $(proc_ticks "$PM_PID" all) ))
        after="$(ps -o pid= --ppid "$PM_PID" 2>/dev/null | tr -s ' \n' ' ' || true)"
        [ "$before" = "$after" ] && break
    done
    echo "$pg"
}
# Sets SNAP. Runs in the script's shell (not in $(...)), so that `times`
# sees the shell's reaped children.
SNAP=""
cpu_snapshot() {
    local busy steal pg client
    read -r busy steal < <(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $9 }' /proc/stat)
    pg="$(server_ticks)"
    times >"$WORK/times.txt"
    client="$(awk -v hz="$TICKS" 'NR == 2 {
        n = split($0, f, " "); s = 0
        for (i = 1; i <= n; i++) { split(f[i], a, /[ms]/); s += a[1] * 60 + a[2] }
        printf "%d", s * hz }' "$WORK/times.txt")"
    SNAP="$EPOCHREALTIME $busy $steal $pg $client"
}
PHASE_NAME=""
PHASE_SNAP=""
phase_begin() { PHASE_NAME="$1"; cpu_snapshot; PHASE_SNAP="$SNAP"; }
phase_end() {
    cpu_snapshot
    printf '%s %s %s\n' "$PHASE_NAME" "$PHASE_SNAP" "$SNAP" | awk -v hz="$TICKS" -v OFS='\t' '{
        wall = $7 - $2; busy = ($8 - $3) / hz; steal = ($9 - $4) / hz; pg = ($10 - $5) / hz; client = ($11 - $6) / hz
        other = busy - steal - pg - client; if (other < 0) other = 0
        print $1, wall, busy, steal, pg, client, other }' >>"$WORK/raw/cpu.tsv"
}

# --- machine and build facts -----------------------------------------------------------
# facts_start before the measurements, facts_end after them; machine_json
# prints the results file's "machine" object.
facts_start() {   # sets LIB_SHA_START, LIB_MTIME, COMMIT, SRC_DIRTY, LOAD_START
    LIB_SHA_START="$(sha256sum "$EC_LIB" | awk '{print $1}')"
    LIB_MTIME="$(date -u -r "$EC_LIB" '+%Y-%m-%dT%H:%M:%SZ')"
    COMMIT="$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || echo unknown)"
    SRC_DIRTY="$(git -C "$REPO_DIR" status --porcelain -- src extension 2>/dev/null | wc -l | tr -d ' ')"
    LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
}
# Sets LIB_SHA_END, LOAD_END, PG_VERSION and SETTINGS_JSON (the server
# settings that matter here, plus the ones named, as a JSON object).
facts_end() {   # extra setting names...
    local names="'shared_buffers','max_wal_size','min_wal_size','checkpoint_timeout',
                 'synchronous_commit','fsync','full_page_writes','autovacuum','jit',
                 'huge_pages','maintenance_work_mem','wal_level','wal_buffers',
                 'work_mem','max_connections'" name
    for name in "$@"; do names+=",'$name'"; done
    LIB_SHA_END="$(sha256sum "$EC_LIB" | awk '{print $1}')"
    LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
    PG_VERSION="$(q -c "SELECT version()")"
    SETTINGS_JSON="$(q -c "SELECT json_object_agg(name, setting || coalesce(unit, '')) FROM pg_settings
                           WHERE name IN ($names)")"
}
machine_json() {   # extra jq arguments (they go before data_dir_fs)
    jq -n \
        --arg hostname "$(hostname)" \
        --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
        --argjson nproc "$(nproc)" \
        --argjson mem_total_kb "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
        --arg kernel "$(uname -r)" \
        --arg pg_version "$PG_VERSION" \
        --arg commit "$COMMIT" \
        --argjson src_uncommitted_files "$SRC_DIRTY" \
        --arg library "$EC_LIB" \
        --arg library_sha256 "$LIB_SHA_START" \
        --arg library_sha256_end "$LIB_SHA_END" \
        --arg library_mtime "$LIB_MTIME" \
        --arg loadavg_start "$LOAD_START" \
        --arg loadavg_end "$LOAD_END" \
        "$@" \
        --arg data_dir_fs "$(df -P "$WORK" | awk 'NR == 2 { print $1 }')" \
        '$ARGS.named'
}

# --- the end -------------------------------------------------------------------------
chart_title_suffix() {   # results.json
    jq -r '"\(.params.rows) rows, \(.machine.nproc) cores, PostgreSQL \(.machine.pg_version | split(" ")[1])\(if .params.quick then " (QUICK smoke run)" else "" end)"' "$1"
}
finish() {   # headline "the files written"
    echo
    printf '%s\n' "$1"
    echo
    log "done in $(( SECONDS - RUN_START ))s: $2"
    if [ "$LIB_SHA_START" != "$LIB_SHA_END" ]; then
        echo "WARNING: $EC_LIB changed during the run; the numbers mix two builds." >&2
    fi
}
