#!/usr/bin/env bash
# bench/backfill.sh — the issue 4 benchmark: what the backfill engine costs.
#
#   bash bench/backfill.sh                  # full run (1,000,000 and 10,000,000 rows)
#   bash bench/backfill.sh --quick          # small smoke run (a minute or two)
#   bash bench/backfill.sh --large-rows 0   # see --help for every option
#
# One command, one throwaway cluster, one machine. Every timed run starts from
# a fresh copy of the same deterministic bookings table (bench/backfill_copy.sql),
# followed by VACUUM ANALYZE and CHECKPOINT; each variant in its own schema,
# because expand_contract allows one open migration per schema.
#
# 1. Filling a new column registered = (status = 'attended_registered') for
#    every row of a --rows table, --rounds rounds (variant order rotating),
#    median per variant:
#      floor   one UPDATE bookings SET registered = (...) on a plain table that
#              has the column: no migration, no trigger (the least it can cost);
#      ec      expand_contract.start(add_column ...) untimed, then the timed
#              CALL expand_contract.run_backfill('<schema>') (adaptive batches);
#      pgroll  pgroll's way, emulated: a _pgroll_needs_backfill flag column and
#              a PL/pgSQL up trigger, then keyset batches of 1000 rows sent by
#              a client (one psql session fed by a bash loop, autocommit: one
#              transaction per batch), the statement shaped like pgroll's.
# 2. Linearity: run_backfill (and, as a reference, floor) on a --large-rows
#    table, --large-rounds rounds; time per row compared with section 1.
# 3. Writer latency: pgbench single-row UPDATEs (-c 1 -j 1, per-transaction
#    log) through the old version of a --rows table with an open migration,
#    (a) with no backfill running and (b) while CALL run_backfill runs in
#    another session; p50/p90/p99/p99.9 from the log. Twice: closed loop
#    (pgbench's default) and at a fixed rate (-R), which counts the time
#    transactions wait behind a stalled one.
#
# Writes backfill_results.json, backfill_report.md and backfill_report.png to
# bench/ (or the directory given with --out) and prints the headline table.
# It uses the installed extension (/usr/lib/postgresql/15/lib/expand_contract.so);
# it never builds or installs anything except gnuplot-nox when gnuplot is missing.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# --- options -------------------------------------------------------------------
ROWS=1000000
LARGE_ROWS=10000000
ROUNDS=5
LARGE_ROUNDS=3
LATENCY_ROUNDS=3
LATENCY_SECONDS=10
LATENCY_WARMUP=2
WRITER=old
WRITER_RATE=2000
BATCH_TARGET_MS=""
PGROLL_BATCH=1000
OUT_DIR="$BENCH_DIR"
QUICK=0

