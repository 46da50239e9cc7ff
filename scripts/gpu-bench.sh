#!/usr/bin/env bash
# Builds specfuse on a CUDA machine and runs the GPU benchmark tables in one command
# (see ../shared/gpu/README.md). Expects, from the developer machine:
#   .gpu/node.xz               ../shared/gpu/pack-node.sh .gpu
#   .gpu/node_modules.tar.xz   the production node_modules (npm ci --omit=dev --ignore-scripts, tarred)
#   dist/                      the compiled TypeScript (npm run build:ts)
# and on the GPU machine a Python whose torch is a complete CUDA libtorch, with cmake and ninja.
# Usage: bash scripts/gpu-bench.sh [OUTDIR] [extra args for benchmarks/panadapter.mjs]
set -euo pipefail
out=${1:-${OUT:-/tmp/specfuse-gpu}}; shift || true
mkdir -p "$out" /tmp/nb
xz -dc .gpu/node.xz > /tmp/nb/node && chmod +x /tmp/nb/node && export PATH=/tmp/nb:$PATH
[ -d node_modules ] || tar -xJf .gpu/node_modules.tar.xz
export LIBTORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
export SPECFUSE_BUILD_JOBS=$(nproc)
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())' | tee "$out/env.txt"
node --version | tee -a "$out/env.txt"
( time node scripts/build-native.mjs ) > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
node -e "import('./dist/index.js').then(m => console.log(JSON.stringify(m.devices())))" | tee -a "$out/env.txt"
node benchmarks/panadapter.mjs --device cuda --python python3 --json "$out/panadapter.json" "$@" 2>&1 | tee "$out/panadapter.txt"
