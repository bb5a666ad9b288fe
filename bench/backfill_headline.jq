# bench/backfill_headline.jq — the headline tables of backfill_results.json,
# printed by bench/backfill.sh and repeated at the top of backfill_report.md.
def f($n): if . == null then "n/a" else
    (. * pow(10; $n) | round) as $i | ($i | fabs) as $a | pow(10; $n) as $p
    | (if $i < 0 then "-" else "" end) + (($a / $p) | floor | tostring)
      + (if $n > 0 then "." + (($a % $p) | tostring | . as $fr | (if ($n - ($fr | length)) > 0 then "0" * ($n - ($fr | length)) else "" end) + $fr) else "" end)
  end;
def x: if . == null then "n/a" else (f(2) + "x") end;
def ms: if . == null then "n/a" else (. / 1000 | f(3)) end;
def verdict: if .met == true then "PASS" elif .met == false then "FAIL" else "n/a" end;

"\(.params.rows) rows (\(.params.rounds) rounds), \(.params.large_rows) rows (\(.params.large_rounds) rounds), writer latency \(.params.latency_rounds) rounds\(if .params.quick then "  [QUICK smoke run]" else "" end)",
(if (.disturbed_phases | length) > 0 then "WARNING: other processes used the machine during: " + (.disturbed_phases | map("\(.phase) (\(.other_share_of_machine * 100 | f(0))%)") | join(", ")) else empty end),
"",
"| table | variant | median (s) | µs per row | ratio to floor | batches |",
"|---|---|---:|---:|---:|---:|",
((.sizes.rows, .sizes.large) | select(. != null) | .rows as $n | .variants[] |
  "| \($n) rows | \(.variant) | \(.median_seconds | f(3)) | \(.us_per_row | f(3)) | \(.ratio_to_floor | x) | \(.batches // "n/a") |"),
"",
(if .latency == null then "Writer latency: not measured." else
 "| writer (pgbench -c 1 -j 1, \(.latency.writer) version) | transactions | per s | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | max (ms) |",
 "|---|---:|---:|---:|---:|---:|---:|---:|",
 (.latency.closed, .latency.rate | select(. != null) | . as $l
  | (if $l.mode == "closed" then "closed loop" else "fixed rate -R \($l.pgbench_rate)" end) as $name
  | (["no backfill running", $l.pooled.without], ["during run_backfill", $l.pooled.during]) as [$when, $s]
  | "| \($name), \($when) | \($s.n) | \($s.tps_in_window | f(0)) | \($s.p50 | ms) | \($s.p90 | ms) | \($s.p99 | ms) | \($s["p99.9"] | ms) | \($s.max | ms) |")
 end),
"",
"| target | goal | measured | verdict |",
"|---|---|---:|---|",
(.targets[] | "| \(.target) | \(.goal) | \(.value | x) | **\(verdict)** (\(.detail)) |")
