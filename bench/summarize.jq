# bench/summarize.jq — turns the raw measurements of bench/run.sh into
# results.json. Inputs (jq --rawfile / --slurpfile / --argjson): bulk, pgbench, memory,
# check_setup, check_bulk, sizes, cpu, pgbench_checkpoints (TSV text); settings, params, machine, run.

def tsv($text): $text | split("\n") | map(select(length > 0) | split("\t"));
def median: sort | if length == 0 then null
                   elif length % 2 == 1 then .[(length - 1) / 2]
                   else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def mean: if length == 0 then null else add / length end;
def round_to($n): if . == null then null else (. * pow(10; $n) | round) / pow(10; $n) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;

def descriptions: {
  "none": "no trigger: registered boolean present, nothing computes it",
  "ec": "expand_contract: open migration adding registered (up: status = 'attended_registered'), kept in sync by the extension, backfilled",
  "plpgsql": "PL/pgSQL BEFORE ROW trigger in pgroll's style (NEW copied into locals, search_path check)",
  "generated": "registered boolean GENERATED ALWAYS AS (status = 'attended_registered') STORED",
  "floor": "reference, not one of the four: built-in C trigger suppress_redundant_updates_trigger() BEFORE UPDATE FOR EACH ROW, computes nothing (the least any row trigger costs)"
};

(tsv($bulk) | map({variant: .[0], round: (.[1] | tonumber), seconds: ((.[2] | tonumber) / 1000)})) as $bulk_rows
| (tsv($pgbench) | map({kind: .[0], variant: .[1], segment: (.[2] | tonumber), seconds: (.[3] | tonumber),
                         xacts: (.[4] | tonumber), tps: (.[5] | tonumber), failed: (.[6] | tonumber),
                         server_cpu_seconds: (.[7] | tonumber)})) as $pgb_rows
| (tsv($check_setup) | map({key: .[0], value: (.[1] | tonumber)}) | from_entries) as $mismatch_setup
| (tsv($check_bulk) | map({key: .[0], value: (.[1] | tonumber)}) | from_entries) as $mismatch_bulk
| (tsv($sizes) | map({key: (.[0] | ltrimstr("v_")), value: {heap: (.[1] | tonumber), total: (.[2] | tonumber)}}) | from_entries) as $size
| ["none", "ec", "plpgsql", "generated", "floor"] as $names
| ($names | map(. as $v | {key: $v, value: ($bulk_rows | map(select(.variant == $v) | .seconds) | median)}) | from_entries) as $bulk_median
| def pgb($kind; $v): ($pgb_rows | map(select(.kind == $kind and .variant == $v)));
  def pgb_tps($kind; $v): (pgb($kind; $v) | map(.tps) | mean);
  # relative standard error of the mean TPS (sample sd / mean / sqrt(n))
  def pgb_rse($kind; $v): (pgb($kind; $v) | map(.tps)
                           | if length < 2 then null
                             else (add / length) as $m | (map((. - $m) * (. - $m)) | add / (length - 1) | sqrt) / $m / (length | sqrt) end);
  # server CPU (all cluster processes) per transaction, microseconds
  def pgb_cpu($kind; $v): (pgb($kind; $v) | if length == 0 then null
                           else (map(.server_cpu_seconds) | add) / (map(.xacts) | add) * 1000000 end);
  def ratio_ci($kind; $v): (ratio(pgb_tps($kind; $v); pgb_tps($kind; "none"))) as $r
                           | (pgb_rse($kind; $v)) as $a | (pgb_rse($kind; "none")) as $b
                           | if $r == null or $a == null or $b == null then null
                             else (($a * $a + $b * $b) | sqrt) as $e | [($r * (1 - 2 * $e)) | round_to(3), ($r * (1 + 2 * $e)) | round_to(3)] end;

