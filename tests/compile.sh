#!/bin/sh
# Compile checks of the header (STYLE.md section 9): C99 and C++ with every warning an
# error, two translation units, and each INFER_NO_* switch. Prints PASS/FAIL lines.
cd "$(dirname "$0")/.." || exit 1
out=build/compile
mkdir -p "$out"
W="-Wall -Wextra -Wpedantic -Werror"
status=0
check() { # name, command...
    name=$1
    shift
    if log=$("$@" 2>&1); then
        echo "PASS compile_$name"
    else
        echo "FAIL compile_$name"
        printf '%s\n' "$log" | head -n 20 | sed 's/^/  /'
        status=1
    fi
}
# two units that include the header plus the implementation unit, linked together
printf '#include "../../infer.h"\nint unit_a(void) { return (int)infer_dtype_bytes(INFER_DTYPE_F32); }\n' > "$out/a.c"
printf '#include "../../infer.h"\nint unit_a(void);\nint main(void) { return unit_a() == 4 && infer_version()[0] ? 0 : 1; }\n' > "$out/b.c"
printf '#define INFER_IMPLEMENTATION\n#include "../../infer.h"\nint main(void) { return infer_version()[0] ? 0 : 1; }\n' > "$out/impl.cpp"
check c99_gcc gcc -std=c99 $W -D_POSIX_C_SOURCE=200809L -c infer.c -o "$out/gcc.o"
if command -v clang >/dev/null 2>&1; then
    check c99_clang clang -std=c99 $W -D_POSIX_C_SOURCE=200809L -c infer.c -o "$out/clang.o"
fi
check cxx11 sh -c "g++ -std=c++11 $W $out/impl.cpp -o $out/impl_cxx -lm && $out/impl_cxx"
check two_units sh -c "gcc -std=c99 $W -c $out/a.c -o $out/a.o && gcc -std=c99 $W -c $out/b.c -o $out/b.o &&
    gcc -std=c99 $W -D_POSIX_C_SOURCE=200809L -c infer.c -o $out/impl.o && gcc $out/a.o $out/b.o $out/impl.o -lm -o $out/two_units &&
    $out/two_units"
for sw in INFER_NO_SIMD INFER_NO_MMAP INFER_NO_THREADS; do
    check "$sw" gcc -std=c99 $W -D_POSIX_C_SOURCE=200809L -D$sw -c infer.c -o "$out/$sw.o"
done
# the other platforms' compilers, when installed (make test-arm64 and make test-windows
# build and run the rest): AArch64 with the NEON kernels, MinGW-w64 with Win32 file mapping
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    check c99_aarch64 aarch64-linux-gnu-gcc -std=c99 $W -D_POSIX_C_SOURCE=200809L -c infer.c -o "$out/aarch64.o"
fi
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    for sw in "" -DINFER_NO_MMAP; do
        check "mingw$sw" x86_64-w64-mingw32-gcc -std=c99 $W $sw -c infer.c -o "$out/mingw.o"
    done
fi
check custom_malloc gcc -std=c99 $W -D_POSIX_C_SOURCE=200809L "-DINFER_MALLOC(n)=malloc(n)" "-DINFER_FREE(p)=free(p)" -c infer.c -o "$out/malloc.o"
exit $status
