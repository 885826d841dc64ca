#!/bin/sh
# Runs each test program given, counts PASS/FAIL/SKIP lines, and ends with the totals.
# A program that crashes or exits non-zero without a FAIL line counts as one failure.
# RUN_PREFIX (e.g. qemu-aarch64-static, or wine64) runs each program that is not a .sh
# script (make test-arm64, make test-windows); the scripts read it themselves.
passed=0 failed=0 skipped=0
for t in "$@"; do
    case $t in
    *.sh) out=$("$t" 2>&1) ;;
    *) out=$($RUN_PREFIX "$t" 2>&1) ;;
    esac
    rc=$?
    printf '%s\n' "$out" | grep -E '^(FAIL|SKIP)|^  ' || true
    p=$(printf '%s\n' "$out" | grep -c '^PASS ')
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    s=$(printf '%s\n' "$out" | grep -c '^SKIP ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        printf 'FAIL %s (exit status %s)\n' "$t" "$rc"
        printf '%s\n' "$out" | tail -n 20
        f=1
    fi
    printf '%-40s %4d passed %4d failed %4d skipped\n' "$(basename "$t")" "$p" "$f" "$s"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
