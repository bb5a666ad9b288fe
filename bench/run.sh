#!/usr/bin/env bash
# bench/run.sh — the issue 3 benchmark: what keeping a new column in sync costs.
#
#   bash bench/run.sh                 # full run (1,000,000 rows, 10,000,000 for memory)
#   bash bench/run.sh --quick         # small smoke run (a minute or two)
#   bash bench/run.sh --rows 200000   # see --help for every option
#
# One command, one throwaway cluster, one machine. It measures four variants
# of the same bookings table, each in its own schema:
#
#   none       registered boolean present, nothing computes it       (v_none)
#   ec         open expand_contract migration adding registered      (v_ec)
#   plpgsql    pgroll-style PL/pgSQL BEFORE ROW trigger              (v_plpgsql)
#   generated  registered boolean GENERATED ALWAYS AS (...) STORED   (v_generated)
#
# plus a reference that is not one of the four: floor, PostgreSQL's built-in C
# trigger suppress_redundant_updates_trigger() BEFORE UPDATE FOR EACH ROW
# (v_floor), the least any row trigger costs (bulk and pgbench UPDATE, memory).
#
# 1. bulk UPDATE of every row, rounds alternating between the variants,
#    VACUUM + CHECKPOINT before each measurement, median per variant;
# 2. pgbench single-row UPDATE and INSERT throughput, alternating segments;
# 3. private memory of one backend running a memory-rows UPDATE on a table
#    with an open expand_contract migration (and, as references, with the
#    PL/pgSQL trigger, the built-in C trigger and no trigger), sampled from
#    /proc every 0.5 s.
#
# Writes bench/results.json, bench/report.md and bench/report.png (or the
# directory given with --out) and prints the headline table. It uses the
# installed extension (/usr/lib/postgresql/15/lib/expand_contract.so); it never
# builds or installs anything except gnuplot-nox when gnuplot is missing.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# --- options -------------------------------------------------------------------
ROWS=1000000
ROUNDS=5
PGBENCH_SECONDS=20
PGBENCH_ROUNDS=4
PGBENCH_WARMUP=3
CLIENTS=1
JOBS=1
MEMORY_ROWS=10000000
OUT_DIR="$BENCH_DIR"
QUICK=0
FLAT_LIMIT_KB=1024
SAMPLE_INTERVAL=0.5

usage() {
    cat <<EOF
usage: bash bench/run.sh [options]

  --rows N             rows in each variant's table (default $ROWS)
  --rounds N           timed bulk-UPDATE rounds per variant (default $ROUNDS)
  --pgbench-seconds S  pgbench seconds per variant and statement kind (default $PGBENCH_SECONDS)
  --pgbench-rounds R   segments those seconds are split into, alternating
                       between the variants (default $PGBENCH_ROUNDS)
  --pgbench-warmup S   untimed pgbench seconds per variant before each kind (default $PGBENCH_WARMUP)
  --clients C          pgbench -c (default $CLIENTS)
  --jobs J             pgbench -j (default $JOBS)
  --memory-rows N      rows of the memory-measurement UPDATE (default $MEMORY_ROWS; 0 skips it)
  --sample-interval S  seconds between /proc samples of the measured backend (default $SAMPLE_INTERVAL)
  --out DIR            where results.json, report.md, report.png go (default bench/)
  --quick              smoke run: --rows 20000 --rounds 3 --pgbench-seconds 4
                       --pgbench-rounds 2 --pgbench-warmup 1 --memory-rows 300000
                       --sample-interval 0.1 (unless given explicitly)
  -h, --help           this text
EOF
}

