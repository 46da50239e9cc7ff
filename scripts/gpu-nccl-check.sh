#!/usr/bin/env bash
# backend 'nccl' on a CUDA machine in one command (see ../shared/gpu/README.md): builds the addon and
# the NCCL plugin against the machine's Python torch (SPECFUSE_NCCL=ON: a header the plugin needs and
# cannot find is a build error, not a silent skip), then runs benchmarks/nccl.mjs (world-size-1
# correctness: collectives, a CPU tensor refused, training through NCCL equal to training alone; then
# a PanAdapter training step alone and in an NCCL group, next to PyTorch alone and under DDP), and,
# when the full node_modules (tap, tsx) is there, test/distributed/nccl.test.ts.
# Expects, from the developer machine, as scripts/gpu-bench.sh does:
#   .gpu/node.xz               ../shared/gpu/pack-node.sh .gpu
#   .gpu/node_modules.tar.xz   the production node_modules (npm ci --omit=dev --ignore-scripts, tarred),
#                              or the full one to also run the tap test
#   dist/                      the compiled TypeScript (npm run build:ts)
# (with the device tool: carry [".gpu", "dist"]), and on the GPU machine a Python whose torch is a
# complete CUDA libtorch with pip's nvidia-nccl package (its nccl.h), plus a CUDA toolkit or pip's
# cuda-toolkit[crt,cccl] for the CUDA headers torch's wheels lack (cmake/nccl-plugin.cmake).
# Usage: bash scripts/gpu-nccl-check.sh [OUTDIR] [extra args for benchmarks/nccl.mjs, e.g. --preset wv3]
# Exit status: non-zero when the build, a correctness check or the tap test fails.
set -euo pipefail
out=${1:-${OUT:-/tmp/specfuse-gpu}}; shift || true
mkdir -p "$out" /tmp/nb
xz -dc .gpu/node.xz > /tmp/nb/node && chmod +x /tmp/nb/node && export PATH=/tmp/nb:$PATH
[ -d node_modules ] || tar -xJf .gpu/node_modules.tar.xz
export LIBTORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
export SPECFUSE_BUILD_JOBS=$(nproc) SPECFUSE_NCCL=ON
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version(), torch.cuda.get_device_name())' | tee "$out/env.txt"
node --version | tee -a "$out/env.txt"
( time node scripts/build-native.mjs ) > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
grep 'specfuse: NCCL plugin' "$out/build.log" | tee -a "$out/env.txt"
ls -l build/Release | tee -a "$out/env.txt"
status=0
node benchmarks/nccl.mjs --python python3 --json "$out/nccl.json" "$@" 2>&1 | tee "$out/nccl.txt" || status=1
if [ -x node_modules/.bin/tap ]; then
  SPECFUSE_NUM_THREADS=1 node scripts/run-tests.mjs test/distributed/nccl.test.ts > "$out/nccl-test.txt" 2>&1 || status=1
  grep -E '^\s+(not ok|ok) ' "$out/nccl-test.txt" | tail -12
  tail -1 "$out/nccl-test.txt"
else
  echo "node_modules has no tap: test/distributed/nccl.test.ts not run (benchmarks/nccl.mjs checked the same things at world size 1)"
fi
exit $status
