# infer - build, test and demo targets. `make help` lists them.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
STD     := -std=c99 -D_POSIX_C_SOURCE=200809L
# OpenMP when the compiler has it; the library runs single-threaded without it.
OMP     := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
LIBS    := -lm -pthread

B       := build
TESTS   := $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
EXAMPLES:= $(patsubst examples/%.c,%,$(wildcard examples/*.c))
# tools/infer-*.c are programs; the other tools/*.c are shared code they link
TOOLS   := $(patsubst tools/%.c,%,$(wildcard tools/infer-*.c))
TOOLLIB := $(patsubst tools/%.c,$(B)/tools_%.o,$(filter-out tools/infer-%.c,$(wildcard tools/*.c)))

.PHONY: all test asan demo clean help

all: $(B)/infer.o $(addprefix $(B)/,$(TOOLS)) $(addprefix $(B)/,$(TESTS)) $(addprefix $(B)/,$(EXAMPLES))

help:
	@echo "make          build the library object, tests and examples into $(B)/"
	@echo "make demo     build and run the demo"
	@echo "make test     build and run every test; the last line is 'N passed, N failed, N skipped'"
	@echo "make asan     the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make clean    remove $(B)/"

$(B)/infer.o: infer.c infer.h | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(OMP) -c $< -o $@

# White-box tests compile the implementation themselves (they #define INFER_IMPLEMENTATION).
WHITEBOX := $(addprefix $(B)/,test_format test_planner)
$(WHITEBOX): $(B)/%: tests/%.c tests/test.h infer.h | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(OMP) $< $(LIBS) -o $@

$(B)/test_%: tests/test_%.c tests/test.h $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(OMP) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

$(B)/tools_%.o: tools/%.c $(wildcard tools/*.h) infer.h | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(OMP) -c $< -o $@

$(B)/infer-%: tools/infer-%.c $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(OMP) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

$(B)/%: examples/%.c $(B)/infer.o | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(OMP) $< $(B)/infer.o $(LIBS) -o $@

$(B):
	mkdir -p $(B)

test: $(addprefix $(B)/,$(TESTS))
	@sh tests/run.sh $(addprefix $(B)/,$(TESTS)) tests/compile.sh

# Sanitizer build: its own folder, the same sources.
asan:
	$(MAKE) --no-print-directory B=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test

demo: $(B)/hello
	$(B)/hello $(B)/hello.infer

clean:
	rm -rf $(B)