declare -A GIVEN=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --rows)            need_value "$@"; is_count "$1" "$2"; ROWS="$2"; GIVEN[rows]=1; shift 2 ;;
        --rounds)          need_value "$@"; is_count "$1" "$2"; ROUNDS="$2"; GIVEN[rounds]=1; shift 2 ;;
        --pgbench-seconds) need_value "$@"; is_count "$1" "$2"; PGBENCH_SECONDS="$2"; GIVEN[pgs]=1; shift 2 ;;
        --pgbench-rounds)  need_value "$@"; is_count "$1" "$2"; PGBENCH_ROUNDS="$2"; GIVEN[pgr]=1; shift 2 ;;
        --pgbench-warmup)  need_value "$@"; is_count "$1" "$2"; PGBENCH_WARMUP="$2"; GIVEN[pgw]=1; shift 2 ;;
        --clients)         need_value "$@"; is_count "$1" "$2"; CLIENTS="$2"; shift 2 ;;
        --jobs)            need_value "$@"; is_count "$1" "$2"; JOBS="$2"; shift 2 ;;
        --memory-rows)     need_value "$@"; is_count "$1" "$2"; MEMORY_ROWS="$2"; GIVEN[mem]=1; shift 2 ;;
        --sample-interval) need_value "$@"; [[ "$2" =~ ^[0-9]*\.?[0-9]+$ ]] || usage_error "--sample-interval wants seconds"
                           SAMPLE_INTERVAL="$2"; GIVEN[si]=1; shift 2 ;;
        --out)             need_value "$@"; OUT_DIR="$2"; shift 2 ;;
        --quick)           QUICK=1; shift ;;
        -h|--help)         usage; exit 0 ;;
        *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    [ -n "${GIVEN[rows]:-}" ]   || ROWS=20000
    [ -n "${GIVEN[rounds]:-}" ] || ROUNDS=3
    [ -n "${GIVEN[pgs]:-}" ]    || PGBENCH_SECONDS=4
    [ -n "${GIVEN[pgr]:-}" ]    || PGBENCH_ROUNDS=2
    [ -n "${GIVEN[pgw]:-}" ]    || PGBENCH_WARMUP=1
    [ -n "${GIVEN[mem]:-}" ]    || MEMORY_ROWS=300000
    [ -n "${GIVEN[si]:-}" ]     || SAMPLE_INTERVAL=0.1
fi
at_least --rows "$ROWS" 100
at_least --rounds "$ROUNDS" 1
at_least --pgbench-rounds "$PGBENCH_ROUNDS" 1
[ "$CLIENTS" -ge 1 ] && [ "$JOBS" -ge 1 ] || usage_error "--clients/--jobs must be at least 1"
SEGMENT_SECONDS=$(( PGBENCH_SECONDS / PGBENCH_ROUNDS ))
if [ "$PGBENCH_SECONDS" -gt 0 ] && [ "$SEGMENT_SECONDS" -lt 1 ]; then
    usage_error "--pgbench-seconds must be at least --pgbench-rounds"
fi
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

VARIANTS=(none ec plpgsql generated floor)
INSERT_VARIANTS=(none ec plpgsql generated)    # floor has no INSERT trigger
ALL_TABLES="v_none.bookings, v_ec.bookings, v_plpgsql.bookings, v_generated.bookings, v_floor.bookings"
schema_of() { echo "v_$1"; }

# --- tools, throwaway cluster, machine and build facts (bench/lib.sh) ---------------------
check_tools
start_cluster ec_bench 55433
facts_start

# --- 0. setup ----------------------------------------------------------------------------
log "setup: $ROWS rows in each of v_none, v_ec, v_plpgsql, v_generated (and the reference v_floor)"
t0=$SECONDS
q -v rows="$ROWS" -f "$BENCH_DIR/setup.sql" >"$WORK/setup.out" 2>&1 || { cat "$WORK/setup.out" >&2; server_fail "setup.sql failed"; }
log "setup: tables loaded in $(( SECONDS - t0 ))s; running expand_contract.backfill() on v_ec"
BACKFILL_MS="$( { "$PSQL" -X -q -v ON_ERROR_STOP=1 -c '\timing on' \
    -c "SELECT count(*) AS batches, sum(rows) AS rows FROM expand_contract.backfill('v_ec')" ; } \
    2>&1 | tee "$WORK/backfill.out" | timed_ms)" || { cat "$WORK/backfill.out" >&2; server_fail "backfill failed"; }
