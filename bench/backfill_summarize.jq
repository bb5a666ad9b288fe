# bench/backfill_summarize.jq — turns the raw measurements of bench/backfill.sh
# into backfill_results.json. Inputs (jq --rawfile / --argjson): runs, latency,
# latency_pooled, cpu (TSV text); settings, params, machine, run.

def tsv($text): $text | split("\n") | map(select(length > 0) | split("\t"));
def num: if . == null or . == "" or . == "null" then null else tonumber end;
def median: sort | if length == 0 then null
                   elif length % 2 == 1 then .[(length - 1) / 2]
                   else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def round_to($n): if . == null then null else (. * pow(10; $n) | round) / pow(10; $n) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;

def descriptions: {
  "floor": "one UPDATE bookings SET registered = (status = 'attended_registered') on a plain table that has the column: no migration, no trigger",
  "ec": "expand_contract.start(add_column registered, up: status = 'attended_registered') untimed, then CALL expand_contract.run_backfill(schema) (adaptive batches)",
  "pgroll": "pgroll emulated: _pgroll_needs_backfill flag + PL/pgSQL up trigger, keyset batches of \($params.pgroll_batch) rows sent by a client, one transaction each"
};

(tsv($runs) | map({size: .[0], rows: (.[1] | num), variant: .[2], round: (.[3] | num), seconds: ((.[4] | num) / 1000),
                   batches: (.[5] | num), mismatches: (.[6] | num), rows_left: (.[7] | num), setup_seconds: (.[8] | num),
                   heap_bytes_before: (.[9] | num), heap_bytes_after: (.[10] | num), total_bytes_after: (.[11] | num)})) as $runs_rows
