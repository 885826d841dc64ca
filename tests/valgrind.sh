#!/bin/sh
# Runs each unit-test program given under valgrind memcheck, two at a time, and prints per
# program the errors and the bytes definitely and indirectly lost, then the totals. Exits
# non-zero on any error, any such leak, or a failing test. `make valgrind` calls it with
# the programs of a build without OpenMP (libgomp keeps thread pools valgrind reports).
#   VALGRIND_JOBS  programs run at once (default 2)
set -u
if [ "${1:-}" = "--one" ]; then # one program: its log and output beside it
    t=$2
    start=$(date +%s)
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --log-file="$t.vg.log" "$t" >"$t.vg.out" 2>&1
    echo $? >"$t.vg.rc"
    echo $(($(date +%s) - start)) >"$t.vg.secs"
    exit 0
fi
command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed (apt-get install valgrind)"; exit 1; }
for t in "$@"; do rm -f "$t.vg.log" "$t.vg.out" "$t.vg.rc" "$t.vg.secs"; done
printf '%s\n' "$@" | xargs -P "${VALGRIND_JOBS:-2}" -I{} sh "$0" --one {}
bad=0 total_err=0 total_lost=0
for t in "$@"; do
    rc=$(cat "$t.vg.rc" 2>/dev/null || echo 1)
    # the summary counts memory errors and, with --errors-for-leak-kinds, those leaks
    err=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$t.vg.log" | tr -d , | tail -1)
    err=${err:-1}
    lost=$(sed -n 's/.*\(definitely\|indirectly\) lost: \([0-9,]*\) bytes.*/\2/p' "$t.vg.log" | tr -d , |
        awk '{s += $1} END {print s + 0}')
    fails=$(grep -c '^FAIL' "$t.vg.out")
    printf '%-28s %3ss  errors %3s  definitely+indirectly lost %6s bytes  exit %s\n' "$(basename "$t")" \
        "$(cat "$t.vg.secs" 2>/dev/null)" "$err" "$lost" "$rc"
    if [ "$rc" -ne 0 ] || [ "$err" -ne 0 ] || [ "$lost" -ne 0 ] || [ "$fails" -ne 0 ]; then
        bad=$((bad + 1))
        grep -E '^FAIL|^  ' "$t.vg.out" | head -20
        grep -v '^==[0-9]*== *$' "$t.vg.log" | grep -A12 -E 'Invalid|uninitialised|lost in loss|Mismatched|overlap' | head -60
    fi
    total_err=$((total_err + err)) total_lost=$((total_lost + lost))
done
echo "valgrind: $# programs, $bad failed, $total_err errors, $total_lost bytes definitely/indirectly lost"
[ "$bad" -eq 0 ]