BACKFILL_ROWS_LEFT="$(q -c "SELECT backfill_rows_left FROM expand_contract.status('v_ec')")"
log "setup: backfill took $(awk -v ms="$BACKFILL_MS" 'BEGIN{printf "%.1f", ms/1000}')s (rows left: $BACKFILL_ROWS_LEFT)"
EC_VERSION_SCHEMA="$(q -c "SELECT version_schema FROM expand_contract.status('v_ec')")"
[ -n "$EC_VERSION_SCHEMA" ] || die "expand_contract.status('v_ec') shows no open migration"
EC_TRIGGERS="$(q -c "SELECT coalesce(string_agg(tgname, ', ' ORDER BY tgname), '') FROM pg_trigger
                     WHERE tgrelid = 'v_ec.bookings'::regclass AND NOT tgisinternal")"
log "setup: v_ec version schema $EC_VERSION_SCHEMA, triggers on v_ec.bookings: ${EC_TRIGGERS:-none}"

# VACUUM FULL packs all four heaps the same way (the backfill left v_ec with a
# dead copy of every row); one untimed warm-up UPDATE per variant then brings
# every table into the same steady layout the timed rounds run in.
log "setup: VACUUM FULL + ANALYZE, then one untimed warm-up UPDATE per variant"
for v in "${VARIANTS[@]}"; do
    q -c "VACUUM (FULL, ANALYZE) $(schema_of "$v").bookings" >/dev/null
done
for v in "${VARIANTS[@]}"; do
    q -c "SET search_path = $(schema_of "$v")" -f "$BENCH_DIR/bulk_update.sql" >/dev/null
    q -c "VACUUM $(schema_of "$v").bookings" >/dev/null
done
q -c "CHECKPOINT" >/dev/null

# Rows whose registered disagrees with status: must be 0 for ec, plpgsql and
# generated (none and floor compute nothing). expand_contract's column is read
# through its public interface, the new version's view.
check_sync() {
    q -F $'\t' -c "
        SELECT 'none', count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')), count(*) FROM v_none.bookings
        UNION ALL SELECT 'ec', count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')), count(*) FROM \"$EC_VERSION_SCHEMA\".bookings
        UNION ALL SELECT 'plpgsql', count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')), count(*) FROM v_plpgsql.bookings
        UNION ALL SELECT 'generated', count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')), count(*) FROM v_generated.bookings
        UNION ALL SELECT 'floor', count(*) FILTER (WHERE registered IS DISTINCT FROM (status = 'attended_registered')), count(*) FROM v_floor.bookings"
}
check_sync >"$WORK/raw/check_setup.tsv"
# How the server runs the measured UPDATE on v_ec (shown in the report).
EC_PLAN="$(q -c "SET search_path = v_ec" -c "EXPLAIN (VERBOSE, COSTS OFF) $(grep -v '^--' "$BENCH_DIR/bulk_update.sql" | tr '\n' ' ' | sed 's/; *$//')")"
TABLE_SIZES="$(q -F $'\t' -c "SELECT s, pg_relation_size(format('%I.bookings', s)), pg_total_relation_size(format('%I.bookings', s))
                              FROM unnest(ARRAY['v_none','v_ec','v_plpgsql','v_generated','v_floor']) AS s")"
printf '%s\n' "$TABLE_SIZES" >"$WORK/raw/sizes.tsv"