# --- variants ---------------------------------------------------------------------
[ $names[] as $v
  | {
      variant: $v,
      schema: ("v_" + $v),
      description: descriptions[$v],
      reference: ($v == "floor"),
      heap_bytes: $size[$v].heap,
      total_bytes: $size[$v].total,
      sync_mismatches_after_setup: $mismatch_setup[$v],
      sync_mismatches_after_bulk: $mismatch_bulk[$v],
      bulk_update: {
        rounds_seconds: ($bulk_rows | map(select(.variant == $v)) | sort_by(.round) | map(.seconds | round_to(4))),
        median_seconds: ($bulk_median[$v] | round_to(4)),
        min_seconds: ($bulk_rows | map(select(.variant == $v) | .seconds) | min | round_to(4)),
        max_seconds: ($bulk_rows | map(select(.variant == $v) | .seconds) | max | round_to(4)),
        ratio_to_none: (ratio($bulk_median[$v]; $bulk_median["none"]) | round_to(4)),
        ratio_to_generated: (ratio($bulk_median[$v]; $bulk_median["generated"]) | round_to(4)),
        overhead_seconds: (if $bulk_median[$v] == null then null else ($bulk_median[$v] - $bulk_median["none"]) | round_to(4) end)
      },
      pgbench: (["update", "insert"] | map(. as $k | {key: $k, value: {
        segments_tps: (pgb($k; $v) | sort_by(.segment) | map(.tps | round_to(1))),
        tps: (pgb_tps($k; $v) | round_to(1)),
        transactions: (pgb($k; $v) | map(.xacts) | add),
        failed: (pgb($k; $v) | map(.failed) | add),
        ratio_to_none: (ratio(pgb_tps($k; $v); pgb_tps($k; "none")) | round_to(4)),
        ratio_to_none_approx_95ci: ratio_ci($k; $v),
        tps_segment_cv: (pgb_rse($k; $v) | if . == null then null else . * ((pgb($k; $v) | length) | sqrt) | round_to(3) end),
        server_cpu_us_per_transaction: (pgb_cpu($k; $v) | round_to(2)),
        server_cpu_per_transaction_ratio_to_none: (ratio(pgb_cpu($k; $v); pgb_cpu($k; "none")) | round_to(4))
      }}) | from_entries)
    }
] as $variants

# --- memory -----------------------------------------------------------------------
| def memory_stats:
    . as $m
    | (tsv($m.samples) | map(map(tonumber) | {t: .[0], rss_kb: .[1], hwm_kb: .[2], anon_kb: .[3], shmem_kb: .[4]})) as $samples
    | $m.update_start as $u0
    | $m.update_end as $u1
    | ($samples | map(select(.t < $u0)) | last) as $before
    | ($samples | map(select(.t >= $u0 and .t <= $u1))) as $during
    | ($samples | map(select(.t > $u1)) | first) as $after
    | (if ($during | length) == 0 then null
       else ($during | map(select(.t >= $u0 + 0.1 * ($u1 - $u0))) | first) end) as $at10
    | (if ($during | length) == 0 then null else ($during | max_by(.anon_kb)) end) as $peak
    | ($during | last) as $endsample
    | (if $at10 == null or $peak == null then null else $peak.anon_kb - $at10.anon_kb end) as $growth
    | def at($s): if $s == null then null else $s + {seconds_into_update: (($s.t - $u0) | round_to(2))} | del(.t) end;
    {
      variant: $m.variant,
      rows: $m.rows,
      table_heap_bytes: $m.table_heap_bytes,
      update_seconds: ($m.update_ms / 1000 | round_to(2)),
      samples_total: ($samples | length),
      samples_during_update: ($during | length),
      start: at($before), at_10_percent: at($at10), peak: at($peak), end: at($endsample), after: at($after),
      private_growth_after_10_percent_kb: $growth,
      private_growth_start_to_peak_kb: (if $before == null or $peak == null then null else $peak.anon_kb - $before.anon_kb end),
      hwm_growth_minus_shmem_growth_kb: (if $before == null or $endsample == null then null
                                          else ($endsample.hwm_kb - $before.hwm_kb) - ($endsample.shmem_kb - $before.shmem_kb) end),
      bytes_per_row_after_10_percent: (if $growth == null then null
                                       else ($growth * 1024 / ($m.rows * 0.9)) | round_to(2) end),
      # fewer than 5 samples in the UPDATE cannot show a trend
      flat: (if $growth == null or ($during | length) < 5 then null else $growth <= $params.flat_limit_kb end)
    };
  ($memory[0] | map(memory_stats)) as $memory_runs