usage() {
    cat <<EOF
usage: bash bench/backfill.sh [options]

  --rows N             rows of the table in sections 1 and 3 (default $ROWS)
  --large-rows N       rows of the linearity table (default $LARGE_ROWS; 0 skips section 2)
  --rounds N           timed rounds per variant at --rows (default $ROUNDS)
  --large-rounds N     timed rounds per variant at --large-rows (default $LARGE_ROUNDS)
  --latency-rounds N   rounds of the writer-latency measurement (default $LATENCY_ROUNDS; 0 skips section 3)
  --latency-seconds S  length of the no-backfill latency window per round (default $LATENCY_SECONDS)
  --writer old|new     the version the pgbench writer uses: old (search_path and
                       expand_contract.version = the base schema, the default) or
                       new (the new version schema's view)
  --writer-rate TPS    pgbench -R of the fixed-rate writer measured next to the
                       closed-loop one (default $WRITER_RATE; 0 measures closed loop only)
  --batch-target-ms N  set expand_contract.batch_target_ms for run_backfill's sessions
                       (default: not set, the extension's default)
  --pgroll-batch N     rows per batch of the pgroll emulation (default $PGROLL_BATCH, pgroll's default)
  --out DIR            where backfill_results.json, backfill_report.md and
                       backfill_report.png go (default bench/)
  --quick              smoke run: --rows 20000 --large-rows 200000 --rounds 3
                       --large-rounds 2 --latency-rounds 1 --latency-seconds 3
                       (unless given explicitly)
  -h, --help           this text
EOF
}

declare -A GIVEN=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --rows)            need_value "$@"; is_count "$1" "$2"; ROWS="$2"; GIVEN[rows]=1; shift 2 ;;
        --large-rows)      need_value "$@"; is_count "$1" "$2"; LARGE_ROWS="$2"; GIVEN[large]=1; shift 2 ;;
        --rounds)          need_value "$@"; is_count "$1" "$2"; ROUNDS="$2"; GIVEN[rounds]=1; shift 2 ;;
        --large-rounds)    need_value "$@"; is_count "$1" "$2"; LARGE_ROUNDS="$2"; GIVEN[lrounds]=1; shift 2 ;;
        --latency-rounds)  need_value "$@"; is_count "$1" "$2"; LATENCY_ROUNDS="$2"; GIVEN[latr]=1; shift 2 ;;
        --latency-seconds) need_value "$@"; is_count "$1" "$2"; LATENCY_SECONDS="$2"; GIVEN[lats]=1; shift 2 ;;
        --writer)          need_value "$@"; [[ "$2" =~ ^(old|new)$ ]] || usage_error "--writer wants old or new"
                           WRITER="$2"; shift 2 ;;
        --writer-rate)     need_value "$@"; is_count "$1" "$2"; WRITER_RATE="$2"; shift 2 ;;
        --batch-target-ms) need_value "$@"; is_count "$1" "$2"; BATCH_TARGET_MS="$2"; shift 2 ;;
        --pgroll-batch)    need_value "$@"; is_count "$1" "$2"; PGROLL_BATCH="$2"; shift 2 ;;
        --out)             need_value "$@"; OUT_DIR="$2"; shift 2 ;;
        --quick)           QUICK=1; shift ;;
        -h|--help)         usage; exit 0 ;;
        *) echo "backfill.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    [ -n "${GIVEN[rows]:-}" ]    || ROWS=20000
    [ -n "${GIVEN[large]:-}" ]   || LARGE_ROWS=200000
    [ -n "${GIVEN[rounds]:-}" ]  || ROUNDS=3
    [ -n "${GIVEN[lrounds]:-}" ] || LARGE_ROUNDS=2
    [ -n "${GIVEN[latr]:-}" ]    || LATENCY_ROUNDS=1
    [ -n "${GIVEN[lats]:-}" ]    || LATENCY_SECONDS=3
fi
at_least --rows "$ROWS" 1000
at_least --rounds "$ROUNDS" 1
at_least --large-rounds "$LARGE_ROUNDS" 1
at_least --latency-seconds "$LATENCY_SECONDS" 1
at_least --pgroll-batch "$PGROLL_BATCH" 1
if [ "$LARGE_ROWS" -gt 0 ] && [ "$LARGE_ROWS" -le "$ROWS" ]; then
    usage_error "--large-rows must be larger than --rows (or 0)"
fi
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
SOURCE_ROWS=$(( LARGE_ROWS > ROWS ? LARGE_ROWS : ROWS ))

# Unthrottled: this measures the engine's speed (the default WAL limit is
# measured by bench/writers_during_backfill.sh).
BACKFILL_OPTIONS="-c expand_contract.backfill_max_wal_per_second=0"
[ -z "$BATCH_TARGET_MS" ] || BACKFILL_OPTIONS="$BACKFILL_OPTIONS -c expand_contract.batch_target_ms=$BATCH_TARGET_MS"

VARIANTS=(floor ec pgroll)
LARGE_VARIANTS=(floor ec)        # pgroll's loop is not part of the linearity target
schema_of() { echo "b_$1"; }

# --- tools, throwaway cluster, machine and build facts (bench/lib.sh) ---------------------
check_tools
start_cluster ec_backfill 55533
facts_start

# --- 0. source rows ----------------------------------------------------------------------
phase_begin setup
log "setup: $SOURCE_ROWS deterministic source rows in bench.source"
t0=$SECONDS
q -v source_rows="$SOURCE_ROWS" -f "$BENCH_DIR/backfill_setup.sql" >"$WORK/setup.out" 2>&1 \
    || { cat "$WORK/setup.out" >&2; server_fail "backfill_setup.sql failed"; }
q -c "CHECKPOINT" >/dev/null
log "setup: done in $(( SECONDS - t0 ))s"
phase_end