# --- 1. bulk UPDATE ---------------------------------------------------------------------
: >"$WORK/raw/bulk.tsv"
phase_begin bulk
log "bulk UPDATE: $ROUNDS rounds x ${#VARIANTS[@]} variants, order rotating each round"
for (( r = 0; r < ROUNDS; r++ )); do
    line=""
    for (( i = 0; i < ${#VARIANTS[@]}; i++ )); do
        v="${VARIANTS[$(( (i + r) % ${#VARIANTS[@]} ))]}"
        s="$(schema_of "$v")"
        q -c "VACUUM $s.bookings" -c "CHECKPOINT" >/dev/null
        ms="$("$PSQL" -X -q -v ON_ERROR_STOP=1 -c "SET search_path = $s" -c '\timing on' \
                -f "$BENCH_DIR/bulk_update.sql" 2>&1 | timed_ms)" || server_fail "bulk UPDATE on $s failed"
        printf '%s\t%d\t%s\n' "$v" "$(( r + 1 ))" "$ms" >>"$WORK/raw/bulk.tsv"
        line+="$(printf '%s %.2fs  ' "$v" "$(awk -v ms="$ms" 'BEGIN{print ms/1000}')")"
    done
    log "  round $(( r + 1 ))/$ROUNDS: $line"
done
phase_end
q -c "VACUUM $ALL_TABLES" >/dev/null
check_sync >"$WORK/raw/check_bulk.tsv"

# --- 2. pgbench single-row UPDATE / INSERT --------------------------------------------------
# Per statement kind: VACUUM, one CHECKPOINT, an untimed warm-up run per
# variant (it takes the full-page writes that follow the checkpoint and warms
# the caches), then the timed segments back to back, alternating between the
# variants with the order rotating by one each segment. The checkpoint
# counters show that no checkpoint ran during the timed segments.
run_pgbench() {   # kind variant seconds output-file
    PGOPTIONS="-c search_path=$(schema_of "$2")" "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$JOBS" \
        -T "$3" -D rows="$ROWS" -f "$BENCH_DIR/pgbench_$1.sql" bench \
        >"$4" 2>&1 || { cat "$4" >&2; server_fail "pgbench $1 on $(schema_of "$2") failed"; }
}
checkpoints() { q -c "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"; }
: >"$WORK/raw/pgbench.tsv"
: >"$WORK/raw/pgbench_checkpoints.tsv"
if [ "$PGBENCH_SECONDS" -gt 0 ]; then
    for kind in update insert; do
        if [ "$kind" = insert ]; then KIND_VARIANTS=("${INSERT_VARIANTS[@]}"); else KIND_VARIANTS=("${VARIANTS[@]}"); fi
        log "pgbench $kind: warm-up ${PGBENCH_WARMUP}s per variant, then ${PGBENCH_ROUNDS} x ${SEGMENT_SECONDS}s per variant, -c $CLIENTS -j $JOBS -M prepared"
        q -c "VACUUM $ALL_TABLES" -c "CHECKPOINT" >/dev/null
        if [ "$PGBENCH_WARMUP" -gt 0 ]; then
            for v in "${KIND_VARIANTS[@]}"; do
                run_pgbench "$kind" "$v" "$PGBENCH_WARMUP" "$WORK/pgbench_${kind}_${v}_warmup.out"
            done
        fi
        ckpt_before="$(checkpoints)"
        phase_begin "pgbench_$kind"
        for (( r = 0; r < PGBENCH_ROUNDS; r++ )); do
            line=""
            for (( i = 0; i < ${#KIND_VARIANTS[@]}; i++ )); do
                v="${KIND_VARIANTS[$(( (i + r) % ${#KIND_VARIANTS[@]} ))]}"
                out="$WORK/pgbench_${kind}_${v}_$r.out"
                t_before="$(server_ticks)"
                run_pgbench "$kind" "$v" "$SEGMENT_SECONDS" "$out"
                # pgbench's backends have exited (and were reaped) by now, so
                # their CPU time is in the postmaster's cutime/cstime.
                server_cpu=$(( $(server_ticks) - t_before ))
                tps="$(awk '/^tps = / { print $3; exit }' "$out")"
                xacts="$(awk -F': ' '/^number of transactions actually processed/ { print $2; exit }' "$out")"
                failed="$(awk -F': ' '/^number of failed transactions/ { split($2, a, " "); print a[1]; exit }' "$out")"
                [ -n "$tps" ] && [ -n "$xacts" ] || { cat "$out" >&2; die "cannot parse pgbench output"; }
                printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$v" "$(( r + 1 ))" "$SEGMENT_SECONDS" \
                    "$xacts" "$tps" "${failed:-0}" "$(awk -v t="$server_cpu" -v hz="$TICKS" 'BEGIN { print t / hz }')" \
                    >>"$WORK/raw/pgbench.tsv"
                line+="$(printf '%s %.0f  ' "$v" "$tps")"
            done
            log "  segment $(( r + 1 ))/$PGBENCH_ROUNDS tps: $line"
        done
        phase_end
        printf '%s\t%s\n' "$kind" "$(( $(checkpoints) - ckpt_before ))" >>"$WORK/raw/pgbench_checkpoints.tsv"
    done
else
    log "pgbench: skipped (--pgbench-seconds 0)"
fi

# --- 3. backend memory over a large UPDATE --------------------------------------------------
# The expand_contract table is the measurement; the PL/pgSQL trigger, the
# built-in C trigger (floor) and no trigger are measured the same way as
# references, to tell the extension's memory from the server's own per-row
# trigger machinery.
measure_memory() {
    local v="$1" t0 bytes backend pid k ms
    local raw="$WORK/raw/memory_$v"
    : >"$raw.tsv"
    log "memory/$v: loading $MEMORY_ROWS rows into m_$v.bookings"
    t0=$SECONDS
    q -c "CHECKPOINT" >/dev/null
    q -v variant="$v" -v memory_rows="$MEMORY_ROWS" -f "$BENCH_DIR/memory_setup.sql" >"$raw.setup.out" 2>&1 \
        || { cat "$raw.setup.out" >&2; server_fail "memory_setup.sql ($v) failed"; }
    q -c "CHECKPOINT" >/dev/null
    bytes="$(q -c "SELECT pg_relation_size('m_$v.bookings')")"
    log "memory/$v: loaded in $(( SECONDS - t0 ))s ($(( bytes / 1048576 )) MiB heap); UPDATE of every row, sampling /proc every ${SAMPLE_INTERVAL}s"
    # The session idles 2 s before and 2 s after the UPDATE, so the samples
    # show the backend before, during and after it. \! stamps the client's
    # clock right before the UPDATE is sent and right after it returns.
    {
        echo '\set ON_ERROR_STOP 1'
        echo "SET search_path = m_$v;"
        echo 'SELECT pg_sleep(2);'
        echo "\\! bash -c 'echo \$EPOCHREALTIME' > $raw.start"
        echo '\timing on'
        echo "\\i $BENCH_DIR/bulk_update.sql"
        echo '\timing off'
        echo "\\! bash -c 'echo \$EPOCHREALTIME' > $raw.end"
        echo 'SELECT pg_sleep(2);'
    } >"$raw.sql"
    PGAPPNAME="ec_bench_memory_$v" "$PSQL" -X -q -f "$raw.sql" >"$raw.out" 2>&1 &
    pid=$!
    BG_PIDS=("$pid")
    backend=""
    for (( k = 0; k < 200; k++ )); do
        backend="$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ec_bench_memory_$v'")"
        [ -n "$backend" ] && break
        sleep 0.05
    done
    [ -n "$backend" ] || die "memory/$v: cannot find the backend of the measuring session"
    while kill -0 "$pid" 2>/dev/null; do
        if [ -r "/proc/$backend/status" ]; then
            awk -v t="$EPOCHREALTIME" '
                $1 == "VmRSS:" { rss = $2 } $1 == "VmHWM:" { hwm = $2 }
                $1 == "RssAnon:" { anon = $2 } $1 == "RssShmem:" { shm = $2 }
                END { if (rss != "") printf "%s\t%s\t%s\t%s\t%s\n", t, rss, hwm, anon, shm }' \
                "/proc/$backend/status" >>"$raw.tsv" 2>/dev/null || true
        fi
        sleep "$SAMPLE_INTERVAL"
    done
    wait "$pid" || { cat "$raw.out" >&2; server_fail "memory UPDATE ($v) failed"; }
    BG_PIDS=()
    ms="$(timed_ms <"$raw.out")" || { cat "$raw.out" >&2; die "memory/$v: no timing"; }
    jq -n --arg variant "$v" --argjson rows "$MEMORY_ROWS" --argjson table_heap_bytes "$bytes" \
        --argjson update_ms "$ms" --argjson update_start "$(cat "$raw.start")" \
        --argjson update_end "$(cat "$raw.end")" --rawfile samples "$raw.tsv" \
        '$ARGS.named' >"$raw.json"
    log "memory/$v: UPDATE took $(awk -v ms="$ms" 'BEGIN { printf "%.1f", ms / 1000 }')s; RssAnon $(awk -F'\t' 'NR == 1 { lo = $4 } $4 > hi { hi = $4 } END { printf "%d kB at start, peak %d kB", lo, hi }' "$raw.tsv")"
    # The table is not needed any more; dropping it bounds the disk use.
    if [ "$v" = ec ]; then
        q -c "SELECT expand_contract.rollback('m_ec')" >/dev/null
    fi
    q -c "SET client_min_messages = warning" -c "DROP SCHEMA m_$v CASCADE" >/dev/null
}

MEMORY_VARIANTS=(ec plpgsql floor none)
if [ "$MEMORY_ROWS" -gt 0 ]; then
    phase_begin memory
    for v in "${MEMORY_VARIANTS[@]}"; do
        measure_memory "$v"
    done
    phase_end
    files=()
    for v in "${MEMORY_VARIANTS[@]}"; do files+=("$WORK/raw/memory_$v.json"); done
    jq -s '.' "${files[@]}" >"$WORK/raw/memory.json"
else
    echo '[]' >"$WORK/raw/memory.json"
    log "memory: skipped (--memory-rows 0)"
fi

# --- results ----------------------------------------------------------------------------
facts_end
ELAPSED=$(( SECONDS - RUN_START ))

jq -n \
    --rawfile bulk "$WORK/raw/bulk.tsv" \
    --rawfile pgbench "$WORK/raw/pgbench.tsv" \
    --slurpfile memory "$WORK/raw/memory.json" \
    --rawfile check_setup "$WORK/raw/check_setup.tsv" \
    --rawfile check_bulk "$WORK/raw/check_bulk.tsv" \
    --rawfile sizes "$WORK/raw/sizes.tsv" \
    --rawfile cpu "$WORK/raw/cpu.tsv" \
    --rawfile pgbench_checkpoints "$WORK/raw/pgbench_checkpoints.tsv" \
    --argjson settings "$SETTINGS_JSON" \
    --argjson params "$(jq -n --argjson rows "$ROWS" --argjson rounds "$ROUNDS" \
        --argjson pgbench_seconds "$PGBENCH_SECONDS" --argjson pgbench_rounds "$PGBENCH_ROUNDS" \
        --argjson segment_seconds "$SEGMENT_SECONDS" --argjson pgbench_warmup "$PGBENCH_WARMUP" \
        --argjson clients "$CLIENTS" --argjson jobs "$JOBS" \
        --argjson memory_rows "$MEMORY_ROWS" --argjson quick "$([ "$QUICK" = 1 ] && echo true || echo false)" \
        --argjson flat_limit_kb "$FLAT_LIMIT_KB" --argjson sample_interval "$SAMPLE_INTERVAL" \
        '$ARGS.named')" \
    --argjson machine "$(machine_json \
        --arg ec_version_schema "$EC_VERSION_SCHEMA" \
        --arg ec_triggers "$EC_TRIGGERS" \
        --arg ec_update_plan "$EC_PLAN")" \
    --argjson run "$(jq -n \
        --arg date "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" \
        --argjson elapsed_seconds "$ELAPSED" \
        --argjson backfill_ms "$BACKFILL_MS" \
        '$ARGS.named')" \
    -f "$BENCH_DIR/summarize.jq" >"$OUT_DIR/results.json"

HEADLINE="$(jq -r -f "$BENCH_DIR/headline.jq" "$OUT_DIR/results.json")"
jq -r --arg headline "$HEADLINE" -f "$BENCH_DIR/report.jq" "$OUT_DIR/results.json" >"$OUT_DIR/report.md"

# --- chart ---------------------------------------------------------------------------
# Columns: name, bulk ratio, UPDATE TPS ratio, INSERT TPS ratio; a missing
# value is NaN (no bar, no label).
jq -r '.variants[] | [(.variant + (if .reference then " (ref.)" else "" end)),
                      .bulk_update.ratio_to_none, .pgbench.update.ratio_to_none, .pgbench.insert.ratio_to_none]
       | [.[0]] + (.[1:] | map(if . == null then "NaN" else . end)) | @tsv' \
    "$OUT_DIR/results.json" >"$WORK/chart.tsv"
TITLE_SUFFIX="$(chart_title_suffix "$OUT_DIR/results.json")"
YMAX_BULK="$(awk -F'\t' '{ if ($2 != "NaN" && $2 > m) m = $2 } END { m = m * 1.15; if (m < 1.3) m = 1.3; print m }' "$WORK/chart.tsv")"
YMAX_TPS="$(awk -F'\t' '{ if ($3 != "NaN" && $3 > m) m = $3; if ($4 != "NaN" && $4 > m) m = $4 } END { m = m * 1.2; if (m < 1.25) m = 1.25; print m }' "$WORK/chart.tsv")"
gnuplot <<EOF || die "gnuplot failed"
set terminal pngcairo size 1300,560 font "DejaVu Sans,11" noenhanced
set output "$OUT_DIR/report.png"
set multiplot layout 1,2 title "expand_contract benchmark, ratio to no trigger: $TITLE_SUFFIX"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left horizontal
set datafile separator "\t"
set title "Bulk UPDATE of every row: median time / no trigger (lower is better)"
set ylabel "time ratio"
set yrange [0:$YMAX_BULK]
plot "$WORK/chart.tsv" using 2:xtic(1) title "bulk UPDATE" linecolor rgb "#4477aa", \
     "" using (\$0):(\$2):(sprintf("%.2f", \$2)) with labels offset 0,0.8 notitle, \
     1 with lines dashtype 2 linecolor rgb "#555555" title "no trigger = 1"
set title "pgbench single-row TPS / no trigger (higher is better)"
set ylabel "TPS ratio"
set yrange [0:$YMAX_TPS]
plot "$WORK/chart.tsv" using 3:xtic(1) title "UPDATE" linecolor rgb "#228833", \
     "" using 4 title "INSERT" linecolor rgb "#ccbb44", \
     "" using (\$0-0.17):(\$3):(sprintf("%.2f", \$3)) with labels offset 0,0.8 notitle, \
     "" using (\$0+0.17):(\$4):(sprintf("%.2f", \$4)) with labels offset 0,0.8 notitle, \
     1 with lines dashtype 2 linecolor rgb "#555555" title "no trigger = 1"
unset multiplot
EOF

# --- headline ----------------------------------------------------------------------------
finish "$HEADLINE" "$OUT_DIR/report.md, $OUT_DIR/report.png, $OUT_DIR/results.json"
