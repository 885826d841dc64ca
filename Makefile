# infer - build, test and demo targets. `make help` lists them.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
STD     := -std=c99 -D_POSIX_C_SOURCE=200809L
# libpng and libjpeg for infer-run's image input (tools/image.c), when they link.
HAVE_PNG  := $(shell printf '\043include <png.h>\nint main(void){return !png_access_version_number();}\n' | $(CC) -x c - -lpng -o /dev/null 2>/dev/null && echo 1)
HAVE_JPEG := $(shell printf '\043include <stdio.h>\n\043include <jpeglib.h>\nint main(void){return !jpeg_std_error;}\n' | $(CC) -x c - -ljpeg -o /dev/null 2>/dev/null && echo 1)
IMG_DEFS:= $(if $(HAVE_PNG),-DINFER_HAVE_PNG) $(if $(HAVE_JPEG),-DINFER_HAVE_JPEG)
# SLEEF (Debian libsleef-dev) for the AVX2/AVX-512 kernels' exp, tanh and erf, when it links;
# `make SLEEF=` builds with infer.h's own vector versions instead.
SLEEF   ?= $(shell printf '\043include <sleef.h>\nint main(void){return Sleef_expf_u10(0.0f) != 1.0f;}\n' | $(CC) -x c - -lsleef -lm -o /dev/null 2>/dev/null && echo 1)
STD     += $(if $(SLEEF),-DINFER_USE_SLEEF)
# MPI (mpicc and mpirun) for the tensor-parallel tests across processes (make mpi; make test
# builds and runs them when present, and reports SKIP otherwise).
MPICC    ?= mpicc
HAVE_MPI := $(shell command -v $(MPICC) >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 && echo 1)
LIBS    := -lm -pthread $(if $(HAVE_PNG),-lpng) $(if $(HAVE_JPEG),-ljpeg) $(if $(SLEEF),-lsleef)
PREFIX  ?= /usr/local
# .exe for Windows builds (make test-windows); programs are $(B)/name$(EXE)
EXE     ?=