| ($memory_runs | map({key: .variant, value: .}) | from_entries) as $mem
| (if ($memory_runs | length) == 0 then null else {
    rows: $params.memory_rows,
    flat_limit_kb: $params.flat_limit_kb,
    method: "RssAnon (private anonymous memory) of the UPDATE's backend, read from /proc/<pid>/status every \($params.sample_interval) s. VmRSS/VmHWM also count the shared buffers the backend touched (RssShmem), so they grow with the table whether or not anything leaks.",
    runs: $memory_runs,
    extension_growth_minus_plpgsql_kb: (if $mem.ec.private_growth_after_10_percent_kb == null or $mem.plpgsql.private_growth_after_10_percent_kb == null then null
                                        else $mem.ec.private_growth_after_10_percent_kb - $mem.plpgsql.private_growth_after_10_percent_kb end)
  } end) as $memory

# --- targets ----------------------------------------------------------------------
| ($variants | map({key: .variant, value: .}) | from_entries) as $by
| ($by.ec.bulk_update.overhead_seconds) as $ec_over
| ($by.plpgsql.bulk_update.overhead_seconds) as $pl_over
| ($by.floor.bulk_update.overhead_seconds) as $floor_over
| def target($id; $what; $goal; $value; $met; $detail):
    {id: $id, target: $what, goal: $goal, value: $value, met: $met, detail: $detail};
[
  target("bulk_vs_none"; "bulk UPDATE inside a migration vs no trigger"; "<= 1.10x";
         $by.ec.bulk_update.ratio_to_none;
         (if $by.ec.bulk_update.ratio_to_none == null then null else $by.ec.bulk_update.ratio_to_none <= 1.10 end);
         "median \($by.ec.bulk_update.median_seconds) s vs \($by.none.bulk_update.median_seconds) s; a built-in C trigger that computes nothing: \($by.floor.bulk_update.ratio_to_none // "n/a")x"),
  target("bulk_vs_generated"; "bulk UPDATE inside a migration vs stored generated column"; "<= 1.05x";
         $by.ec.bulk_update.ratio_to_generated;
         (if $by.ec.bulk_update.ratio_to_generated == null then null else $by.ec.bulk_update.ratio_to_generated <= 1.05 end);
         "median \($by.ec.bulk_update.median_seconds) s vs \($by.generated.bulk_update.median_seconds) s"),
  ((["update", "UPDATE"], ["insert", "INSERT"]) as [$k, $K]
  | $by.ec.pgbench[$k] as $e | $by.none.pgbench[$k] as $n
  | target("single_row_\($k)"; "single-row \($K) throughput vs no trigger"; ">= 0.95x";
         $e.ratio_to_none;
         (if $e.ratio_to_none == null then null else $e.ratio_to_none >= 0.95 end);
         "\($e.tps | round_to(0)) vs \($n.tps | round_to(0)) TPS" +
         (if $e.ratio_to_none_approx_95ci == null then ""
          else "; approx. 95% interval \($e.ratio_to_none_approx_95ci[0])–\($e.ratio_to_none_approx_95ci[1])x" +
               (if $e.ratio_to_none_approx_95ci[0] >= 0.95 or $e.ratio_to_none_approx_95ci[1] < 0.95 then " (conclusive)" else " (not conclusive: the interval contains 0.95)" end) end) +
         (if $e.server_cpu_per_transaction_ratio_to_none == null then ""
          else "; server CPU per transaction \($e.server_cpu_per_transaction_ratio_to_none | round_to(3))x no trigger's" end))),
  target("plpgsql_overhead"; "PL/pgSQL trigger overhead (time minus no-trigger) vs ours, bulk UPDATE"; ">= 10x";
         (if $ec_over == null or $pl_over == null or $ec_over <= 0 then null else ($pl_over / $ec_over) | round_to(2) end);
         (if $ec_over == null or $pl_over == null then null
          elif $ec_over <= 0 then ($pl_over > 0)
          else ($pl_over / $ec_over) >= 10 end);
         (if $ec_over != null and $ec_over <= 0
          then "ours \($ec_over) s (not measurably above no trigger), PL/pgSQL +\($pl_over) s"
          else "PL/pgSQL +\($pl_over) s, ours +\($ec_over) s over \($by.none.bulk_update.median_seconds) s" end)),
  target("memory_flat"; "backend private memory flat over a \($params.memory_rows)-row UPDATE inside a migration"; "RssAnon growth after the first 10% <= \($params.flat_limit_kb) kB";
         $mem.ec.private_growth_after_10_percent_kb;
         $mem.ec.flat;
         (if $mem.ec == null then "not measured"
          else "RssAnon \($mem.ec.start.anon_kb // "?") kB before, \($mem.ec.at_10_percent.anon_kb // "?") kB at 10%, peak \($mem.ec.peak.anon_kb // "?") kB (\($mem.ec.bytes_per_row_after_10_percent // "?") B/row); same UPDATE with the PL/pgSQL trigger: +\($mem.plpgsql.private_growth_after_10_percent_kb // "?") kB, with the built-in C trigger (floor): +\($mem.floor.private_growth_after_10_percent_kb // "?") kB, no trigger: +\($mem.none.private_growth_after_10_percent_kb // "?") kB" end))
] as $targets