# --- one measurement ---------------------------------------------------------------------
# Builds the variant's fresh table (bench/backfill_copy.sql), VACUUM ANALYZE,
# CHECKPOINT, then the timed run; then checks every row's registered through
# the variant's public interface and drops the schema. Appends one line to
# raw/runs.tsv: size, rows, variant, round, ms, batches, mismatches, rows
# left, setup seconds, heap bytes before and after, total bytes after.
make_copy() {   # variant rows schema output-file
    q -v variant="$1" -v rows="$2" -v schema="$3" -f "$BENCH_DIR/backfill_copy.sql" >"$4" 2>&1 \
        || { cat "$4" >&2; server_fail "backfill_copy.sql ($1, $2 rows) failed"; }
    q -c "VACUUM ANALYZE $3.bookings" -c "CHECKPOINT" >/dev/null
}
drop_copy() {   # variant schema
    if [ "$1" = ec ]; then
        q -c "SELECT expand_contract.rollback('$2')" >/dev/null
    fi
    q -c "SET client_min_messages = warning" -c "DROP SCHEMA $2 CASCADE" >/dev/null
}

# pgroll's backfill, emulated from a client: one psql session fed by this
# loop, each batch one statement in autocommit (its own transaction), the
# next batch starting after the last key of the previous one. The statement
# has the shape of pgroll's (pkg/backfill/templates/sql.go): lock a batch of
# flagged rows in key order, update their key to itself (the trigger computes
# the new column and clears the flag), return the last key. The loop ends on
# the first batch that updates nothing, as pgroll's does. Sets PGROLL_MS and
# PGROLL_BATCHES.
PGROLL_MS=""
PGROLL_BATCHES=""
pgroll_backfill() {   # schema
    local s="$1" last="" cond out t0 t1 n=0 err="$WORK/pgroll.err"
    coproc PGROLL { PGOPTIONS="-c search_path=$s" exec "$PSQL" -X -q -At -v ON_ERROR_STOP=1 2>"$err"; }
    local ppid="$PGROLL_PID" in_fd="${PGROLL[0]}" out_fd="${PGROLL[1]}"
    BG_PIDS=("$ppid")
    # One round trip before the clock starts: the session is connected.
    printf 'SELECT 1;\n' >&"$out_fd"
    IFS= read -r out <&"$in_fd" || { cat "$err" >&2; server_fail "pgroll session failed to start"; }
    t0=$EPOCHREALTIME
    while :; do
        cond=""
        [ -z "$last" ] || cond="AND id > $last"
        printf '%s\n' "WITH batch AS (SELECT id FROM bookings WHERE _pgroll_needs_backfill = true $cond ORDER BY id LIMIT $PGROLL_BATCH FOR NO KEY UPDATE), updated AS (UPDATE bookings SET id = bookings.id FROM batch WHERE bookings.id = batch.id RETURNING bookings.id) SELECT max(id) FROM updated;" >&"$out_fd"
        IFS= read -r out <&"$in_fd" || { cat "$err" >&2; server_fail "pgroll batch failed"; }
        [ -n "$out" ] || break
        last="$out"
        n=$(( n + 1 ))
    done
    t1=$EPOCHREALTIME
    printf '\\q\n' >&"$out_fd"
    wait "$ppid" || { cat "$err" >&2; server_fail "pgroll session failed"; }
    BG_PIDS=()
    PGROLL_MS="$(ms_between "$t0" "$t1")"
    PGROLL_BATCHES="$n"
}

