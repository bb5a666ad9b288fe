#!/usr/bin/env bash
# test.sh — THE test command: set up, then run every suite against a
# throwaway cluster and report one total.
#
#   1. scripts/setup.sh        packages, build, install
#   2. pg_regress              make installcheck, sql/*.sql vs expected/*.out
#   3. isolation               make installcheck, specs/*.spec
#   3b. isolation, preloaded   test/preloaded/specs/*.spec on a cluster preloading the library
#   4. pgTAP                   pg_prove on test/*.sql, counted per assertion
#   4a. TAP                    prove t/*.pl (several clusters), counted per assertion
#   4b. scenarios              test/scenarios/*.sh, one test each (pg_dump/restore, ...)
#   5. CMake                   the library builds with CMake without warnings
#
# Every suite runs even when an earlier one fails. The last line printed is
# `N passed, N failed`; the exit status is non-zero if anything failed or if
# the database suites ran no test at all.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
export PG_CONFIG

PASSED=0
FAILED=0
DB_TESTS=0          # tests run by the database suites (regress, isolation, pgTAP)
FAILURES=()         # names of failed tests, for the recap

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ec_test.XXXXXX")"
cleanup_work() { rm -rf "$WORK"; }

section() { printf '\n===== %s =====\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); }

# --- 1. setup ------------------------------------------------------------------
section "setup (scripts/setup.sh)"
SETUP_OK=1
if ! bash scripts/setup.sh; then
    SETUP_OK=0
    echo "test: setup failed; the database suites will run against whatever is installed"
    fail "setup: scripts/setup.sh (build/install)"
fi

# --- cluster -------------------------------------------------------------------
section "throwaway cluster"
CLUSTER_OK=1
# cluster.sh installs an EXIT trap that stops the server; chain our own cleanup.
# shellcheck source=scripts/cluster.sh
if ! source scripts/cluster.sh; then
    CLUSTER_OK=0
    fail "cluster: could not start a PostgreSQL server"
fi
trap 'ec_cluster_stop >/dev/null 2>&1; cleanup_work' EXIT

# Counts pg_regress result lines of a log. PostgreSQL 15 prints
#   test name                         ... ok           12 ms
#   test name                         ... FAILED       40 ms
#   test name                         ... failed (ignored) ...
# (tests of a parallel group are indented instead of prefixed with "test").
count_pg_regress() {
    local suite="$1" logfile="$2" status="$3"
    local line name result found=0 failed_here=0
    while IFS= read -r line; do
        if [[ "$line" =~ ^(test[[:space:]]+|[[:space:]]+)([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed\ \(ignored\)) ]]; then
            name="${BASH_REMATCH[2]}"
            result="${BASH_REMATCH[3]}"
            found=$((found + 1))
            case "$result" in
                ok) pass ;;
                FAILED) fail "$suite: $name"; failed_here=$((failed_here + 1)) ;;
                *) echo "test: $suite: $name failed but is marked ignored"; pass ;;
            esac
        fi
    done <"$logfile"
    DB_TESTS=$((DB_TESTS + found))
    if [ "$status" -ne 0 ] && [ "$failed_here" -eq 0 ]; then
        # make/pg_regress failed without naming a failed test (cannot connect,
        # build error, crash before the first result, ...).
        fail "$suite: make installcheck exited with status $status"
    fi
    echo "test: $suite: $found test(s) reported"
}

# --- 2 + 3. pg_regress and isolation ---------------------------------------------
# PGXS runs both from one recipe and stops after a failing pg_regress, so each
# suite gets its own `make installcheck` with the other one switched off.
run_installcheck() {
    local suite="$1"; shift
    local logfile="$WORK/$suite.log" status
    section "$suite (make installcheck $*)"
    make --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck "$@" 2>&1 | tee "$logfile"
    status="${PIPESTATUS[0]}"
    count_pg_regress "$suite" "$logfile" "$status"
    return "$status"
}

if [ "$CLUSTER_OK" = 1 ]; then
    if ! run_installcheck regress ISOLATION=; then
        if [ -s regression.diffs ]; then
            section "regression.diffs"
            cat regression.diffs
        fi
    fi
    if ! run_installcheck isolation REGRESS=; then
        if [ -s output_iso/regression.diffs ]; then
            section "output_iso/regression.diffs"
            cat output_iso/regression.diffs
        fi
    fi
fi

# --- 3b. isolation, library preloaded -------------------------------------------------
# Specs that need shared memory (test/preloaded/specs), on a cluster of their
# own that preloads the library.
section "isolation, library preloaded (scripts/preloaded_isolation.sh)"
bash scripts/preloaded_isolation.sh "$WORK/preloaded" 2>&1 | tee "$WORK/preloaded.log"
count_pg_regress "isolation-preloaded" "$WORK/preloaded.log" "${PIPESTATUS[0]}"

