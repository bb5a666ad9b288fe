#!/usr/bin/env bash
# bench/all.sh — every performance benchmark, one command, one summary.
#
#   bash bench/all.sh            # the full run (about 45 minutes on 2 cores)
#   bash bench/all.sh --quick    # a smoke run of every part (a few minutes)
#   bash bench/all.sh --again DIR PART...
#                                # runs only the PARTs named again (run,
#                                # write_paths, parallel_1M, parallel_10M,
#                                # writers, wal_limits, alternating, bloat), keeps the other
#                                # parts' outputs from an earlier full run's DIR
#                                # (printed at its start), rewrites the summary
#
# Runs, one after the other (each on its own throwaway cluster, the installed
# library, nothing else running):
#   run.sh                     UPDATE plan path, pgbench single-row UPDATE and
#                              INSERT, memory over a 10M-row UPDATE
#   write_paths.sh             INSERT ... SELECT, multi-row VALUES, ON CONFLICT,
#                              MERGE, COPY; views against the base table;
#                              memory over a 10M-row statement of each
#   parallel_backfill.sh       1 runner and 2 workers (by page, and by key)
#                              against one UPDATE, at 1M and 10M rows
#   writers_during_backfill.sh p99/p99.9 of fixed-rate writers during each kind
#                              of backfill
#   writers_wal_limits.sh      p99/p99.9 of fixed-rate writers on another table
#                              at each backfill_max_wal_per_second
#   writers_alternating.sh     p99/p99.9 of fixed-rate writers on the table
#                              being backfilled, the backfill paused and
#                              resumed every 3 s, pooled on against off
#   backfill_bloat.sh          heap and index size before and after a backfill
# and writes bench/summary.md (issue 14's goals, measured, with a verdict
# each, and every table the parts printed) and bench/summary.png. Each part
# also writes its own report (bench/report.md, bench/write_paths.md).
# Without --quick the parts' own reports are refreshed too; with it, their
# outputs go to a temporary directory and only the summary is written, to
# bench/summary_quick.md.
set -euo pipefail
shopt -s inherit_errexit
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$BENCH_DIR/.."
QUICK=0
AGAIN=()   # with --again: the parts to run; the others' outputs are kept
OUT=""
usage() { echo "usage: bash bench/all.sh [--quick | --again DIR PART...]" >&2; exit 2; }
case "${1:-}" in
    --quick) QUICK=1 ;;
    --again) [ $# -ge 3 ] && [ -d "$2" ] || usage; OUT="$2"; shift 2; AGAIN=("$@") ;;
    "") ;;
    *) usage ;;
esac