measure() {   # size-label rows variant round
    local size="$1" rows="$2" v="$3" r="$4" s ms batches mismatches left=0 t0 heap_before heap_after total_after
    local raw="$WORK/raw/${size}_${v}_$r"
    s="$(schema_of "$v")"
    t0=$EPOCHREALTIME
    make_copy "$v" "$rows" "$s" "$raw.copy.out"
    local setup_s
    setup_s="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
    heap_before="$(q -c "SELECT pg_relation_size('$s.bookings')")"
    case "$v" in
        floor)
            ms="$("$PSQL" -X -q -v ON_ERROR_STOP=1 -c "SET search_path = $s" -c '\timing on' \
                    -c "UPDATE bookings SET registered = (status = 'attended_registered')" 2>&1 \
                    | tee "$raw.out" | timed_ms)" || { cat "$raw.out" >&2; server_fail "floor UPDATE failed"; }
            batches=1
            mismatches="$(q -c "SELECT count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')) FROM $s.bookings")"
            ;;
        ec)
            ms="$(PGOPTIONS="$BACKFILL_OPTIONS" "$PSQL" -X -q -v ON_ERROR_STOP=1 -c '\timing on' \
                    -c "CALL expand_contract.run_backfill('$s')" 2>&1 \
                    | tee "$raw.out" | timed_ms)" || { cat "$raw.out" >&2; server_fail "run_backfill on $s failed"; }
            batches="$(q -c "SELECT coalesce(sum(batches), 0) FROM expand_contract.backfill_progress WHERE schema_name = '$s'")"
            left="$(q -c "SELECT coalesce(sum(backfill_rows_left), 0) FROM expand_contract.status('$s')")"
            mismatches="$(q -c "SELECT count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')) FROM ${s}_m.bookings")"
            ;;
        pgroll)
            pgroll_backfill "$s"
            ms="$PGROLL_MS"
            batches="$PGROLL_BATCHES"
            left="$(q -c "SELECT count(*) FROM $s.bookings WHERE _pgroll_needs_backfill")"
            mismatches="$(q -c "SELECT count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')) FROM $s.bookings")"
            ;;
    esac
    heap_after="$(q -c "SELECT pg_relation_size('$s.bookings')")"
    total_after="$(q -c "SELECT pg_total_relation_size('$s.bookings')")"
    drop_copy "$v" "$s"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$rows" "$v" "$r" "$ms" "$batches" \
        "$mismatches" "$left" "$setup_s" "$heap_before" "$heap_after" "$total_after" >>"$WORK/raw/runs.tsv"
    LAST_LINE="$(printf '%s %ss (%s batches)' "$v" "$(secs "$ms")" "$batches")"
    [ "$mismatches" = 0 ] && [ "$left" = 0 ] || log "  WARNING: $v on $s: $mismatches rows with a wrong registered, $left left"
}

