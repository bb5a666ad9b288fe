# bench/headline.jq — the headline table of results.json, printed by bench/run.sh
# and repeated at the top of report.md.
def f($n): if . == null then "n/a" else
    (. * pow(10; $n) | round) as $i | ($i | fabs) as $a | pow(10; $n) as $p
    | (if $i < 0 then "-" else "" end) + (($a / $p) | floor | tostring)
      + (if $n > 0 then "." + (($a % $p) | tostring | . as $fr | (if ($n - ($fr | length)) > 0 then "0" * ($n - ($fr | length)) else "" end) + $fr) else "" end)
  end;
def x: if . == null then "n/a" else (f(2) + "x") end;
def verdict: if .met == true then "MET" elif .met == false then "MISSED" else "n/a" end;

"N = \(.params.rows) rows, \(.params.rounds) bulk rounds, pgbench \(.params.pgbench_seconds) s per variant (-c \(.params.clients) -j \(.params.jobs))\(if .params.quick then "  [QUICK smoke run]" else "" end)",
"",
"| variant | bulk UPDATE median (s) | ratio to none | pgbench UPDATE TPS | ratio | pgbench INSERT TPS | ratio |",
"|---|---:|---:|---:|---:|---:|---:|",
(.variants[] |
  "| \(.variant)\(if .reference then " (reference)" else "" end) | \(.bulk_update.median_seconds | f(3)) | \(.bulk_update.ratio_to_none | x) | \(.pgbench.update.tps | f(0)) | \(.pgbench.update.ratio_to_none | x) | \(.pgbench.insert.tps | f(0)) | \(.pgbench.insert.ratio_to_none | x) |"),
"",
"| target | goal | value | verdict |",
"|---|---|---:|---|",
(.targets[] |
  "| \(.target) | \(.goal) | \(if .id == "memory_flat" then (if .value == null then "n/a" else "\(.value) kB" end) else (.value | x) end) | **\(verdict)** (\(.detail)) |")