# --- 4. pgTAP ----------------------------------------------------------------------
# Counts assertions of one pg_prove --verbose log. Assertions that a file
# planned but never ran (it died half-way) count as failures; a file that
# failed without any countable failure counts as one failure.
count_pgtap_file() {
    local file="$1" logfile="$2" status="$3"
    local line planned=-1 ran=0 failed_here=0
    while IFS= read -r line; do
        if [[ "$line" =~ ^1\.\.([0-9]+) ]]; then
            planned="${BASH_REMATCH[1]}"
        elif [[ "$line" =~ ^not\ ok\ [0-9]+ ]]; then
            ran=$((ran + 1))
            if [[ "$line" =~ \#[[:space:]]*TODO ]]; then
                pass            # expected failure of a TODO test
            else
                fail "pgtap: $file: ${line#not ok }"
                failed_here=$((failed_here + 1))
            fi
        elif [[ "$line" =~ ^ok\ [0-9]+ ]]; then
            ran=$((ran + 1))
            pass
        fi
    done <"$logfile"
    DB_TESTS=$((DB_TESTS + ran))
    if [ "$planned" -gt "$ran" ]; then
        local missing=$((planned - ran)) i
        fail "pgtap: $file: planned $planned assertions but only $ran ran (each missing one counts as failed)"
        for ((i = 1; i < missing; i++)); do
            FAILED=$((FAILED + 1))
        done
        failed_here=$((failed_here + missing))
    fi
    if [ "$status" -ne 0 ] && [ "$failed_here" -eq 0 ]; then
        fail "pgtap: $file: pg_prove exited with status $status"
    fi
}

shopt -s nullglob
TAP_FILES=(test/*.sql)
shopt -u nullglob
if [ "$CLUSTER_OK" = 1 ] && [ "${#TAP_FILES[@]}" -gt 0 ]; then
    section "pgTAP (pg_prove test/*.sql)"
    TAP_DB=ec_pgtap
    if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres \
            -c "DROP DATABASE IF EXISTS $TAP_DB" -c "CREATE DATABASE $TAP_DB" \
         || ! psql -X -q -v ON_ERROR_STOP=1 -d "$TAP_DB" \
            -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION expand_contract"; then
        echo "test: could not prepare database $TAP_DB (the test files will report what is missing)"
    fi
    for f in "${TAP_FILES[@]}"; do
        logfile="$WORK/pgtap.$(basename "$f").log"
        pg_prove --verbose -d "$TAP_DB" "$f" 2>&1 | tee "$logfile"
        status="${PIPESTATUS[0]}"
        count_pgtap_file "$f" "$logfile" "$status"
    done
elif [ "$CLUSTER_OK" = 1 ]; then
    echo "test: no pgTAP files in test/"
fi

# --- 4a. TAP ------------------------------------------------------------------------
# Stories with several clusters (t/*.pl, PostgreSQL::Test::Cluster), counted
# per assertion as pgTAP is.
shopt -s nullglob
TAP_STORIES=(t/*.pl)
shopt -u nullglob
if [ "${#TAP_STORIES[@]}" -gt 0 ]; then
    section "TAP (scripts/tap.sh: prove t/*.pl)"
    bash scripts/tap.sh 2>&1 | tee "$WORK/tap.log"
    count_pgtap_file "t/*.pl" "$WORK/tap.log" "${PIPESTATUS[0]}"
fi

# --- 4b. scenarios -------------------------------------------------------------------
# Whole-system stories a SQL file cannot tell (pg_dump/pg_restore, ...): each
# test/scenarios/*.sh runs against the cluster and is one test, passed when it
# exits 0.
shopt -s nullglob
SCENARIOS=(test/scenarios/*.sh)
shopt -u nullglob
if [ "$CLUSTER_OK" = 1 ] && [ "${#SCENARIOS[@]}" -gt 0 ]; then
    section "scenarios (test/scenarios/*.sh)"
    for f in "${SCENARIOS[@]}"; do
        name="$(basename "$f" .sh)"
        DB_TESTS=$((DB_TESTS + 1))
        if bash "$f"; then
            echo "test: scenario $name ... ok"
            pass
        else
            echo "test: scenario $name ... FAILED"
            fail "scenario: $name"
        fi
    done
fi

# The server is no longer needed; stop it before the summary so that nothing
# is printed after the final line.
section "stopping the cluster"
ec_cluster_stop
echo "test: cluster stopped"

# --- 5. CMake ------------------------------------------------------------------------
section "CMake build"
CMAKE_DIR="$WORK/cmake-build"
CMAKE_LOG="$WORK/cmake.log"
if { cmake -S "$ROOT" -B "$CMAKE_DIR" -DPG_CONFIG="$PG_CONFIG" \
     && cmake --build "$CMAKE_DIR" -j"$(nproc 2>/dev/null || echo 2)"; } >"$CMAKE_LOG" 2>&1; then
    cat "$CMAKE_LOG"
    if grep -qi 'warning' "$CMAKE_LOG"; then
        echo "test: the CMake build printed warnings:"
        grep -i 'warning' "$CMAKE_LOG"
        fail "cmake: build has warnings"
    elif [ ! -f "$CMAKE_DIR/expand_contract.so" ]; then
        fail "cmake: expand_contract.so was not produced"
    else
        echo "test: CMake built expand_contract.so without warnings"
        pass
    fi
else
    cat "$CMAKE_LOG"
    fail "cmake: build failed"
fi

# --- summary ---------------------------------------------------------------------
section "summary"
if [ "${#FAILURES[@]}" -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${FAILURES[@]}"
fi
if [ "$DB_TESTS" -eq 0 ]; then
    echo "test: no pg_regress, isolation or pgTAP test ran at all"
fi
echo "$PASSED passed, $FAILED failed"

if [ "$FAILED" -gt 0 ] || [ "$DB_TESTS" -eq 0 ] || [ $((PASSED + FAILED)) -eq 0 ]; then
    exit 1
fi
exit 0