| (tsv($cpu) | map({phase: .[0], wall_seconds: (.[1] | tonumber | round_to(1)), busy_cpu_seconds: (.[2] | tonumber | round_to(1)),
                     steal_cpu_seconds: (.[3] | tonumber | round_to(1)), server_cpu_seconds: (.[4] | tonumber | round_to(1)),
                     client_cpu_seconds: (.[5] | tonumber | round_to(1)), other_cpu_seconds: (.[6] | tonumber | round_to(1))}
                | . + {other_share_of_machine: (if .wall_seconds > 0 then (.other_cpu_seconds / (.wall_seconds * $machine.nproc)) | round_to(3) else null end)})) as $cpu_phases
| {
    benchmark: "expand_contract issue 3: the cost of keeping a new column in sync",
    cpu_by_phase: $cpu_phases,
    pgbench_checkpoints_during_timed_segments: (tsv($pgbench_checkpoints) | map({key: .[0], value: (.[1] | tonumber)}) | from_entries),
    params: $params,
    machine: $machine,
    settings: $settings,
    run: $run,
    backfill: {seconds: (($run.backfill_ms / 1000) | round_to(2)), rows: $params.rows},
    variants: $variants,
    memory: $memory,
    targets: $targets,
    trigger_floor: {
      bulk_ratio_to_none: $by.floor.bulk_update.ratio_to_none,
      bulk_overhead_seconds: $floor_over,
      share_of_ec_overhead: (if $floor_over == null or $ec_over == null or $ec_over <= 0 then null else ($floor_over / $ec_over) | round_to(3) end),
      ec_overhead_above_floor_seconds: (if $floor_over == null or $ec_over == null then null else ($ec_over - $floor_over) | round_to(4) end),
      plpgsql_overhead_above_floor_seconds: (if $floor_over == null or $pl_over == null then null else ($pl_over - $floor_over) | round_to(4) end)
    },
    valid: (($variants | map(select(.variant == "ec" or .variant == "plpgsql" or .variant == "generated")
                               | (.sync_mismatches_after_setup == 0 and .sync_mismatches_after_bulk == 0)) | all)
            and ($machine.library_sha256 == $machine.library_sha256_end)
            and ($variants | map(.pgbench[] | (.failed // 0) == 0) | all))
  }