[ -n "$OUT" ] || OUT="$(mktemp -d)"
echo "bench/all.sh: the parts' outputs go to $OUT" >&2
START=$(date +%s)
log() { printf '[%5ds] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
again() {   # name : whether this run runs part name
    [ "${#AGAIN[@]}" = 0 ] || [[ " ${AGAIN[*]} " == *" $1 "* ]]
}
part() {   # name command... : runs it, its stdout kept in $OUT/name.txt
    local name="$1"; shift
    if ! again "$name"; then
        [ -s "$OUT/$name.txt" ] || { echo "bench/all.sh: $OUT has no output of $name" >&2; exit 1; }
        log "$name: kept from $OUT"
        return
    fi
    log "$name: $*"
    "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err" || {
        tail -n 30 "$OUT/$name.err" >&2
        echo "bench/all.sh: $name failed" >&2
        exit 1
    }
}

# The sizes of each mode; the parts are the same.
if [ "$QUICK" = 1 ]; then
    SUMMARY="$BENCH_DIR/summary_quick.md"
    RUN_ARGS=(--quick --out "$OUT/run"); RUN_JSON="$OUT/run/results.json"; RUN_MD="$OUT/run/report.md"
    WRITE_PATHS_ARGS=(--rows 20000 --rounds 2 --memory-rows 200000)
    SMALL=50000; LARGE=200000; SMALL_ROUNDS=1; LARGE_ROUNDS=1
    WRITERS_ARGS=(--rows 50000 --rounds 1); BLOAT_ROWS=50000
    WAL_LIMITS_ARGS=(--rows 50000 --rounds 1)
    ALTERNATING_ARGS=(--rows 100000 --rounds 1 --window 1)
    # A smoke run leaves the published write_paths report as it was.
    KEEP_WRITE_PATHS="$(mktemp)"; cp bench/write_paths.md "$KEEP_WRITE_PATHS"
else
    SUMMARY="$BENCH_DIR/summary.md"
    RUN_ARGS=(); RUN_JSON="$BENCH_DIR/results.json"; RUN_MD="$BENCH_DIR/report.md"
    WRITE_PATHS_ARGS=()
    SMALL=1000000; LARGE=10000000; SMALL_ROUNDS=5; LARGE_ROUNDS=3
    WRITERS_ARGS=(--rows 2000000 --rounds 5); BLOAT_ROWS=1000000
    WAL_LIMITS_ARGS=(--rounds 8)
    ALTERNATING_ARGS=()
fi
part run bash bench/run.sh "${RUN_ARGS[@]}"
part write_paths bash bench/write_paths.sh "${WRITE_PATHS_ARGS[@]}"
again write_paths && cp bench/write_paths.md "$OUT/write_paths.md"
[ "$QUICK" = 1 ] && cp "$KEEP_WRITE_PATHS" bench/write_paths.md
part parallel_1M bash bench/parallel_backfill.sh --rows "$SMALL" --rounds "$SMALL_ROUNDS" --by-key
part parallel_10M bash bench/parallel_backfill.sh --rows "$LARGE" --rounds "$LARGE_ROUNDS" --by-key
part writers bash bench/writers_during_backfill.sh "${WRITERS_ARGS[@]}"
part wal_limits bash bench/writers_wal_limits.sh "${WAL_LIMITS_ARGS[@]}"
part alternating bash bench/writers_alternating.sh "${ALTERNATING_ARGS[@]}"
part bloat bash bench/backfill_bloat.sh --rows "$BLOAT_ROWS"
log "writing $SUMMARY"

# --- numbers out of the parts' tables ------------------------------------------
# cell FILE ROW-PREFIX COLUMN: a cell of the Markdown table row starting with
# ROW-PREFIX ("| INSERT ... SELECT |"), columns counted from 1.
cell() { awk -F'|' -v p="$2" -v c="$3" 'index($0, p) == 1 { gsub(/^ +| +$/, "", $(c + 1)); print $(c + 1); exit }' "$1"; }
# view_cell ROW-PREFIX COLUMN: the same, in write_paths' table of views.
view_cell() { sed -n '/^Through the new version/,/^$/p; /^| statement | base table/,/^$/p' "$WP" > "$OUT/views.md"; cell "$OUT/views.md" "$@"; }
num() { sed -E 's/[^0-9.].*$//' <<< "$1"; }   # "2.184 s (1.07x)" -> 2.184
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() {   # value op goal
    awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { ok = (op == "<=") ? (v <= g) : (v >= g); print ok ? "**met**" : "**not met**" }'
}
GOALS="$OUT/goals"
: > "$GOALS"
: > "$OUT/chart.tsv"   # the chart's rows, written again with the goals
goal() {   # label value op goal detail
    printf '| %s | %sx | %s %sx | %s | %s |\n' "$1" "$2" "$3" "$4" "$(verdict "$2" "$3" "$4")" "$5" >> "$GOALS"
    printf '%s\t%s\t%s\n' "$1" "$2" "$4" >> "$OUT/chart.tsv"
}

WP="$OUT/write_paths.md"
for row in "INSERT ... SELECT" "INSERT ... VALUES, 1000 rows per statement" \
           "INSERT ... ON CONFLICT DO UPDATE (all conflict)" "MERGE, all matched (UPDATE)"; do
    goal "$row vs generated column" "$(num "$(cell "$WP" "| $row |" 6)")" "<=" 1.03 \
         "medians; round by round $(cell "$WP" "| $row |" 7)"
done
goal "COPY vs C no-op trigger (floor)" "$(num "$(cell "$WP" "| COPY FROM file (trigger path) |" 8)")" "<=" 1.00 \
     "vs generated column: $(cell "$WP" "| COPY FROM file (trigger path) |" 6)"
goal "INSERT ... SELECT through the new version's view vs base" "$(num "$(view_cell "| INSERT ... SELECT |" 4)")" "<=" 1.03 \
     "$(view_cell "| INSERT ... SELECT |" 3) s vs $(view_cell "| INSERT ... SELECT |" 2) s"
goal "UPDATE through the new version's view vs base" "$(num "$(view_cell "| UPDATE of every row |" 4)")" "<=" 1.03 \
     "$(view_cell "| UPDATE of every row |" 3) s vs $(view_cell "| UPDATE of every row |" 2) s"
run_target() { jq -r --arg id "$1" ".targets[] | select(.id == \$id) | .$2" "$RUN_JSON"; }
goal "bulk UPDATE vs generated column" "$(run_target bulk_vs_generated value)" "<=" 1.03 "$(run_target bulk_vs_generated detail)"
goal "single-row INSERT throughput vs no trigger (pgbench)" "$(run_target single_row_insert value)" ">=" 0.95 \
     "$(run_target single_row_insert detail)"
# Issue 14 judges single-row INSERT against a generated column: its time per
# transaction (1 / TPS), and the server CPU per transaction beside it.
run_insert() { jq -r --arg v "$1" ".variants[] | select(.variant == \$v) | .pgbench.insert.$2" "$RUN_JSON"; }
goal "single-row INSERT time per transaction vs generated column (pgbench)" \
     "$(ratio "$(run_insert generated tps)" "$(run_insert ec tps)")" "<=" 1.03 \
     "$(run_insert ec tps) vs $(run_insert generated tps) TPS; server CPU per transaction $(run_insert ec server_cpu_us_per_transaction) vs $(run_insert generated server_cpu_us_per_transaction) us"

for size in 1M 10M; do
    f="$OUT/parallel_$size.txt"
    u=$(num "$(cell "$f" "| one plain UPDATE |" 2)")
    one=$(num "$(cell "$f" "| run_backfill, 1 runner |" 2)")
    two=$(num "$(cell "$f" "| start_backfill, 2 workers |" 2)")
    eval "U_$size=$u ONE_$size=$one TWO_$size=$two"
    rows=$([ "$size" = 1M ] && echo "$SMALL" || echo "$LARGE")
    goal "backfill, 2 workers vs one UPDATE ($rows rows)" "$(ratio "$two" "$u")" "<=" 0.75 "$two s vs $u s"
    goal "backfill, 1 runner vs one UPDATE ($rows rows)" "$(ratio "$one" "$u")" "<=" 1.15 "$one s vs $u s"
done
per_row() { awk -v a="$1" -v b="$2" -v s="$SMALL" -v l="$LARGE" 'BEGIN { printf "%.2f", (a / l) / (b / s) }'; }
goal "backfill per-row cost, large vs small table, 1 runner" "$(per_row "$ONE_10M" "$ONE_1M")" "<=" 1.10 "$LARGE vs $SMALL rows"
goal "backfill per-row cost, large vs small table, 2 workers" "$(per_row "$TWO_10M" "$TWO_1M")" "<=" 1.10 "$LARGE vs $SMALL rows"

W="$OUT/writers.txt"
w() { cell "$W" "| $1 |" "$2"; }
goal "writers' p99 during default backfill vs without" "$(ratio "$(w ec_default 4)" "$(w ec_default 6)")" "<=" 2.00 \
     "$(w ec_default 4) ms vs $(w ec_default 6) ms"
goal "writers' p99.9 during default backfill vs without" "$(ratio "$(w ec_default 5)" "$(w ec_default 7)")" "<=" 3.00 \
     "$(w ec_default 5) ms vs $(w ec_default 7) ms"
goal "writers' p99 during adaptive backfill vs without" "$(ratio "$(w ec_adaptive 4)" "$(w ec_adaptive 6)")" "<=" 2.00 \
     "$(w ec_adaptive 4) ms vs $(w ec_adaptive 6) ms, at $(w ec_adaptive 2) rows/s; backfill_max_wal_sync_ms = 2x the writers' own $(w ec_adaptive 8) ms"
goal "default backfill rows/s vs pgroll-style batches" "$(ratio "$(w ec_default 2)" "$(w pgroll 2)")" ">=" 2.00 \
     "$(w ec_default 2) vs $(w pgroll 2) rows/s"
goal "writers' p99 at pgroll-style rows/s: ours vs pgroll-style" "$(ratio "$(w ec_pgroll_rate 4)" "$(w pgroll 4)")" "<=" 1.00 \
     "$(w ec_pgroll_rate 4) ms vs $(w pgroll 4) ms"

# Writers on another table at each WAL limit: medians over the rounds.
WL="$OUT/wal_limits.txt"
wl() {   # window column(4: p99, 5: p99.9)
    awk -v w="$1" -v c="$2" '$1 == w { print $c }' "$WL" | sort -n |
        awk '{ a[NR] = $1 } END { print (NR ? (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) : "n/a") }'
}
goal "writers' p99 (another table) at the default WAL limit vs alone" "$(ratio "$(wl wal_limit_32MB 4)" "$(wl alone 4)")" "<=" 2.00 \
     "$(wl wal_limit_32MB 4) ms vs $(wl alone 4) ms, medians"
goal "writers' p99.9 (another table) at the default WAL limit vs alone" "$(ratio "$(wl wal_limit_32MB 5)" "$(wl alone 5)")" "<=" 3.00 \
     "$(wl wal_limit_32MB 5) ms vs $(wl alone 5) ms, medians"

# Writers on the backfilled table, windows on and off in turn: pooled.
AL="$OUT/alternating.txt"
al() { cell "$AL" "| $1 |" "$2"; }
goal "writers' p99 on the table, default backfill on vs paused (alternating)" "$(num "$(al ec_default 5)")" "<=" 2.00 \
     "pooled $(al ec_default 4) ms vs $(al ec_default 3) ms at $(al ec_default 2) rows/s; median of the rounds' ratios $(al ec_default 10)"
goal "writers' p99.9 on the table, default backfill on vs paused (alternating)" "$(num "$(al ec_default 8)")" "<=" 3.00 \
     "$(al ec_default 7) ms vs $(al ec_default 6) ms"
goal "default backfill rows/s vs pgroll-style batches (alternating)" "$(ratio "$(al ec_default 2)" "$(al pgroll 2)")" ">=" 2.00 \
     "$(al ec_default 2) vs $(al pgroll 2) rows/s while on"
goal "writers' p99 at pgroll-style rows/s: ours vs pgroll-style (alternating)" "$(ratio "$(al ec_pgroll_rate 4)" "$(al pgroll 4)")" "<=" 1.00 \
     "$(al ec_pgroll_rate 4) ms vs $(al pgroll 4) ms while on"

# --- the summary ----------------------------------------------------------------
{
    echo "# Performance summary: every benchmark, one run"
    echo
    echo "Generated by \`bash bench/all.sh$([ "$QUICK" = 1 ] && echo " --quick")\` on $(date -u +%Y-%m-%dT%H:%MZ) in $(( ($(date +%s) - START) / 60 )) minutes,"
    echo "repository commit \`$(git rev-parse --short HEAD)\`."
    [ "${#AGAIN[@]}" = 0 ] || echo "Only ${AGAIN[*]} ran in that time (\`--again\`); the other parts' numbers are those of the full run before it."
    echo
    echo "| machine | |"
    echo "|---|---|"
    echo "| CPU | $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), nproc = $(nproc) |"
    echo "| memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
    echo "| PostgreSQL | $(/usr/lib/postgresql/15/bin/postgres --version) |"
    echo "| kernel | $(uname -r) |"
    echo
    echo "## Issue 14's goals"
    echo
    echo "| goal | measured | goal | verdict | numbers |"
    echo "|---|---:|---:|---|---|"
    cat "$GOALS"
    echo
    [ -f "$OUT/summary.png" ] || true
    echo "![measured ratio against each goal](summary$([ "$QUICK" = 1 ] && echo _quick).png)"
    echo
    echo "## Write paths (bench/write_paths.sh)"
    echo
    sed -n '/^| statement | none/,$p' "$WP"
    echo
    echo "## Parallel backfill (bench/parallel_backfill.sh)"
    echo
    for size in 1M 10M; do
        grep '^|' "$OUT/parallel_$size.txt"
        echo
        grep '^start_backfill itself' "$OUT/parallel_$size.txt" && echo
    done
    echo "## Writers during a backfill (bench/writers_during_backfill.sh)"
    echo
    grep -B1 '^|' "$W" | grep -v '^--'
    echo
    echo "## Writers on another table at each WAL limit (bench/writers_wal_limits.sh)"
    echo
    echo "| window | p99 ms, median | p99.9 ms, median |"
    echo "|---|---:|---:|"
    for window in $(awk 'NR > 1 { print $1 }' "$WL" | awk '!seen[$0]++'); do
        echo "| $window | $(wl "$window" 4) | $(wl "$window" 5) |"
    done
    echo
    echo "## Writers on the backfilled table, windows on and off in turn (bench/writers_alternating.sh)"
    echo
    grep -B1 '^|' "$AL" | grep -v '^--'
    echo
    grep '^before the rounds, disk alone\|^after the rounds, disk alone' "$AL" | sed 's/$/  /' || true
    echo
    echo "## Bloat (bench/backfill_bloat.sh)"
    echo
    grep '^|' "$OUT/bloat.txt"
    echo
    echo "## UPDATE path, single-row writes, memory (bench/run.sh, full report: bench/report.md)"
    echo
    sed -n '/^## Headline/,/^!\[/p' "$RUN_MD" | grep '^|'
} > "$SUMMARY"

if command -v gnuplot >/dev/null; then
    awk -F'\t' '{ printf "%d\t\"%s\"\t%s\t%s\n", NR, $1, $2, $3 }' "$OUT/chart.tsv" > "$OUT/chart.dat"
    gnuplot <<GP
set terminal pngcairo size 1300,900 font ",9"
set output "${SUMMARY%.md}.png"
set title "Issue 14: measured ratio (bars) and goal (marks)"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -40 left
set bmargin 24
set rmargin 16
set grid ytics
plot "$OUT/chart.dat" using 1:3:xtic(2) with boxes title "measured", \
     "" using 1:4 with points pt 7 ps 1.2 title "goal"
GP
fi
cat "$SUMMARY"
log "done"