| def size_summary($size; $names):
    ($runs_rows | map(select(.size == $size))) as $rs
    | if ($rs | length) == 0 then null else
      ($rs[0].rows) as $n
      | ($names | map(. as $v | {key: $v, value: ($rs | map(select(.variant == $v) | .seconds) | median)}) | from_entries) as $med
      | {
          rows: $n,
          variants: [ $names[] as $v | ($rs | map(select(.variant == $v))) as $vr | select(($vr | length) > 0)
            | {
                variant: $v,
                description: descriptions[$v],
                rounds_seconds: ($vr | sort_by(.round) | map(.seconds | round_to(4))),
                median_seconds: ($med[$v] | round_to(4)),
                min_seconds: ($vr | map(.seconds) | min | round_to(4)),
                max_seconds: ($vr | map(.seconds) | max | round_to(4)),
                us_per_row: (if $med[$v] == null then null else ($med[$v] * 1000000 / $n) | round_to(3) end),
                rows_per_second: (if $med[$v] == null or $med[$v] == 0 then null else ($n / $med[$v]) | round end),
                ratio_to_floor: (ratio($med[$v]; $med["floor"]) | round_to(4)),
                batches: ($vr | map(.batches) | median),
                batches_per_round: ($vr | sort_by(.round) | map(.batches)),
                mean_batch_ms: (if $med[$v] == null or (($vr | map(.batches) | median) // 0) == 0 then null
                                else ($med[$v] * 1000 / ($vr | map(.batches) | median)) | round_to(2) end),
                mismatches: ($vr | map(.mismatches) | add),
                rows_left: ($vr | map(.rows_left) | add),
                setup_seconds_median: ($vr | map(.setup_seconds) | median),
                heap_bytes_before: ($vr | map(.heap_bytes_before) | median),
                heap_bytes_after: ($vr | map(.heap_bytes_after) | median),
                total_bytes_after: ($vr | map(.total_bytes_after) | median)
              } ]
        } end;
  {rows: size_summary("rows"; ["floor", "ec", "pgroll"]), large: size_summary("large"; ["floor", "ec", "pgroll"])} as $sizes
| def vget($size; $v): ($sizes[$size].variants // []) | map(select(.variant == $v)) | first;
  (vget("rows"; "ec")) as $ec
| (vget("rows"; "floor")) as $floor
| (vget("rows"; "pgroll")) as $pgroll
| (vget("large"; "ec")) as $ec_large

# --- linearity ------------------------------------------------------------------
| {
    rows: $params.rows,
    large_rows: (if $params.large_rows > 0 then $params.large_rows else null end),
    by_variant: [ ("ec", "floor") as $v | vget("rows"; $v) as $a | vget("large"; $v) as $b | select($a != null)
      | {variant: $v, us_per_row_rows: $a.us_per_row, us_per_row_large: ($b.us_per_row // null),
         ratio: (ratio($b.us_per_row // null; $a.us_per_row) | round_to(4)),
         batches_rows: $a.batches, batches_large: ($b.batches // null)} ]
  } as $linearity

# --- latency --------------------------------------------------------------------
| def stats($f; $o): {n: ($f[$o] | num), "p50": ($f[$o + 1] | num), "p90": ($f[$o + 2] | num), "p99": ($f[$o + 3] | num),
                      "p99.9": ($f[$o + 4] | num), max: ($f[$o + 5] | num), mean: ($f[$o + 6] | num),
                      over_1ms: ($f[$o + 7] | num), over_10ms: ($f[$o + 8] | num), us_in_over_10ms: ($f[$o + 9] | num)};
  def phase_name: if . == "a" then "without" else "during" end;
  (tsv($latency) | map(. as $f | {mode: $f[0], round: ($f[1] | num), phase: ($f[2] | phase_name),
                                  window_seconds: (($f[3] | num) / 1000 | round_to(3)),
                                  backfill_seconds: (if ($f[4] | num) == null then null else (($f[4] | num) / 1000 | round_to(3)) end),
                                  backfill_batches: ($f[5] | num), pgbench_outlasted_window: ($f[6] == "true"),
                                  transactions_logged: ($f[7] | num), failed: ($f[8] | num)} + stats($f; 9)
                              | . + {tps_in_window: (if .window_seconds > 0 then (.n / .window_seconds | round_to(1)) else null end)})) as $lat_rounds
| (tsv($latency_pooled) | map(. as $f | {mode: $f[0], phase: ($f[1] | phase_name), stats: stats($f; 2)})) as $lat_pooled
| def mode_summary($m):
    ($lat_rounds | map(select(.mode == $m))) as $rs
    | if ($rs | length) == 0 then null else
      ($lat_pooled | map(select(.mode == $m)) | map({key: .phase, value: .stats}) | from_entries) as $p
      | ($rs | map(select(.phase == "without") | .window_seconds) | add) as $wa
      | ($rs | map(select(.phase == "during") | .window_seconds) | add) as $wb
      | {
          mode: $m,
          pgbench_rate: (if $m == "rate" then $params.writer_rate else null end),
          rounds: $rs,
          pooled: ($p + {without: ($p.without + {window_seconds: $wa, tps_in_window: (ratio($p.without.n; $wa) | round_to(1)),
                                                 share_of_time_in_over_10ms: (if $m == "closed" then ratio(($p.without.us_in_over_10ms // 0) / 1000000; $wa) | round_to(4) else null end)}),
                         during: ($p.during + {window_seconds: $wb, tps_in_window: (ratio($p.during.n; $wb) | round_to(1)),
                                               share_of_time_in_over_10ms: (if $m == "closed" then ratio(($p.during.us_in_over_10ms // 0) / 1000000; $wb) | round_to(4) else null end)})}),
          p99_ratio: (ratio($p.during.p99; $p.without.p99) | round_to(3)),
          p50_ratio: (ratio($p.during.p50; $p.without.p50) | round_to(3)),
          p99_ratio_per_round: [ $rs | group_by(.round)[] | (map(select(.phase == "without")) | first) as $a
                                 | (map(select(.phase == "during")) | first) as $b | ratio($b.p99; $a.p99) | round_to(3) ],
          share_over_1ms: {without: (ratio($p.without.over_1ms; $p.without.n) | round_to(5)),
                           during: (ratio($p.during.over_1ms; $p.during.n) | round_to(5))},
          share_over_10ms: {without: (ratio($p.without.over_10ms; $p.without.n) | round_to(5)),
                            during: (ratio($p.during.over_10ms; $p.during.n) | round_to(5))},
          backfill_seconds_during: ($rs | map(select(.phase == "during") | .backfill_seconds)),
          backfill_batches_during: ($rs | map(select(.phase == "during") | .backfill_batches)),
          all_windows_covered: ($rs | map(select(.phase == "during") | .pgbench_outlasted_window) | all)
        } end;
  (if ($lat_rounds | length) == 0 then null else {
    writer: $params.writer,
    closed: mode_summary("closed"),
    rate: mode_summary("rate"),
    all_windows_covered: ($lat_rounds | map(select(.phase == "during") | .pgbench_outlasted_window) | all)
  } end) as $latency

# --- targets --------------------------------------------------------------------
| def target($id; $what; $goal; $value; $met; $detail):
    {id: $id, target: $what, goal: $goal, value: $value, met: $met, detail: $detail};
[
  target("ec_vs_floor"; "run_backfill vs one UPDATE of a plain table (\($params.rows) rows)"; "<= 1.30x";
         ($ec.ratio_to_floor // null);
         (if ($ec.ratio_to_floor // null) == null then null else $ec.ratio_to_floor <= 1.30 end);
         "median \($ec.median_seconds // "n/a") s (\($ec.batches // "n/a") batches) vs \($floor.median_seconds // "n/a") s"),
  target("pgroll_vs_ec"; "pgroll-style client batches vs run_backfill (\($params.rows) rows)"; ">= 2.00x";
         (ratio($pgroll.median_seconds // null; $ec.median_seconds // null) | round_to(4));
         (ratio($pgroll.median_seconds // null; $ec.median_seconds // null) as $r | if $r == null then null else $r >= 2 end);
         "median \($pgroll.median_seconds // "n/a") s (\($pgroll.batches // "n/a") batches of \($params.pgroll_batch)) vs \($ec.median_seconds // "n/a") s"),
  ($linearity.by_variant | map(select(.variant == "ec")) | first) as $lin
  | target("linearity"; (if $params.large_rows > 0 then "run_backfill time per row, \($params.large_rows) vs \($params.rows) rows" else "run_backfill time per row, --large-rows vs \($params.rows) rows" end); "<= 1.20x";
         ($lin.ratio // null);
         (if ($lin.ratio // null) == null then null else $lin.ratio <= 1.20 end);
         (if $lin.us_per_row_large == null then "not measured (--large-rows 0)"
          else "\($lin.us_per_row_large) vs \($lin.us_per_row_rows) µs/row (\($ec_large.median_seconds) s vs \($ec.median_seconds) s)" +
               (($linearity.by_variant | map(select(.variant == "floor")) | first) as $fl
                | if ($fl.ratio // null) == null then "" else "; the floor UPDATE's own ratio: \($fl.ratio | round_to(3))x" end) end)),
  ((["closed", "writer_p99", "single-row UPDATE p99 during run_backfill vs without (pgbench closed loop, -c 1)"],
    ["rate", "writer_p99_fixed_rate", "single-row UPDATE p99 during run_backfill vs without (pgbench -R \($params.writer_rate), -c 1)"])
   | . as [$m, $id, $what]
   | ($latency[$m] // null) as $l
   | select($m == "closed" or $l != null)
   | target($id; $what; "<= 2.00x";
         ($l.p99_ratio // null);
         (if ($l.p99_ratio // null) == null then null else $l.p99_ratio <= 2 end);
         (if $l == null then "not measured (--latency-rounds 0)"
          else "p99 \($l.pooled.during.p99 / 1000 | round_to(3)) ms during vs \($l.pooled.without.p99 / 1000 | round_to(3)) ms without; p99.9 \($l.pooled.during["p99.9"] / 1000 | round_to(3)) vs \($l.pooled.without["p99.9"] / 1000 | round_to(3)) ms; \($l.pooled.during.n) vs \($l.pooled.without.n) transactions (\($l.pooled.during.tps_in_window | round) vs \($l.pooled.without.tps_in_window | round) per s)" end)))
] as $targets

| (tsv($cpu) | map({phase: .[0], wall_seconds: (.[1] | tonumber | round_to(1)), busy_cpu_seconds: (.[2] | tonumber | round_to(1)),
                     steal_cpu_seconds: (.[3] | tonumber | round_to(1)), server_cpu_seconds: (.[4] | tonumber | round_to(1)),
                     client_cpu_seconds: (.[5] | tonumber | round_to(1)), other_cpu_seconds: (.[6] | tonumber | round_to(1))}
                | . + {other_share_of_machine: (if .wall_seconds > 0 then (.other_cpu_seconds / (.wall_seconds * $machine.nproc)) | round_to(3) else null end)})) as $cpu_phases
| ($cpu_phases | map(select((.other_share_of_machine // 0) > 0.10))) as $disturbed
| {
    benchmark: "expand_contract issue 4: the backfill engine (run_backfill) vs a plain UPDATE and pgroll-style batches; linearity; writer latency",
    params: $params,
    machine: $machine,
    settings: $settings,
    run: $run,
    sizes: $sizes,
    linearity: $linearity,
    latency: $latency,
    targets: $targets,
    cpu_by_phase: $cpu_phases,
    disturbed_phases: $disturbed,
    runs: $runs_rows,
    valid: (($runs_rows | map(.mismatches == 0 and .rows_left == 0) | all)
            and ($machine.library_sha256 == $machine.library_sha256_end)
            and (($latency // {all_windows_covered: true}).all_windows_covered)
            and ((($latency.closed.rounds // []) + ($latency.rate.rounds // [])) | map((.failed // 0) == 0) | all))
  }
