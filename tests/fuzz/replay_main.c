/* tests/fuzz/replay_main.c - a main for the fuzz targets without libFuzzer: runs
   LLVMFuzzerTestOneInput once over each file named on the command line, so a crash file
   reproduces with gcc or clang alone (add -fsanitize=address,undefined to see it).
   Prints "PASS <file>" per file; a crash or sanitizer report ends the program. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        long n;
        uint8_t *buf;
        if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
            printf("FAIL %s: cannot read\n", argv[i]);
            return 1;
        }
        buf = (uint8_t *)malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            printf("FAIL %s: cannot read\n", argv[i]);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        printf("PASS %s\n", argv[i]);
        fflush(stdout);
    }
    return 0;
}
