#!/bin/sh
# tools/bench/gpu_check.sh - everything the CUDA backend needs a GPU for, in one run of
# under 8 minutes, from the repository root of a copy on a GPU machine (nvcc, cuBLAS,
# PyTorch; no network):
#   1. make cuda                      libinfer_cuda.a, infer-run/infer-bench with CUDA, test_cuda
#   2. build/cuda/test_cuda           every CUDA op against the CPU (1e-4), graph replay,
#                                     tensor parallelism (tp 2 and 3 over the GPUs there:
#                                     NCCL between distinct GPUs, the host path on a shared one)
#   3. real models, cuda vs cpu       build/models (exported here when missing and Python
#                                     has torch, torchvision, onnx, onnxruntime), each
#                                     through infer-run on both devices (tools/bench/gpu_bench.py check)
#   4. timings                        BERT-base b32 s128, ResNet-50 b64, GPT-2 small prefill
#                                     b8 s512: ours (f32, --precision f16) next to PyTorch
#                                     eager f32/f16 and torch.compile, one table (gpu_bench.py
#                                     bench); each model's --profile at f16 in
#                                     build/gpu-bench/profiles/
#   3b. tensor parallelism            on two or more GPUs: tools/bench/tp.sh's table (NCCL)
#   5. kernel times                   BERT and ResNet-50 once at f16 under ncu (when it is
#                                     there): time per kernel, largest first (gpu_bench.py kernels)
# Each step has a time limit; a step whose tools are missing, or that the remaining time
# cannot hold, says SKIP and why. The last line is the summary; exit status 1 when a step
# failed. GPU_CHECK_SECONDS (default 470) is the whole budget; PYTHON picks the interpreter
# (default: .venv/bin/python when it exists, else python3).
cd "$(dirname "$0")/../.." || exit 1
budget=${GPU_CHECK_SECONDS:-470}
start=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 4)
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
summary=""
failed=0
note() { summary="$summary
$1"; echo "== $1"; }
left() { echo $((budget - ($(date +%s) - start))); }
# step LIMIT NAME COMMAND...: runs COMMAND under min(LIMIT, time left)
step() {
    limit=$1 name=$2
    shift 2
    l=$(left)
    [ "$l" -lt "$limit" ] && limit=$l
    if [ "$limit" -lt 10 ]; then
        note "SKIP $name (out of time)"
        return 2
    fi
    echo "== $name (limit ${limit}s)"
    t0=$(date +%s)
    timeout "$limit" "$@"
    rc=$?
    t=$(($(date +%s) - t0))
    if [ $rc -eq 0 ]; then note "PASS $name (${t}s)"
    elif [ $rc -eq 124 ]; then note "FAIL $name (over ${limit}s)"; failed=1
    else note "FAIL $name (exit status $rc, ${t}s)"; failed=1
    fi
    return $rc
}
py_has() { "$PYTHON" -c "import $1" >/dev/null 2>&1; }

echo "gpu_check: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi: none')"
echo "gpu_check: python $PYTHON; budget ${budget}s"

# 1. build
if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
    note "SKIP make cuda (no nvcc): nothing else can run"
    printf '%s\n' "$summary"
    exit 1
fi
# cuBLAS and the runtime from the toolkit beside nvcc; where its lib64 lacks them (a
# toolkit without the libraries, PyTorch's pip wheels holding them), the first folder that
# has them, linked by file name. Warnings are not errors here: another compiler version
# may warn where CI's does not, and this script checks behaviour, not style.
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
cuda_home=$(dirname "$(dirname "$nvcc_bin")")
set -- WARN="-Wall -Wextra" NVFLAGS="-O2 -g -std=c++14 -Xcompiler -Wall,-Wextra" NVCC="$nvcc_bin"
libs="" # CUDA_LIBS, where the Makefile's default will not do
if ! [ -e "$cuda_home/lib64/libcublas.so" ] || ! [ -e "$cuda_home/lib64/libcudart.so" ]; then
    dirs="$cuda_home/lib64 $cuda_home/targets/x86_64-linux/lib /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu"
    dirs="$dirs $("$PYTHON" -c 'import nvidia, os
print(" ".join(os.path.join(p, x, "lib") for p in nvidia.__path__ for x in sorted(os.listdir(p))))' 2>/dev/null)"
    want="cublas cublasLt cudart"
    { [ -e "$cuda_home/include/nccl.h" ] || [ -e /usr/include/nccl.h ]; } && want="$want nccl" # the Makefile's -lnccl
    for lib in $want; do
        f=""
        for d in $dirs; do
            f=$(ls "$d/lib$lib.so" "$d"/lib$lib.so.[0-9]* 2>/dev/null | head -n 1)
            [ -n "$f" ] && break
        done
        [ -z "$f" ] && { note "FAIL make cuda (no lib$lib.so in $dirs)"; printf '%s\n' "$summary"; exit 1; }
        libs="$libs $f -Wl,-rpath,$(dirname "$f")"
    done
    echo "gpu_check: CUDA libraries:$libs"
fi
# NCCL (tensor parallelism between GPUs): the toolkit's (the Makefile finds it), else the
# one in PyTorch's wheels; without it the ranks on distinct GPUs exchange through the host
if ! [ -e "$cuda_home/include/nccl.h" ] && ! [ -e /usr/include/nccl.h ]; then
    nccl_dir=$("$PYTHON" -c 'import nvidia.nccl, os; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null)
    nccl_lib=$(ls "$nccl_dir"/lib/libnccl.so* 2>/dev/null | head -n 1)
    if [ -n "$nccl_dir" ] && [ -e "$nccl_dir/include/nccl.h" ] && [ -n "$nccl_lib" ]; then
        echo "gpu_check: NCCL from $nccl_dir"
        libs="${libs:- -L$cuda_home/lib64 -Wl,-rpath,$cuda_home/lib64 -lcublas -lcublasLt -lcudart}"
        libs="$libs $nccl_lib -Wl,-rpath,$(dirname "$nccl_lib")"
        set -- "$@" NVDEFS="-DINFER_CUDA_NCCL=1 -I$nccl_dir/include"
    else
        echo "gpu_check: no NCCL: tensor parallelism between GPUs goes through the host"
    fi
fi
[ -n "$libs" ] && set -- "$@" CUDA_LIBS="$libs -lstdc++ -ldl -lrt"
step 200 "make cuda" make -j"$jobs" cuda build/infer-convert "$@" || { printf '%s\n' "$summary"; exit 1; }

# the small models (test_cuda's tensor-parallel cases and step 3 read them)
if [ ! -d build/models ] && py_has torch && py_has torchvision && py_has onnx && py_has onnxruntime; then
    step 90 "export the small models" "$PYTHON" models/export_models.py --size small -o build/models
fi

# 2. the op tests (they report SKIP when the CUDA runtime sees no GPU)
echo "gpu_check: $(nvidia-smi -L 2>/dev/null | grep -c '^GPU') GPU(s)"
step 60 "test_cuda" sh tests/run.sh build/cuda/test_cuda
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    note "SKIP models cuda vs cpu, timings vs PyTorch (nvidia-smi lists no GPU)"
    echo
    echo "gpu_check summary ($(($(date +%s) - start))s):$summary"
    exit $failed
fi

# 3. the real models on cuda vs cpu
if [ ! -d build/models ]; then
    note "SKIP models cuda vs cpu (no build/models, and $PYTHON lacks torch/torchvision/onnx/onnxruntime to export them)"
elif ! py_has numpy || ! py_has onnx; then
    note "SKIP models cuda vs cpu ($PYTHON lacks numpy or onnx to read the reference data)"
else
    step 90 "models cuda vs cpu" "$PYTHON" tools/bench/gpu_bench.py check --models build/models
fi

# tensor parallelism over the GPUs (tools/bench/tp.sh: tp 1, 2, 4), when there are several
n_gpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
if [ "$n_gpu" -ge 2 ] && [ -f build/models/bert/model.onnx ]; then
    step 60 "tensor parallelism over $n_gpu GPUs" env DEVICE=cuda RUNS=50 DIMS="batch=8 seq=128" sh tools/bench/tp.sh
else
    note "SKIP tensor parallelism timings ($n_gpu GPU: they need two or more, and build/models)"
fi

# 4. timings against PyTorch (leaving 60 s for step 5 when ncu is there)
ncu_bin=$(command -v ncu || { [ -x /usr/local/cuda/bin/ncu ] && echo /usr/local/cuda/bin/ncu; })
reserve=0
[ -n "$ncu_bin" ] && reserve=60
if py_has torch && py_has torchvision && "$PYTHON" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
    l=$(($(left) - 5 - reserve))
    step "$l" "timings vs PyTorch" "$PYTHON" tools/bench/gpu_bench.py bench --budget $((l - 10)) --runs 10 \
        --profile-dir build/gpu-bench/profiles
else
    note "SKIP timings vs PyTorch ($PYTHON has no torch with CUDA, or no torchvision)"
fi

# 5. kernel times: BERT and ResNet-50 (step 4's exports) once at f16 under ncu
if [ -z "$ncu_bin" ]; then
    note "SKIP kernel times (no ncu)"
elif [ "$(left)" -lt 30 ]; then
    note "SKIP kernel times (out of time)"
else
    l=$(($(left) - 3))
    step "$l" "kernel times (ncu)" "$PYTHON" tools/bench/gpu_bench.py kernels \
        --budget $((l - 3)) --models bert,resnet50
fi

echo
echo "gpu_check summary ($(($(date +%s) - start))s):$summary"
exit $failed