B       := build
# test_cuda links the CUDA backend: make cuda builds it into $(B)/cuda/
TESTS   := $(filter-out test_cuda,$(patsubst tests/%.c,%,$(wildcard tests/test_*.c)))
EXAMPLES:= $(patsubst examples/%.c,%,$(wildcard examples/*.c))
# tools/infer-*.c are programs; the other tools/*.c are shared code they link
TOOLS   := $(patsubst tools/%.c,%,$(wildcard tools/infer-*.c))
TOOLLIB := $(patsubst tools/%.c,$(B)/tools_%.o,$(filter-out tools/infer-%.c,$(wildcard tools/*.c)))
# fuzz targets (tests/fuzz/); make test replays their regression files
FUZZ_TARGETS := model onnx npy
FUZZ_REPLAY  := $(addprefix $(B)/fuzz_replay_,$(FUZZ_TARGETS))

.PHONY: all test asan demo hello install uninstall clean help testdata conformance fuzz fuzz-build test-arm64 test-windows accuracy

# ONNX backend node tests: the test data inside the onnx wheel (the package is not
# installed). One pinned wheel, checked by hash; any platform's wheel has the same data.
ONNX_VERSION := 1.22.0
ONNX_WHEEL   := onnx-$(ONNX_VERSION)-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
ONNX_SHA256  := 1d0a2bdb15eb2b3cb65c438f3423d9620d14fdce32f92380e6bb1b2e09568ef5
NODETESTS    := build/onnx-node-tests

all: $(B)/infer.o $(addprefix $(B)/,$(TOOLS)) $(addprefix $(B)/,$(TESTS)) $(addprefix $(B)/,$(EXAMPLES))

help:
	@echo "make          build the library object, tests and examples into $(B)/"
	@echo "make demo     build the tools, convert the bundled digits model, run it over 1797 images: accuracy, items/s"
	@echo "make hello    build and run examples/hello (a model made with the builder API)"
	@echo "make install  install infer.h, infer.c, libinfer.a, the tools and infer.pc under PREFIX (now $(PREFIX))"
	@echo "make test     build and run every test; the last line is 'N passed, N failed, N skipped'"
	@echo "make asan     the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make valgrind the unit-test programs under valgrind memcheck: 0 errors, 0 bytes lost"
	@echo "make tsan     the concurrency tests (8 threads, one model; worker pool, cancel; tensor-parallel devices) under ThreadSanitizer"
	@echo "make test-arm64    cross-build for AArch64 (NEON kernels), run the unit tests and the demo under qemu-aarch64"
	@echo "make test-windows  cross-build the library, tools and tests as .exe (MinGW-w64), run them under wine64"
	@echo "make bad-files  regenerate tests/data/bad/ (one broken model file per validation rule)"
	@echo "make fuzz     build the libFuzzer targets (clang) and run each for FUZZ_SECONDS (now $(FUZZ_SECONDS)) or FUZZ_RUNS executions"
	@echo "make cuda     the CUDA backend (backends/cuda, needs nvcc): $(B)/cuda/libinfer_cuda.a, infer-run, infer-bench, test_cuda"
	@echo "make test-cuda  build and run $(B)/cuda/test_cuda (CUDA sessions against CPU ones; skipped without a GPU)"
	@echo "make test-cuda-emu  test_cuda on the CUDA backend built for a host emulation of CUDA (no GPU, no nvcc needed)"
	@echo "make mpi      build infer-bench and infer-run with the MPI communicator (backends/mpi, --tp mpi) and the MPI test into $(B)/mpi/ (needs mpicc)"
	@echo "make test-mpi tensor parallelism across processes: mpirun -np 2 and -np 4 against one device"
	@echo "make bench-tp the tensor-parallel benchmark (tools/bench/tp.sh): tp = 1, 2, 4"
	@echo "make testdata fetch the ONNX $(ONNX_VERSION) backend node tests into $(NODETESTS)/ (make test then runs them)"
	@echo "make conformance  run the ONNX node tests through the converter and the runtime"
	@echo "make venv     .venv: Debian python3 + the pinned requirements.txt (needs python3-torch, python3-torchvision; make accuracy also python3-sklearn)"
	@echo "make models  export the real models (small sizes) with reference outputs into build/models/"
	@echo "make models-full  the same at full size (224x224 images, BERT-base, GPT-2 small, ViT-B/16, MiniLM-L6) into build/models-full/"
	@echo "make embed-check  idle CPU, memory over 100,000 runs of 5 shapes, cancel latency (issue 10); summary line last"
	@echo "make bench-gemm  our f32 GEMM vs OpenBLAS cblas_sgemm (needs libopenblas-dev): GFLOP/s, % of FMA peak"
	@echo "make bench-qgemm the int8 GEMM vs our f32 GEMM on the BERT-base shapes: GOP/s and the ratio"
	@echo "make bench   bench-gemm, then one table of end-to-end latency and peak RSS against onnxruntime"
	@echo "             (tools/bench/e2e.py): BENCH_MODELS (now $(BENCH_MODELS)) at full size,"
	@echo "             batch 1/8, 1/2 threads, medians of 10 runs; exports the missing models first."
	@echo "             Takes about 15 min on 2 cores (the full models are exported first if missing);"
	@echo "             BENCH_MODELS='bert gpt2' E2E_ARGS='--runs 3' is shorter, E2E_ARGS=--markdown for README"
	@echo "make accuracy  f32 vs f16 vs bf16 vs int8 weights (infer-convert --weights): digits accuracy,"
	@echo "             encoder cosine, ResNet top-1 agreement (random weights, and one trained on digits"
	@echo "             by models/resnet_digits.py first), file sizes (tools/bench/accuracy.py)"
	@echo "make bench-quick  the end-to-end benchmark's smoke test on the small models (make test runs it)"
	@echo "make clean    remove $(B)/"

$(B)/infer.o: infer.c infer.h | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) -c $< -o $@

# White-box tests compile the implementation themselves (they #define INFER_IMPLEMENTATION).
WHITEBOX := $(addsuffix $(EXE),$(addprefix $(B)/,test_format test_planner test_gemm test_qgemm test_vecmath test_conv make_bad_files))
$(WHITEBOX): $(B)/%$(EXE): tests/%.c tests/test.h infer.h | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(LIBS) -o $@

# tests/data/bad/: one broken file per validation rule, written by tests/make_bad_files.c
# (committed; tests/test_bad_files.c checks each). Regenerate after a format change.
bad-files: $(B)/make_bad_files
	rm -f tests/data/bad/*.infer
	$(B)/make_bad_files tests/data/bad

$(B)/test_%$(EXE): tests/test_%.c tests/test.h tests/op_helpers.h tests/tp_models.h $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

$(B)/tools_%.o: tools/%.c $(wildcard tools/*.h) infer.h | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) -c $< -o $@

$(B)/tools_image.o: tools/image.c tools/image.h Makefile | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $(IMG_DEFS) -c $< -o $@

# Test helpers that are not tests themselves (tests/test_cli.sh uses cli_models).
$(B)/cli_models: tests/cli_models.c $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

$(B)/libinfer.a: $(B)/infer.o
	$(AR) rcs $@ $<

$(B)/infer-%$(EXE): tools/infer-%.c $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

$(B)/conformance: tests/conformance.c $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

$(B)/%: examples/%.c $(B)/infer.o | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(LIBS) -o $@

$(B):
	mkdir -p $(B)

# tests/conformance.sh runs $(NODETESTS) (make testdata) and build/models (make models)
# when they exist, and prints nothing otherwise.
test: $(addprefix $(B)/,$(TESTS)) $(B)/make_bad_files $(B)/conformance $(B)/infer-run $(B)/infer-bench $(B)/infer-convert $(B)/cli_models $(FUZZ_REPLAY) $(if $(HAVE_MPI),mpi)
	@CONFORMANCE=$(B)/conformance BUILD=$(B) sh tests/run.sh $(addprefix $(B)/,$(TESTS)) tests/compile.sh tests/conformance.sh tests/test_cli.sh tests/fuzz_replay.sh tests/test_bench.sh tests/test_mpi.sh tests/test_quant.sh

# -- tensor parallelism over MPI (backends/mpi/): make mpi builds infer-bench, infer-run and the test
# with mpicc into $(B)/mpi/; make test runs tests/test_mpi.sh (mpirun -np 2 and 4), which
# skips when MPI is absent. The plain build never needs MPI.
MPI_DEPS := backends/mpi/infer_mpi.c backends/mpi/infer_mpi.h $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB)
MPI_LINK := backends/mpi/infer_mpi.c $(B)/infer.o $(TOOLLIB) $(LIBS)
.PHONY: mpi test-mpi
mpi: $(B)/mpi/infer-bench $(B)/mpi/infer-run $(B)/mpi/tp_mpi
$(B)/mpi/infer-%: tools/infer-%.c $(MPI_DEPS)
	@mkdir -p $(B)/mpi
	$(MPICC) $(CFLAGS) $(WARN) $(STD) -DINFER_TOOLS_MPI $< $(MPI_LINK) -o $@
$(B)/mpi/tp_mpi: tests/tp_mpi.c tests/tp_models.h tests/test.h $(MPI_DEPS)
	@mkdir -p $(B)/mpi
	$(MPICC) $(CFLAGS) $(WARN) $(STD) $< $(MPI_LINK) -o $@
# tools/bench/tp.sh: tp = 1, 2, 4 in-process (and 2, 4 MPI ranks after make mpi) on build/models
.PHONY: bench-tp
bench-tp: $(B)/infer-bench $(B)/infer-convert
	sh tools/bench/tp.sh
test-mpi: mpi $(B)/infer-run $(B)/infer-convert
	@BUILD=$(B) sh tests/run.sh tests/test_mpi.sh

# -- the CUDA backend (backends/cuda/): make cuda builds build/cuda/libinfer_cuda.a with nvcc
# (sm_80 and sm_90 code, plus compute_90 PTX for newer GPUs), then infer-run, infer-bench and
# test_cuda linked with it, cuBLAS and the CUDA runtime. It needs nvcc (on PATH, or
# /usr/local/cuda/bin); without it the rest of the build is unchanged and make cuda says so.
# Nothing else in the build needs CUDA; infer.h never includes its headers.
NVCC      ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
NVFLAGS   ?= -O2 -g -std=c++14 -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcublasLt -lcudart -lstdc++ -ldl -lrt
# NCCL (the toolkit's, or Debian's libnccl-dev): device collectives for tensor parallelism
# over several GPUs (backends/cuda/infer_cuda_comm.cu). Found by its header; without it (or
# with NCCL=0) the split sessions' AllReduce and AllGather run on the host.
NCCL      ?= $(if $(wildcard $(CUDA_HOME)/include/nccl.h /usr/include/nccl.h),1,0)
ifeq ($(NCCL),1)
NVDEFS    := -DINFER_CUDA_NCCL=1
CUDA_LIBS += -lnccl
endif
CU        := $(B)/cuda
CUDA_SRC  := $(wildcard backends/cuda/*.cu)
CUDA_HDR  := $(wildcard backends/cuda/*.h) infer.h
.PHONY: cuda test-cuda
ifneq ($(NVCC),)
cuda: $(CU)/libinfer_cuda.a $(CU)/infer-run $(CU)/infer-bench $(CU)/test_cuda
$(CU)/%.o: backends/cuda/%.cu $(CUDA_HDR)
	@mkdir -p $(CU)
	$(NVCC) $(NVFLAGS) $(NVDEFS) $(CUDA_ARCH) -c $< -o $@
$(CU)/libinfer_cuda.a: $(patsubst backends/cuda/%.cu,$(CU)/%.o,$(CUDA_SRC))
	rm -f $@
	$(AR) rcs $@ $^
$(CU)/infer-%: tools/infer-%.c $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB) $(CU)/libinfer_cuda.a
	$(CC) $(CFLAGS) $(WARN) $(STD) -DINFER_WITH_CUDA $< $(B)/infer.o $(TOOLLIB) $(CU)/libinfer_cuda.a $(CUDA_LIBS) $(LIBS) -o $@
$(CU)/test_cuda: tests/test_cuda.c tests/test.h tests/tp_models.h $(B)/infer.o $(TOOLLIB) $(CU)/libinfer_cuda.a
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(TOOLLIB) $(CU)/libinfer_cuda.a $(CUDA_LIBS) $(LIBS) -o $@
test-cuda: $(CU)/test_cuda
	@BUILD=$(B) sh tests/run.sh $(CU)/test_cuda
else
cuda test-cuda:
	@echo "make cuda: nvcc was not found (install the CUDA toolkit, or make cuda NVCC=/path/to/nvcc)"; exit 1
endif

# make test-cuda-emu: test_cuda against backends/cuda compiled for the host emulation of CUDA
# (tests/cuda_emu/: the runtime and cuBLAS calls the backend makes; blocks of threads as
# ucontexts), so the backend's code, kernels and GEMM arguments run against the CPU on a
# machine without a GPU and without nvcc (C++17).
EMU := $(B)/cuda-emu
EMU_HDR := $(wildcard tests/cuda_emu/*.h) $(CUDA_HDR)
EMU_OBJ := $(patsubst backends/cuda/%.cu,$(EMU)/%.o,$(CUDA_SRC)) $(EMU)/cuda_emu.o
EMU_CXXFLAGS := -std=c++17 -O1 -g -Wall -Wextra -Werror -Wno-unknown-pragmas -Itests/cuda_emu -DINFER_CUDA_NCCL=1
$(EMU)/%.o: backends/cuda/%.cu $(EMU_HDR)
	@mkdir -p $(EMU)
	$(CXX) $(EMU_CXXFLAGS) -x c++ -c $< -o $@
$(EMU)/cuda_emu.o: tests/cuda_emu/cuda_emu.cpp $(EMU_HDR)
	@mkdir -p $(EMU)
	$(CXX) $(EMU_CXXFLAGS) -c $< -o $@
$(EMU)/test_cuda: tests/test_cuda.c tests/test.h tests/tp_models.h $(B)/infer.o $(TOOLLIB) $(EMU_OBJ)
	$(CC) $(CFLAGS) $(WARN) $(STD) -DTEST_CUDA_EMU $< $(B)/infer.o $(TOOLLIB) $(EMU_OBJ) -lstdc++ $(LIBS) -o $@
.PHONY: test-cuda-emu
test-cuda-emu: $(EMU)/test_cuda
	@BUILD=$(B) sh tests/run.sh $(EMU)/test_cuda

testdata: build/.onnx-node-tests-$(ONNX_VERSION).stamp
build/.onnx-node-tests-$(ONNX_VERSION).stamp:
	@mkdir -p build/wheels
	@test -f build/wheels/$(ONNX_WHEEL) || python3 -m pip download -q --disable-pip-version-check --no-deps \
	    --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
	    --platform manylinux_2_28_x86_64 -d build/wheels onnx==$(ONNX_VERSION)
	rm -rf $(NODETESTS) build/onnx-wheel.tmp
	python3 -c 'import hashlib, sys, zipfile; w, want, out = sys.argv[1:]; \
	    got = hashlib.sha256(open(w, "rb").read()).hexdigest(); \
	    got == want or sys.exit("%s: sha256 %s, expected %s" % (w, got, want)); z = zipfile.ZipFile(w); \
	    z.extractall(out, [n for n in z.namelist() if n.startswith("onnx/backend/test/data/node/")])' \
	    build/wheels/$(ONNX_WHEEL) $(ONNX_SHA256) build/onnx-wheel.tmp
	mv build/onnx-wheel.tmp/onnx/backend/test/data/node $(NODETESTS)
	rm -rf build/onnx-wheel.tmp
	@echo "$(NODETESTS): $$(ls $(NODETESTS) | wc -l) cases"
	@touch $@

conformance: testdata $(B)/conformance
	$(B)/conformance --expect tests/conformance_expected.txt $(NODETESTS)

# Real models exported from PyTorch (models/export_models.py), reference outputs from
# onnxruntime. The venv is Debian's python3 with its python3-torch, python3-torchvision,
# python3-numpy and python3-sklearn (.ci/run installs them; scikit-learn's digits train
# make accuracy's ResNet) plus the pinned requirements.txt.
.PHONY: venv models models-full
PYTHON3 ?= /usr/bin/python3
VENV    := .venv
venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON3) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/python -c 'import numpy, onnx, onnxruntime, torch, torchvision'
	@touch $@

models: build/.models.stamp
build/.models.stamp: models/export_models.py models/converter_cases.py $(VENV)/.stamp
	rm -rf build/models
	$(VENV)/bin/python models/export_models.py --size small -o build/models
	$(VENV)/bin/python models/converter_cases.py -o build/models
	@touch $@

models-full: build/.models-full.stamp
build/.models-full.stamp: models/export_models.py $(VENV)/.stamp
	rm -rf build/models-full
	$(VENV)/bin/python models/export_models.py --size full -o build/models-full
	@touch $@

# -- fuzzing (tests/fuzz/) --
# Each target also builds with tests/fuzz/replay_main.c instead of libFuzzer, so that
# make test replays tests/data/fuzz/<target>/* (tests/fuzz_replay.sh) with any compiler.
FUZZ_DEPS    := tests/fuzz/fuzz_tmp.h $(wildcard tools/*.h) infer.h
$(B)/fuzz_replay_model: tests/fuzz/fuzz_model.c tests/fuzz/replay_main.c $(FUZZ_DEPS) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) tests/fuzz/fuzz_model.c tests/fuzz/replay_main.c $(LIBS) -o $@
$(B)/fuzz_replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(FUZZ_DEPS) $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< tests/fuzz/replay_main.c $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

# make fuzz FUZZ_SECONDS=N: libFuzzer (clang, ASan + UBSan) runs each target for N seconds,
# its corpus in build/fuzz/corpus-<target>, seeded by tests/fuzz/make_corpus.sh.
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?=
FUZZ_CC      ?= clang
FZ           := build/fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(filter-out -DINFER_USE_SLEEF,$(STD)) -D_DEFAULT_SOURCE
FUZZ_MAXLEN_model := 65536
FUZZ_MAXLEN_onnx  := 131072
FUZZ_MAXLEN_npy   := 4096
$(FZ)/obj/%.o: tools/%.c $(wildcard tools/*.h) infer.h
	@mkdir -p $(FZ)/obj
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FZ)/obj/infer.o: infer.c infer.h
	@mkdir -p $(FZ)/obj
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FZ)/fuzz_model: tests/fuzz/fuzz_model.c $(FUZZ_DEPS)
	@mkdir -p $(FZ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< -lm -pthread -o $@
$(FZ)/fuzz_onnx: tests/fuzz/fuzz_onnx.c $(FUZZ_DEPS) $(FZ)/obj/infer.o $(FZ)/obj/onnx.o $(FZ)/obj/convert.o
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FZ)/obj/infer.o $(FZ)/obj/onnx.o $(FZ)/obj/convert.o -lm -pthread -o $@
$(FZ)/fuzz_npy: tests/fuzz/fuzz_npy.c $(FUZZ_DEPS) $(FZ)/obj/infer.o $(FZ)/obj/npy.o
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FZ)/obj/infer.o $(FZ)/obj/npy.o -lm -pthread -o $@
$(FZ)/.corpus.stamp: tests/fuzz/make_corpus.sh $(B)/cli_models $(B)/hello $(B)/infer-convert
	B=$(B) sh tests/fuzz/make_corpus.sh $(FZ)
	@touch $@
fuzz-build: $(addprefix $(FZ)/fuzz_,$(FUZZ_TARGETS)) $(FZ)/.corpus.stamp
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do FUZZ_RUNS=$(FUZZ_RUNS) sh tests/fuzz/run_fuzz.sh $$t $(FUZZ_SECONDS) $(FZ) || exit 1; done

# Sanitizer build: its own folder, the same sources.
asan:
	$(MAKE) --no-print-directory B=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test

# ThreadSanitizer on the concurrency tests (tests/test_threads.c; tests/test_guest.c, which
# runs the worker pool, cancels from another thread and a host's parallel-for; tests/test_tp.c,
# the in-process tensor-parallel devices), in its own
# folder; any report fails the run.
.PHONY: tsan valgrind bad-files
tsan:
	$(MAKE) --no-print-directory B=build/tsan CFLAGS="-O1 -g -fsanitize=thread" build/tsan/test_threads build/tsan/test_guest build/tsan/test_tp
	TSAN_OPTIONS="halt_on_error=1 $${TSAN_OPTIONS:-}" sh tests/run.sh build/tsan/test_threads build/tsan/test_guest build/tsan/test_tp

# valgrind memcheck on every unit-test program (not the conformance suite or the CLI
# shell tests), the programs make test runs (the plain build: no OpenMP, whose thread
# pools valgrind would report); 0 errors and 0 bytes definitely or indirectly lost, or
# it fails (tests/valgrind.sh).
valgrind: $(addprefix $(B)/,$(TESTS))
	sh tests/valgrind.sh $(addprefix $(B)/,$(TESTS))

# -- other platforms: cross-built here, run under an emulator (README "Platforms") --
# The unit tests that need no Python-made data (build/models, ONNX files) and the demo
# (tests/demo.sh), each platform in its own build folder. CROSS_TESTS can be narrowed
# (.ci/run does). qemu-user runs the AArch64 programs against the cross toolchain's
# libraries (QEMU_LD_PREFIX); wine64 runs the .exe files in a prefix under build/.
CROSS_TESTS ?= test_api test_backend test_bad_files test_cast_small test_format test_gemm test_limits test_npy test_ops_elementwise \
    test_ops_more test_ops_more2 test_ops_nn test_ops_rnn test_ops_shape test_planner test_smoke test_threads
CROSS_DEMO  := infer-convert infer-run digits-accuracy
# test_vecmath and test_conv check the NEON vector math, element-wise kernels and Conv
# (GEMM and depthwise), which only the AArch64 run reaches (the Windows build would run
# the AVX2/AVX-512 ones make test already checks)
ARM64_TESTS  = $(CROSS_TESTS) test_vecmath test_conv
ARM64_CC    ?= aarch64-linux-gnu-gcc
QEMU_ARM64  ?= qemu-aarch64-static
WIN_CC      ?= x86_64-w64-mingw32-gcc-posix
WINE        ?= /usr/lib/wine/wine64
test-arm64:
	$(MAKE) --no-print-directory B=build/arm64 CC=$(ARM64_CC) $(addprefix build/arm64/,$(ARM64_TESTS) $(CROSS_DEMO) infer-bench)
	QEMU_LD_PREFIX=/usr/aarch64-linux-gnu RUN_PREFIX=$(QEMU_ARM64) BUILD=build/arm64 THREAD_RUNS=2 \
	    sh tests/run.sh $(addprefix build/arm64/,$(ARM64_TESTS)) tests/demo.sh
# MinGW-w64's posix flavour (winpthreads: the worker threads and infer-run); ANSI stdio for %zu; all static,
# so no DLL has to be found next to the .exe files.
test-windows:
	$(MAKE) --no-print-directory B=build/windows EXE=.exe CC=$(WIN_CC) \
	    CFLAGS="-O2 -g -static -D__USE_MINGW_ANSI_STDIO=1 -D_FILE_OFFSET_BITS=64" LIBS="-lm -pthread -lpsapi" \
	    $(addsuffix .exe,$(addprefix build/windows/,$(CROSS_TESTS) $(CROSS_DEMO) infer-bench))
	@mkdir -p build/wine
	WINEDEBUG=-all WINEPREFIX=$(CURDIR)/build/wine RUN_PREFIX=$(WINE) EXE=.exe BUILD=build/windows THREAD_RUNS=2 \
	    sh tests/run.sh $(addsuffix .exe,$(addprefix build/windows/,$(CROSS_TESTS))) tests/demo.sh

# The bundled model: a small CNN trained on scikit-learn's digits by models/digits/train.py
# (which wrote digits.onnx, images.npy and labels.npy; nothing is downloaded here).
demo: $(B)/infer-convert $(B)/infer-run $(B)/digits-accuracy
	$(B)/infer-convert models/digits/digits.onnx -o $(B)/digits.infer
	$(B)/infer-run $(B)/digits.infer models/digits/images.npy -o $(B)/digits --batch-size 64
	$(B)/digits-accuracy $(B)/digits/logits.npy models/digits/labels.npy

$(B)/digits-accuracy$(EXE): models/digits/accuracy.c $(wildcard tools/*.h) $(B)/infer.o $(TOOLLIB) | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(TOOLLIB) $(LIBS) -o $@

hello: $(B)/hello
	$(B)/hello $(B)/hello.infer

# make install PREFIX=/opt/infer [DESTDIR=...]; make uninstall with the same PREFIX removes it.
INSTALLED_TOOLS := $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(TOOLS))
install: $(B)/libinfer.a $(addprefix $(B)/,$(TOOLS))
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/infer
	install -m 644 infer.h $(DESTDIR)$(PREFIX)/include/infer.h
	install -m 644 infer.c $(DESTDIR)$(PREFIX)/share/infer/infer.c
	install -m 644 $(B)/libinfer.a $(DESTDIR)$(PREFIX)/lib/libinfer.a
	install -m 755 $(addprefix $(B)/,$(TOOLS)) $(DESTDIR)$(PREFIX)/bin/
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$${prefix}/lib' '' \
	    'Name: infer' 'Description: embeddable single-header neural-network inference' \
	    "Version: $$(sed -n 's/^#define INFER_VERSION_STRING "\(.*\)"/\1/p' infer.h)" \
	    'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -linfer -lm -pthread' \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/infer.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/infer.h $(DESTDIR)$(PREFIX)/share/infer/infer.c \
	    $(DESTDIR)$(PREFIX)/lib/libinfer.a $(DESTDIR)$(PREFIX)/lib/pkgconfig/infer.pc $(INSTALLED_TOOLS)
	-rmdir $(DESTDIR)$(PREFIX)/share/infer 2>/dev/null


# tools/bench/embed_check.c (issue 10): idle CPU at 6 Hz, RSS over 100,000 runs cycling 5
# shapes, cancel latency, on the bundled digits model; the last line is the summary.
# tools/bench/embed_check_ort.py measures ONNX Runtime the same way (README "Embedding").
.PHONY: embed-check
EMBED_SECONDS ?= 10
$(B)/embed_check: tools/bench/embed_check.c $(B)/infer.o | $(B)
	$(CC) $(CFLAGS) $(WARN) $(STD) $< $(B)/infer.o $(LIBS) -o $@
$(B)/digits.infer: models/digits/digits.onnx $(B)/infer-convert
	$(B)/infer-convert $< -o $@
embed-check: $(B)/embed_check $(B)/digits.infer
	$(B)/embed_check $(B)/digits.infer $(EMBED_SECONDS)

# tools/bench/gemm.c: our GEMM against OpenBLAS, 1 and 2 threads (README "CPU performance")
HAVE_OPENBLAS := $(shell printf '\043include <cblas.h>\nint main(void){return !openblas_get_config();}\n' | $(CC) -x c - -lopenblas -o /dev/null 2>/dev/null && echo 1)
.PHONY: bench-gemm
bench-gemm: | $(B)
ifeq ($(HAVE_OPENBLAS),1)
	$(CC) -O2 $(WARN) $(STD) tools/bench/gemm.c -lopenblas $(LIBS) -o $(B)/bench_gemm
	$(B)/bench_gemm $(BENCH_REPS)
else
	@echo "bench-gemm: OpenBLAS not found (apt-get install libopenblas-dev)"; exit 1
endif

# tools/bench/e2e.py: end-to-end latency and peak RSS against onnxruntime, one table
# (README "CPU performance"). bench-models exports only the full-size models that are
# missing (make models-full would redo all of them).
BENCH_MODELS ?= resnet50 mobilenet_v2 efficientnet_b0 bert minilm gpt2
E2E_ARGS     ?=
.PHONY: bench bench-quick bench-models
bench-models: venv
	@missing=$$(for m in $(BENCH_MODELS); do test -f build/models-full/$$m/info.txt || echo $$m; done); \
	if [ -n "$$missing" ]; then \
	    echo $(VENV)/bin/python models/export_models.py --size full -o build/models-full $$missing; \
	    $(VENV)/bin/python models/export_models.py --size full -o build/models-full $$missing || exit 1; \
	fi
bench: $(B)/infer-convert $(B)/infer-run $(B)/infer-bench
	@$(MAKE) --no-print-directory bench-gemm
	@$(MAKE) --no-print-directory bench-models
	$(VENV)/bin/python tools/bench/e2e.py --bin $(B) --models $$(echo $(BENCH_MODELS) | tr ' ' ,) $(E2E_ARGS)
# Reduced-precision weights: f32/f16/bf16/int8 accuracy and file size of digits, an encoder,
# the random-weight ResNet-18 and one trained on digits (tools/bench/accuracy.py;
# ACCURACY_ARGS e.g. --resnet-items 64). The trained ResNet (models/resnet_digits.py, about
# a minute on 2 cores) is made when missing or when its script changes; never by make test.
accuracy: venv $(B)/infer-convert $(B)/infer-run $(B)/resnet18_digits/model.onnx
	$(VENV)/bin/python tools/bench/accuracy.py $(ACCURACY_ARGS)
$(B)/resnet18_digits/model.onnx: models/resnet_digits.py | $(VENV)/.stamp
	$(VENV)/bin/python models/resnet_digits.py --force -o $(B)/resnet18_digits

bench-quick: models $(B)/infer-convert $(B)/infer-run $(B)/infer-bench
	$(VENV)/bin/python tools/bench/e2e.py --quick --bin $(B)
clean:
	rm -rf $(B)

# tools/bench/qgemm.c: the int8 GEMM against our f32 GEMM on the BERT-base shapes, 1 and
# 2 threads (README "CPU performance"); BENCH_REPS=n changes the number of runs
.PHONY: bench-qgemm
bench-qgemm: | $(B)
	$(CC) -O2 $(WARN) $(STD) tools/bench/qgemm.c $(LIBS) -o $(B)/bench_qgemm
	$(B)/bench_qgemm $(BENCH_REPS)
