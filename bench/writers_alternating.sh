#!/usr/bin/env bash
# writers_alternating.sh — fixed-rate writers' tail while a backfill runs,
# against the same writers while it is paused, in alternating windows of
# the same run. Report: bench/writers_during_backfill.md.
#
#   bash bench/writers_alternating.sh [--rows N] [--rounds N] [--rate TPS]
#                                     [--window SECONDS] [--variants LIST]
#                                     [--samples DIR]
#
# Why alternate: on a shared VM the writers' own p99 changes from one 5 s
# window to the next by more than a backfill changes it (one stall of a few
# hundred ms puts a few hundred late transactions into a window), so a
# "without" window before the run and a "during" window after it compare
# two different moments. Here one pgbench client writes single-row UPDATEs
# at a fixed rate (-R; its latency counts from the scheduled start, so a
# stall shows) to the table being backfilled for the whole run, and the
# backfill is paused and resumed every --window seconds: "on" and "off"
# windows take turns, so the machine's stalls fall on both alike. Each
# kind's transactions are pooled over the run (the first 0.6 s of a window,
# while the runner wakes or stops, belong to neither).
#
# One throwaway durable cluster (scripts/cluster.sh, EC_CLUSTER_DURABLE:
# writers wait for their commit flush; full-page images after the
# CHECKPOINT before each variant), the installed library, a bookings table
# of N rows with an expand_contract migration adding registered. Variants,
# in an order rotated by the round:
#   ec_default      start_backfill() with the default settings
#   ec_unthrottled  the same with backfill_max_wal_per_second = 0
#   ec_pgroll_rate  unthrottled but for backfill_max_rows_per_second = the
#                   rows/s pgroll-style batches reached in this round's
#                   pgroll variant (31000 if it did not run)
#   pgroll          pgroll-style batches (a copy of the table with pgroll's
#                   kind of PL/pgSQL trigger; 1000 rows by key per committed
#                   transaction), run for the on windows only
# Prints one line per variant and round: rows/s while on, then p50, p99 and
# p99.9 (ms) on and off, then the same over every round's pooled windows,
# with the stalls per second on and off (transactions that themselves took
# 20 ms or more: a stall of the disk or the VM falls on both kinds alike, a
# stall the backfill causes on "on" only), and the disk's own sync stalls
# measured alone before and after the rounds (bench/disk_stalls.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS=2000000
ROUNDS=3
RATE=1000
WINDOW=3
VARIANTS="pgroll ec_default ec_unthrottled ec_pgroll_rate"
SAMPLES=
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --window) WINDOW="$2"; shift 2 ;;
        --variants) VARIANTS="$2"; shift 2 ;;
        --samples) SAMPLES="$2"; shift 2 ;;   # keeps each transaction's window and latency there
        *) echo "usage: $0 [--rows N] [--rounds N] [--rate TPS] [--window SECONDS] [--variants LIST] [--samples DIR]" >&2; exit 2 ;;
    esac
done

EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54440 EC_CLUSTER_CONF="max_wal_size = '4GB'
checkpoint_timeout = '30min'" source scripts/cluster.sh >/dev/null
WORK="$(mktemp -d)"
chmod 777 "$WORK"
trap 'control_close; cat "$WORK/control.err" >&2 2>/dev/null; rm -rf "$WORK"; ec_cluster_stop >/dev/null 2>&1 || true' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# Pauses and resumes go through one psql kept open for the whole run: a new
# connection at each window change (a backend starting up, some 20 ms of
# CPU, while the runner holds one of the two cores) slowed the writer's
# commits for 100-200 ms at most changes.
CONTROL_PID=""
control_open() {
    coproc CONTROL { psql -X -q -At 2>>"$WORK/control.err"; }
    CONTROL_PID=$!
    # true, or false once the backfill is finished (55000: nothing to pause
    # or resume).
    cat >&"${CONTROL[1]}" <<'SQL'
CREATE FUNCTION pg_temp.control(action text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF action = 'pause' THEN
        PERFORM expand_contract.pause_backfill('ec');
    ELSE
        PERFORM expand_contract.resume_backfill('ec');
    END IF;
    RETURN true;
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RETURN false;
END $$;
SQL
}
control() {   # pause | resume: fails once the backfill is finished
    local reply
    echo "SELECT pg_temp.control('$1');" >&"${CONTROL[1]}"
    read -r -t 60 reply <&"${CONTROL[0]}" && [ "$reply" = t ]
}
control_close() {
    [ -n "$CONTROL_PID" ] || return 0
    kill "$CONTROL_PID" 2>/dev/null || true
    wait "$CONTROL_PID" 2>/dev/null || true
    CONTROL_PID=""
}
now_s() { date +%s.%N; }

q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION expand_contract;
CREATE SCHEMA ec;
CREATE SCHEMA pgroll;
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL);
INSERT INTO ec.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                               'studio ' || (g % 50) FROM generate_series(1, $ROWS) g;
CREATE TABLE pgroll.bookings AS SELECT id, status, studio FROM ec.bookings;
ALTER TABLE pgroll.bookings ADD PRIMARY KEY (id);
\i bench/pgroll_bookings.sql
-- pgroll's batch loop for one window: batches by key after \`last\` for
-- about \`seconds\`, each its own committed transaction; \`last\` = NULL
-- once no row is left.
CREATE PROCEDURE pgroll.batches_for(batch integer, seconds float8, INOUT last integer)
LANGUAGE plpgsql AS \$\$
DECLARE
    until timestamptz := clock_timestamp() + seconds * interval '1 second';
    n integer;
BEGIN
    WHILE clock_timestamp() < until LOOP
        WITH b AS (SELECT id FROM pgroll.bookings WHERE _pgroll_needs_backfill = true AND id > last
                    ORDER BY id LIMIT batch FOR NO KEY UPDATE),
             u AS (UPDATE pgroll.bookings SET id = pgroll.bookings.id FROM b
                    WHERE pgroll.bookings.id = b.id RETURNING pgroll.bookings.id)
        SELECT max(id) INTO n FROM u;
        IF n IS NULL THEN
            last := NULL;
            RETURN;
        END IF;
        last := n;
        COMMIT;
    END LOOP;
END \$\$;
VACUUM ANALYZE;
SQL
control_open

DOC='{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = '"''"'attended_registered'"''"'"}}]}'

# Windows of the current variant: "on|off start end" lines, in $WORK/windows.
window() { echo "$1 $(awk -v a="$2" 'BEGIN { printf "%.3f", a + 0.6 }') $3" >> "$WORK/windows"; }

run_ec() {   # settings
    local t on_seconds=0 t_on
    PGOPTIONS="-c client_min_messages=warning" q -c "SELECT FROM expand_contract.start('02_registered', '$DOC', 'ec')" >/dev/null
    t=$(now_s); sleep "$WINDOW"; window off "$t" "$(now_s)"
    t_on=$(now_s)
    PGOPTIONS="-c client_min_messages=warning $1" q -c "SELECT FROM expand_contract.start_backfill('ec')"
    # Nothing looks at the backfill during a window: a psql started then (a
    # connection costs a backend some 20 ms of CPU) competes with the writer
    # for the core the runner leaves, and stalled it for 20-50 ms every time
    # in an earlier version of this script. A finished backfill refuses the
    # pause or the resume at a window's end.
    while sleep "$WINDOW"; do
        t=$(now_s)
        # false (55000) when the backfill finished since the last look.
        control pause || break
        window on "$t_on" "$t"; on_seconds=$(awk -v s="$on_seconds" -v a="$t_on" -v b="$t" 'BEGIN { print s + b - a }')
        sleep "$WINDOW"
        t_on=$(now_s); window off "$t" "$t_on"
        # false (55000) when the backfill finished as it was asked to pause.
        control resume || break
    done
    t=$(now_s); window on "$t_on" "$t"; on_seconds=$(awk -v s="$on_seconds" -v a="$t_on" -v b="$t" 'BEGIN { print s + b - a }')
    [ "$(q -c "SELECT bool_and(done) FROM expand_contract.backfill_progress WHERE schema_name = 'ec'")" = t ] \
        || { echo "ec: backfill not done" >&2; exit 1; }
    ROWS_PER_S=$(awk -v r="$ROWS" -v s="$on_seconds" 'BEGIN { printf "%.0f", r / s }')
    PGOPTIONS="-c client_min_messages=warning" q -c "SELECT expand_contract.rollback('ec')" >/dev/null
    q -c "VACUUM ec.bookings" >/dev/null
}

# Marks every row of pgroll.bookings as needing the backfill again. Before
# the writers start: an UPDATE of every row holds its row locks for seconds,
# and the writers' backlog behind it would land in the first off window (it
# put 2-6 s into the off windows' p99 when this ran with the writers on).
reset_pgroll() {
    q -c "ALTER TABLE pgroll.bookings DISABLE TRIGGER sync" \
      -c "UPDATE pgroll.bookings SET _pgroll_needs_backfill = true, registered = NULL" \
      -c "ALTER TABLE pgroll.bookings ENABLE TRIGGER sync" -c "VACUUM pgroll.bookings" >/dev/null
}

run_pgroll() {
    local t last=0 on_seconds=0
    while :; do
        t=$(now_s); sleep "$WINDOW"; window off "$t" "$(now_s)"
        t=$(now_s)
        last=$(q -c "CALL pgroll.batches_for(1000, $WINDOW, $last)")
        window on "$t" "$(now_s)"; on_seconds=$(awk -v s="$on_seconds" -v a="$t" -v b="$(now_s)" 'BEGIN { print s + b - a }')
        [ -n "$last" ] || break
    done
    ROWS_PER_S=$(awk -v r="$ROWS" -v s="$on_seconds" 'BEGIN { printf "%.0f", r / s }')
    q -c "VACUUM pgroll.bookings" >/dev/null
}

# Runs a variant with the writers on its table; its transactions, labelled
# by the window they completed in, go to $WORK/split.<variant>.<round>.
measure() {   # variant round table settings
    local log="$WORK/lat" bench
    rm -f "$log".* "$WORK/windows"
    printf '\\set id random(1, %d)\nUPDATE %s SET studio = studio WHERE id = :id;\n' "$ROWS" "$3" > "$WORK/writer.sql"
    [ "$1" = pgroll ] && reset_pgroll
    q -c "CHECKPOINT"
    ( cd "$WORK" && pgbench -n -R "$RATE" -c 1 -T 3600 -l --log-prefix=lat -f writer.sql >/dev/null 2>&1 ) &
    bench=$!
    sleep 1
    if [ "$1" = pgroll ]; then run_pgroll; else run_ec "$4"; fi
    q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null
    wait "$bench" 2>/dev/null || true
    # pgbench -l: client tx time(us) script epoch_s epoch_us lag(us). Kept:
    # window, latency (from the scheduled start) and the transaction's own
    # execution (latency less the lag behind the schedule), in ms.
    cat "$log".* | awk -v windows="$WORK/windows" '
        BEGIN { while ((getline line < windows) > 0) { split(line, w, " "); n++; kind[n] = w[1]; from[n] = w[2]; to[n] = w[3] } }
        { t = $5 + $6 / 1e6
          for (i = 1; i <= n; i++) if (t >= from[i] && t < to[i]) { print kind[i], $3 / 1000.0, ($3 - $7) / 1000.0; break } }' \
        > "$WORK/split.$1.$2"
    if [ -n "$SAMPLES" ]; then
        mkdir -p "$SAMPLES"
        cp "$WORK/windows" "$SAMPLES/windows.$1.$2"
        cat "$log".* | sort -k5,5n -k6,6n > "$SAMPLES/pgbench.$1.$2"
    fi
}

percentile() {   # files... ; kind and p from KIND and P
    cat "$@" | awk -v k="$KIND" '$1 == k { print $2 }' | sort -n |
        awk -v p="$P" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * p); if (i < 1) i = 1; printf "%.2f", v[i] }'
}

stats() {   # files...
    local out="" kind p
    for kind in on off; do
        for p in 0.5 0.99 0.999; do out="$out $(KIND=$kind P=$p percentile "$@")"; done
    done
    echo "$out"
}

# Seconds of on and off windows: "on S off S".
windows_seconds() {
    awk '{ s[$1] += $3 - $2 } END { printf "on %.3f off %.3f\n", s["on"], s["off"] }' "$1"
}

# Stalls per second of each kind of window: transactions whose own
# execution took STALL_MS or more (one stall makes many late transactions,
# which the percentiles count; this counts it once).
STALL_MS=20
stalls() {   # variant
    cat "$WORK"/seconds."$1".* | awk '{ on += $2; off += $4 } END { print on, off }' > "$WORK/seconds"
    cat "$WORK"/split."$1".* | awk -v ms="$STALL_MS" -v secs="$WORK/seconds" '
        BEGIN { getline line < secs; split(line, s, " ") }
        $3 >= ms { n[$1]++ }
        END { printf "%.2f | %.2f", n["on"] / s[1], n["off"] / s[2] }'
}

# The disk's own stalls, before and after the rounds, with no cluster
# writing: each one, however caused, puts about RATE x its length late
# transactions into whatever window it falls on.
disk_stalls() {
    command -v python3 >/dev/null || { echo "disk alone: not measured (no python3)"; return; }
    python3 bench/disk_stalls.py --seconds 10 --dir "$WORK"
}
DISK_BEFORE="$(disk_stalls)"

echo "variant round rows_per_s_on p50_on p99_on p999_on p50_off p99_off p999_off"
for round in $(seq "$ROUNDS"); do
    pgroll_rps=31000
    order=()
    for v in $VARIANTS; do [ "$v" = pgroll ] && order+=("$v"); done   # first: its rate is ec_pgroll_rate's
    ours=()
    for v in $VARIANTS; do [ "$v" = pgroll ] || ours+=("$v"); done
    for i in "${!ours[@]}"; do order+=("${ours[$(( (i + round - 1) % ${#ours[@]} ))]}"); done
    for variant in "${order[@]}"; do
        case "$variant" in
            pgroll) measure pgroll "$round" pgroll.bookings "" ;;
            ec_default) measure "$variant" "$round" ec.bookings "" ;;
            ec_unthrottled) measure "$variant" "$round" ec.bookings "-c expand_contract.backfill_max_wal_per_second=0" ;;
            ec_pgroll_rate) measure "$variant" "$round" ec.bookings \
                "-c expand_contract.backfill_max_wal_per_second=0 -c expand_contract.backfill_max_rows_per_second=$pgroll_rps" ;;
            *) echo "unknown variant $variant" >&2; exit 2 ;;
        esac
        [ "$variant" = pgroll ] && pgroll_rps=$ROWS_PER_S
        echo "$ROWS_PER_S" > "$WORK/rate.$variant.$round"
        windows_seconds "$WORK/windows" > "$WORK/seconds.$variant.$round"
        echo "$variant $round $ROWS_PER_S$(stats "$WORK/split.$variant.$round")" | tee -a "$WORK/lines"
    done
done

DISK_AFTER="$(disk_stalls)"

echo
echo "before the rounds, $DISK_BEFORE"
echo "after the rounds, $DISK_AFTER"
echo
echo "pooled over $ROUNDS rounds ($ROWS rows, writers at $RATE/s, ${WINDOW} s windows; ms):"
echo "| variant | rows/s on (median) | p99 off | p99 on | p99 on/off | p99.9 off | p99.9 on | p99.9 on/off | transactions on / off | p99 on/off, median of rounds | stalls/s on | stalls/s off |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for variant in $VARIANTS; do
    read -r _ p99_on p999_on _ p99_off p999_off <<<"$(stats "$WORK"/split."$variant".*)"
    rate=$(cat "$WORK"/rate."$variant".* | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    n_on=$(cat "$WORK"/split."$variant".* | awk '$1 == "on"' | wc -l)
    n_off=$(cat "$WORK"/split."$variant".* | awk '$1 == "off"' | wc -l)
    # One stall of the VM (hundreds of ms, on and off alike) can decide a
    # pooled percentile; the median of the rounds' own ratios is steadier.
    by_round=$(awk -v v="$variant" '$1 == v && $2 ~ /^[0-9]+$/ { printf "%.4f\n", $5 / $8 }' "$WORK/lines" | sort -n |
        awk '{ a[NR] = $1 } END { printf "%.2fx", a[int((NR + 1) / 2)] }')
    echo "| $variant | $rate | $p99_off | $p99_on | $(awk -v a="$p99_on" -v b="$p99_off" 'BEGIN { printf "%.2fx", a / b }') | $p999_off | $p999_on | $(awk -v a="$p999_on" -v b="$p999_off" 'BEGIN { printf "%.2fx", a / b }') | $n_on / $n_off | $by_round | $(stalls "$variant") |"
done