run_rounds() {   # size-label rows rounds variants...
    local size="$1" rows="$2" rounds="$3" line r i v
    shift 3
    local vs=("$@")
    for (( r = 0; r < rounds; r++ )); do
        line=""
        for (( i = 0; i < ${#vs[@]}; i++ )); do
            v="${vs[$(( (i + r) % ${#vs[@]} ))]}"
            measure "$size" "$rows" "$v" "$(( r + 1 ))"
            line+="$LAST_LINE  "
        done
        log "  round $(( r + 1 ))/$rounds: $line"
    done
}

# --- 1. one table, three ways ------------------------------------------------------------
: >"$WORK/raw/runs.tsv"
phase_begin rows
log "section 1: $ROWS rows, $ROUNDS rounds x ${VARIANTS[*]}, a fresh table for each run, order rotating each round"
run_rounds rows "$ROWS" "$ROUNDS" "${VARIANTS[@]}"
phase_end

# --- 2. linearity ------------------------------------------------------------------------
if [ "$LARGE_ROWS" -gt 0 ]; then
    phase_begin large
    log "section 2: $LARGE_ROWS rows, $LARGE_ROUNDS rounds x ${LARGE_VARIANTS[*]}"
    run_rounds large "$LARGE_ROWS" "$LARGE_ROUNDS" "${LARGE_VARIANTS[@]}"
    phase_end
else
    log "section 2: skipped (--large-rows 0)"
fi

# --- 3. writer latency -------------------------------------------------------------------
# Two modes of the same writer, each measured (a) without and (b) during a
# backfill, every round:
#   closed  pgbench as is: the next transaction starts when the last one
#           ended. A writer blocked for 80 ms issues no transactions
#           meanwhile, so the stall counts once however long it is
#           (coordinated omission): its percentiles understate what an
#           application with its own arrival rate would see.
#   rate    pgbench -R WRITER_RATE: transactions are scheduled at a fixed
#           rate (Poisson arrivals) and their latency counts from the
#           scheduled start, so every transaction that arrives while the
#           writer is stalled shows the wait.
# Each measurement builds a fresh ec table of --rows rows with an open
# migration (VACUUM ANALYZE, CHECKPOINT), so the backfill of (b) starts from
# exactly the rows (a) saw and no writes of an earlier measurement are in it.
#   (a) pgbench runs LATENCY_WARMUP + LATENCY_SECONDS seconds, nothing else;
#       the window is the LATENCY_SECONDS after the warm-up.
#   (b) pgbench starts; after LATENCY_WARMUP seconds CALL run_backfill starts in
#       another psql session; the window is from its start to its return.
#       pgbench's -T is 3x the median run_backfill of section 1 plus margin,
#       so it outlasts the backfill; the script checks that it did.
# Transactions count for a window when they completed inside it (pgbench's
# log stamps the end of each transaction, in wall-clock time).
percentiles() {   # file of latencies in microseconds -> n p50 p90 p99 p99.9 max mean over1ms over10ms us-in-over10ms
    sort -n "$1" | awk '
        { a[NR] = $1; s += $1; if ($1 > 1000) o1++; if ($1 > 10000) { o10++; s10 += $1 } }
        function at(p,   k) { k = int(p * NR); if (k < p * NR) k++; if (k < 1) k = 1; return a[k] }
        END {
            if (NR == 0) { print "0\tnull\tnull\tnull\tnull\tnull\tnull\t0\t0\t0"; exit }
            printf "%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\t%d\t%d\n", NR, at(0.5), at(0.9), at(0.99), at(0.999), a[NR], s / NR, o1, o10, s10
        }'
}
window_latencies() {   # log-file from to output -> latencies in the window; meta: logged, first and last completion
    awk -v from="$2" -v to="$3" '
        { t = $5 + $6 / 1000000; n++; if (t > last) last = t; if (first == "" || t < first) first = t
          if (t >= from && t <= to) print $3 > "/dev/stdout" }
        END { printf "%d %.6f %.6f\n", n, first, last > "/dev/stderr" }' "$1" >"$4" 2>"$4.meta"
}
writer_options() {   # schema
    if [ "$WRITER" = old ]; then
        echo "-c search_path=$1 -c expand_contract.version=$1"
    else
        echo "-c search_path=$1_m -c expand_contract.version=$1_m"
    fi
}
latency_measure() {   # mode phase round
    local mode="$1" phase="$2" r="$3" s=l_ec T launch pgb from to bf_ms=null bf_batches=null
    local raw="$WORK/raw/lat_${mode}_${phase}_$r" rate_opts=()
    [ "$mode" = closed ] || rate_opts=(-R "$WRITER_RATE")
    make_copy ec "$ROWS" "$s" "$raw.copy.out"
    rm -f "$raw".log.*
    if [ "$phase" = a ]; then T=$(( LATENCY_WARMUP + LATENCY_SECONDS )); else T="$DURING_SECONDS"; fi
    launch=$EPOCHREALTIME
    PGOPTIONS="$(writer_options "$s")" "$PGBENCH" -n -M prepared -c 1 -j 1 "${rate_opts[@]}" -T "$T" -D rows="$ROWS" \
        -l --log-prefix="$raw.log" -f "$BENCH_DIR/backfill_pgbench_update.sql" bench >"$raw.pgbench.out" 2>&1 &
    pgb=$!
    BG_PIDS=("$pgb")
    if [ "$phase" = a ]; then
        from="$(awk -v t="$launch" -v w="$LATENCY_WARMUP" 'BEGIN { printf "%.6f", t + w }')"
        to="$(awk -v t="$launch" -v w="$LATENCY_WARMUP" -v s="$LATENCY_SECONDS" 'BEGIN { printf "%.6f", t + w + s }')"
    else
        sleep "$LATENCY_WARMUP"
        from=$EPOCHREALTIME
        PGOPTIONS="$BACKFILL_OPTIONS" "$PSQL" -X -q -v ON_ERROR_STOP=1 -c "CALL expand_contract.run_backfill('$s')" >"$raw.backfill.out" 2>&1 \
            || { cat "$raw.backfill.out" >&2; server_fail "run_backfill during pgbench failed"; }
        to=$EPOCHREALTIME
        bf_ms="$(ms_between "$from" "$to")"
        bf_batches="$(q -c "SELECT coalesce(sum(batches), 0) FROM expand_contract.backfill_progress WHERE schema_name = '$s'")"
    fi
    wait "$pgb" || { cat "$raw.pgbench.out" >&2; server_fail "pgbench ($mode $phase) failed"; }
    BG_PIDS=()
    local logs=("$raw".log.*) logged first last covered failed stats n p50 p90 p99 p999
    [ "${#logs[@]}" -eq 1 ] && [ -f "${logs[0]}" ] || die "latency $mode $phase/$r: expected one pgbench log, found ${logs[*]}"
    window_latencies "${logs[0]}" "$from" "$to" "$raw.lat"
    read -r logged first last <"$raw.lat.meta"
    # pgbench's log must be on the same clock as this script: its first
    # transaction completes within seconds after the launch.
    awk -v f="$first" -v l="$launch" 'BEGIN { exit !(f >= l - 1 && f <= l + 10) }' \
        || die "latency $mode $phase/$r: pgbench's log times ($first) do not match the wall clock ($launch)"
    covered="$(awk -v last="$last" -v to="$to" 'BEGIN { print (last >= to) ? "true" : "false" }')"
    failed="$(awk -F': ' '/^number of failed transactions/ { split($2, a, " "); print a[1]; exit }' "$raw.pgbench.out")"
    stats="$(percentiles "$raw.lat")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$phase" "$(ms_between "$from" "$to")" "$bf_ms" "$bf_batches" \
        "$covered" "$logged" "${failed:-0}" "$stats" >>"$WORK/raw/latency.tsv"
    cp "$raw.lat" "$WORK/raw/lat_${mode}_${phase}_$r.us"
    drop_copy ec "$s"
    read -r n p50 p90 p99 p999 _ <<<"$stats"
    log "  round $r $mode ($phase): $n transactions in $(secs "$(ms_between "$from" "$to")")s, p50 ${p50} us, p90 ${p90} us, p99 ${p99} us, p99.9 ${p999} us$( [ "$phase" = b ] && echo ", backfill $(secs "$bf_ms")s in $bf_batches batches" )$( [ "$covered" = true ] || echo "  WARNING: pgbench ended before the backfill")"
}
: >"$WORK/raw/latency.tsv"
: >"$WORK/raw/latency_pooled.tsv"
LATENCY_MODES=(closed)
[ "$WRITER_RATE" -gt 0 ] && LATENCY_MODES+=(rate)
if [ "$LATENCY_ROUNDS" -gt 0 ]; then
    EC_MEDIAN_MS="$(awk -F'\t' '$1 == "rows" && $3 == "ec" { print $5 }' "$WORK/raw/runs.tsv" | sort -n \
                    | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
    DURING_SECONDS="$(awk -v ms="$EC_MEDIAN_MS" -v w="$LATENCY_WARMUP" 'BEGIN { printf "%d", w + 3 * ms / 1000 + 5 }')"
    phase_begin latency
    log "section 3: writer latency (${WRITER} version), $LATENCY_ROUNDS rounds x ${LATENCY_MODES[*]}$( [ "$WRITER_RATE" -gt 0 ] && echo " (-R $WRITER_RATE)" ): (a) ${LATENCY_SECONDS}s without backfill, (b) during CALL run_backfill (pgbench -T $DURING_SECONDS)"
    for (( r = 1; r <= LATENCY_ROUNDS; r++ )); do
        for mode in "${LATENCY_MODES[@]}"; do
            latency_measure "$mode" a "$r"
            latency_measure "$mode" b "$r"
        done
    done
    phase_end
    for mode in "${LATENCY_MODES[@]}"; do
        for phase in a b; do
            cat "$WORK"/raw/lat_"${mode}_${phase}"_*.us >"$WORK/raw/lat_${mode}_${phase}_all.us"
            printf '%s\t%s\t%s\n' "$mode" "$phase" "$(percentiles "$WORK/raw/lat_${mode}_${phase}_all.us")" >>"$WORK/raw/latency_pooled.tsv"
        done
    done
else
    log "section 3: skipped (--latency-rounds 0)"
fi

# --- results ----------------------------------------------------------------------------
facts_end session_preload_libraries
BATCH_TARGET_SHOWN="$(PGOPTIONS="$BACKFILL_OPTIONS" q -c "SELECT setting FROM pg_settings WHERE name = 'expand_contract.batch_target_ms'")"
ELAPSED=$(( SECONDS - RUN_START ))

ARGS_USED=()
[ "$QUICK" = 1 ] && ARGS_USED+=(--quick)
[ -n "${GIVEN[rows]:-}" ] && ARGS_USED+=(--rows "$ROWS")
[ -n "${GIVEN[large]:-}" ] && ARGS_USED+=(--large-rows "$LARGE_ROWS")
[ -n "${GIVEN[rounds]:-}" ] && ARGS_USED+=(--rounds "$ROUNDS")
[ -n "${GIVEN[lrounds]:-}" ] && ARGS_USED+=(--large-rounds "$LARGE_ROUNDS")
[ -n "${GIVEN[latr]:-}" ] && ARGS_USED+=(--latency-rounds "$LATENCY_ROUNDS")
[ -n "${GIVEN[lats]:-}" ] && ARGS_USED+=(--latency-seconds "$LATENCY_SECONDS")
[ "$WRITER" != old ] && ARGS_USED+=(--writer "$WRITER")
[ "$WRITER_RATE" != 2000 ] && ARGS_USED+=(--writer-rate "$WRITER_RATE")
[ -n "$BATCH_TARGET_MS" ] && ARGS_USED+=(--batch-target-ms "$BATCH_TARGET_MS")
[ "$PGROLL_BATCH" != 1000 ] && ARGS_USED+=(--pgroll-batch "$PGROLL_BATCH")
[ "$OUT_DIR" != "$BENCH_DIR" ] && ARGS_USED+=(--out "$OUT_DIR")
COMMAND="bash bench/backfill.sh${ARGS_USED[*]:+ ${ARGS_USED[*]}}"

jq -n \
    --rawfile runs "$WORK/raw/runs.tsv" \
    --rawfile latency "$WORK/raw/latency.tsv" \
    --rawfile latency_pooled "$WORK/raw/latency_pooled.tsv" \
    --rawfile cpu "$WORK/raw/cpu.tsv" \
    --argjson settings "$SETTINGS_JSON" \
    --argjson params "$(jq -n --argjson rows "$ROWS" --argjson large_rows "$LARGE_ROWS" \
        --argjson rounds "$ROUNDS" --argjson large_rounds "$LARGE_ROUNDS" \
        --argjson latency_rounds "$LATENCY_ROUNDS" --argjson latency_seconds "$LATENCY_SECONDS" \
        --argjson latency_warmup "$LATENCY_WARMUP" --argjson during_pgbench_seconds "${DURING_SECONDS:-null}" \
        --arg writer "$WRITER" --argjson writer_rate "$WRITER_RATE" --argjson pgroll_batch "$PGROLL_BATCH" \
        --argjson batch_target_ms "${BATCH_TARGET_SHOWN:-null}" \
        --argjson batch_target_ms_given "$([ -n "$BATCH_TARGET_MS" ] && echo true || echo false)" \
        --argjson quick "$([ "$QUICK" = 1 ] && echo true || echo false)" \
        --arg command "$COMMAND" \
        '$ARGS.named')" \
    --argjson machine "$(machine_json)" \
    --argjson run "$(jq -n \
        --arg date "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" \
        --argjson elapsed_seconds "$ELAPSED" \
        '$ARGS.named')" \
    -f "$BENCH_DIR/backfill_summarize.jq" >"$OUT_DIR/backfill_results.json"

HEADLINE="$(jq -r -f "$BENCH_DIR/backfill_headline.jq" "$OUT_DIR/backfill_results.json")"
jq -r --arg headline "$HEADLINE" -f "$BENCH_DIR/backfill_report.jq" "$OUT_DIR/backfill_results.json" >"$OUT_DIR/backfill_report.md"

# --- chart ---------------------------------------------------------------------------
# Three panels: median seconds per variant at --rows; microseconds per row at
# --rows and --large-rows; writer latency percentiles without and during the
# backfill (closed loop and fixed rate). A missing value is NaN (no bar, no label).
RESULTS="$OUT_DIR/backfill_results.json"
nan() { jq -r 'map(if . == null then "NaN" else . end) | @tsv'; }
jq -c '.sizes.rows.variants[] | [.variant, .median_seconds]' "$RESULTS" | nan >"$WORK/chart_seconds.tsv"
jq -c '.linearity.by_variant[] | [.variant, .us_per_row_rows, .us_per_row_large]' "$RESULTS" | nan >"$WORK/chart_linear.tsv"
jq -c '.latency as $l | ["p50", "p90", "p99", "p99.9"][] as $k
       | [$k] + ([$l.closed.pooled.without, $l.closed.pooled.during, $l.rate.pooled.without, $l.rate.pooled.during]
                 | map(if . == null or .[$k] == null then null else .[$k] / 1000 end))' "$RESULTS" | nan >"$WORK/chart_latency.tsv"
TITLE_SUFFIX="$(chart_title_suffix "$RESULTS")"
YMAX_S="$(awk -F'\t' '{ if ($2 != "NaN" && $2 > m) m = $2 } END { m = m * 1.2; if (m <= 0) m = 1; print m }' "$WORK/chart_seconds.tsv")"
YMAX_US="$(awk -F'\t' '{ for (i = 2; i <= 3; i++) if ($i != "NaN" && $i > m) m = $i } END { m = m * 1.25; if (m <= 0) m = 1; print m }' "$WORK/chart_linear.tsv")"
YMAX_LAT="$(awk -F'\t' '{ for (i = 2; i <= 5; i++) if ($i != "NaN" && $i > m) m = $i } END { m = m * 4; if (m <= 0) m = 1; print m }' "$WORK/chart_latency.tsv")"
YMIN_LAT="$(awk -F'\t' 'BEGIN { m = -1 } { for (i = 2; i <= 5; i++) if ($i != "NaN" && $i > 0 && (m < 0 || $i < m)) m = $i } END { if (m <= 0) m = 0.01; print m / 3 }' "$WORK/chart_latency.tsv")"
CHART_LINEAR="$WORK/chart_linear.tsv"
CHART_LATENCY="$WORK/chart_latency.tsv"
if [ "$LARGE_ROWS" -gt 0 ]; then
    LINEAR_PLOT="plot '$CHART_LINEAR' using 2:xtic(1) title '$ROWS rows' linecolor rgb '#228833', \
'' using 3 title '$LARGE_ROWS rows' linecolor rgb '#ccbb44', \
'' using (\$0-0.17):(\$2):(sprintf('%.2f', \$2)) with labels offset 0,0.8 notitle, \
'' using (\$0+0.17):(\$3):(sprintf('%.2f', \$3)) with labels offset 0,0.8 notitle"
else
    LINEAR_PLOT="plot '$CHART_LINEAR' using 2:xtic(1) title '$ROWS rows (--large-rows 0)' linecolor rgb '#228833', \
'' using (\$0):(\$2):(sprintf('%.2f', \$2)) with labels offset 0,0.8 notitle"
fi
if [ -n "$(jq -r '.latency.closed // empty' "$RESULTS")" ]; then
    LATENCY_PLOT="plot '$CHART_LATENCY' using 2:xtic(1) title 'closed loop, no backfill' linecolor rgb '#4477aa', \
'' using 3 title 'closed loop, during run_backfill' linecolor rgb '#ee6677'"
    if [ "$WRITER_RATE" -gt 0 ]; then
        LATENCY_PLOT+=", '' using 4 title '-R $WRITER_RATE, no backfill' linecolor rgb '#66ccee', \
'' using 5 title '-R $WRITER_RATE, during run_backfill' linecolor rgb '#aa3377'"
    fi
else
    LATENCY_PLOT="unset logscale y; set yrange [0:1]; set label 1 'not measured (--latency-rounds 0)' at graph 0.5, graph 0.5 center; plot 2 notitle"
fi
gnuplot <<EOF || die "gnuplot failed"
set terminal pngcairo size 1700,600 font "DejaVu Sans,11" noenhanced
set output "$OUT_DIR/backfill_report.png"
set multiplot layout 1,3 title "expand_contract backfill benchmark: $TITLE_SUFFIX"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set datafile separator "\t"
set title "Filling registered for every row: median seconds (lower is better)"
set ylabel "seconds"
set yrange [0:$YMAX_S]
plot "$WORK/chart_seconds.tsv" using 2:xtic(1) title "median of the rounds" linecolor rgb "#4477aa", \
     "" using (\$0):(\$2):(sprintf("%.2f s", \$2)) with labels offset 0,0.8 notitle
set title "Time per row (linearity)"
set ylabel "microseconds per row"
set yrange [0:$YMAX_US]
set key top left horizontal
$LINEAR_PLOT
set title "Single-row UPDATE latency (pgbench -c 1), log scale"
set ylabel "milliseconds"
set key top left vertical
set logscale y
set yrange [$YMIN_LAT:$YMAX_LAT]
$LATENCY_PLOT
unset multiplot
EOF

# --- headline ----------------------------------------------------------------------------
finish "$HEADLINE" "$OUT_DIR/backfill_report.md, $OUT_DIR/backfill_report.png, $OUT_DIR/backfill_results.json"
