#!/usr/bin/env bash
# The CUDA backend's one command on a GPU machine (native/cuda/README.md): builds with
# TRM_CUDA=ON for the local GPU, runs the CUDA tests and a compute-sanitizer smoke run, then
# benchmarks the operator against PyTorch (bench.js, torch_bench.py, report.py).
#   bash bench/cuda/run.sh [all|build|test|sanitize|bench]      (default all)
# Results and logs go to $OUT (default bench/cuda/out): build.log, test.log, sanitize.log,
# bench.log, cuda-results.json, torch-results.json, RESULTS-cuda.md.
# Needs node: from PATH, or from .gpu/ made by bench/cuda/pack.sh on the dev machine.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/bench/cuda/out}"
WORK="${TRM_BENCH_WORK:-/tmp/trm-cuda-bench}"
PHASE="${1:-all}"
mkdir -p "$OUT" "$WORK"
export PATH="$PATH:/usr/local/cuda/bin"
status=0
note() { echo "== $*"; }

# ---- tools ------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  if [ -f .gpu/node.xz ]; then
    mkdir -p /tmp/trm-node/bin
    xz -dc .gpu/node.xz > /tmp/trm-node/bin/node && chmod +x /tmp/trm-node/bin/node
    tar -C /tmp/trm-node -xJf .gpu/node-include.tar.xz  # -> /tmp/trm-node/include/node: build-native.js's nodedir
    export PATH="/tmp/trm-node/bin:$PATH"
  else
    echo "run.sh: no node on PATH and no .gpu/node.xz; run bench/cuda/pack.sh on the dev machine and carry .gpu" >&2
    exit 2
  fi
fi
[ -d node_modules/cmake-js ] || { [ -f .gpu/node_modules.tar.xz ] && tar -xJf .gpu/node_modules.tar.xz; }
[ -f dist/index.js ] || { [ -f .gpu/dist.tar.xz ] && tar -xJf .gpu/dist.tar.xz; }
note "node $(node --version), $(nvcc --version | tail -n 1), $(cmake --version | head -n 1)"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader || true

phase() { [ "$PHASE" = all ] || [ "$PHASE" = "$1" ]; }

# ---- build for this GPU --------------------------------------------------------------------
if phase build || [ ! -f build/Release/trm_node.node ]; then
  cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')"
  note "build: TRM_CUDA=ON for sm_${cap:-80;90}"
  rm -rf build
  if ! TRM_CUDA=ON TRM_CUDA_ARCHITECTURES="${cap:-80;90}" node scripts/build-native.js > "$OUT/build.log" 2>&1; then
    tail -n 40 "$OUT/build.log"
    echo "run.sh: build failed (log: build.log)" >&2
    exit 1
  fi
  tail -n 2 "$OUT/build.log"
  # Resource report of the kernels (registers, spills): cheap, and the first thing to read when tuning.
  cuobjdump --dump-resource-usage build/libtrm_cuda.a >> "$OUT/build.log" 2>&1 || true
fi
node -e "console.log('cudaAvailable', JSON.stringify(require('./dist').cudaAvailable()))"

# ---- tests ---------------------------------------------------------------------------------
if phase test; then
  note "test: op harness (every CPU and CUDA kernel vs float64 at tile edges)"
  { cmake --build build --target trm_op_harness && build/trm_op_harness; } > "$OUT/test.log" 2>&1 || status=1
  # On this machine the CUDA ops must run, not be skipped.
  grep -q "^op harness: CUDA on " "$OUT/test.log" || status=1
  grep -E "^FAIL|^skip|CUDA on|passed|FAILED|error" "$OUT/test.log" | head -n 30
  note "test: vitest test/cuda (parity vs the CPU operator)"
  node node_modules/vitest/vitest.mjs run test/cuda >> "$OUT/test.log" 2>&1 || status=1
  grep -E "Test Files|Tests |FAIL|✗|×" "$OUT/test.log" | head -n 30
fi

# ---- compute-sanitizer smoke ---------------------------------------------------------------
if phase sanitize; then
  note "sanitize: memcheck on bench/cuda/smoke.js (graphs off)"
  if command -v compute-sanitizer >/dev/null 2>&1; then
    TRM_CUDA_GRAPHS=0 timeout 300 compute-sanitizer --tool memcheck --print-limit 20 node bench/cuda/smoke.js > "$OUT/sanitize.log" 2>&1 || status=1
    tail -n 12 "$OUT/sanitize.log"
  else
    echo "compute-sanitizer not found" | tee "$OUT/sanitize.log"
  fi
fi

# ---- benchmark -----------------------------------------------------------------------------
if phase bench; then
  note "bench: trm-node cuda (bench.js), then PyTorch (torch_bench.py)"
  {
    node bench/cuda/bench.js --out "$OUT" --work "$WORK" --budget "${TRM_BENCH_BUDGET:-10}" || status=1
    python3 bench/cuda/torch_bench.py --out "$OUT" --work "$WORK" --budget "${TRM_BENCH_BUDGET:-10}" \
      --compile-unit "${TRM_TORCH_COMPILE_UNIT:-l_level}" || status=1
    python3 bench/cuda/report.py --out "$OUT"
  } > "$OUT/bench.log" 2>&1
  grep -vE "^(check|wrote)" "$OUT/bench.log" | tail -n 40
fi
exit $status
