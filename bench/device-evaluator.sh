#!/usr/bin/env bash
# bench/evaluator.mjs on one GPU of an offline machine (see shared/device/README.md): the evaluator
# with `--synthetic flux2-klein-4b` at 1024x1024, batch 1 and 4, bfloat16 and float32, against the
# target (one H100/H200: >= 2.5 evaluations/s, host overhead < 5%).
#
# 1. Here (x86-64 Linux with the npm registry, after `npm ci`):  bash bench/device-evaluator.sh prepare
#    builds dist/ and writes .device-carry/ (ignored through .git/info/exclude): SHA256SUMS and
#    part-0, part-1, ... (58 MiB each at most, so that one part and the work tree fit the device
#    tool's 64 MiB per call), the pieces of one xz'd tar of
#      - this machine's node binary (the GPU machine has no Node.js),
#      - the production node_modules (npm ci --omit=dev; onnxruntime-node's other platforms dropped),
#        with the CUDA provider libraries of com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
#        (onnxruntime 1.29.0, CUDA 13; pairs with onnxruntime-node 1.29.0) next to libonnxruntime.so.1,
#      - dist/ and build/ (the noise addon).
#    The provider's fatbin holds SASS for sm_75/80/86/89/90/120 (no PTX), zstd-compressed, 134 of its
#    166 MB for GPUs other than the H100/H200: prepare zeroes those payloads in place (offsets kept, so
#    they xz to nothing) and the whole carry is about 85 MB: 2 parts. SWEEP_CUDA_ARCHS="90 120" keeps
#    more architectures; SWEEP_CUDA_ARCHS=all keeps the file as shipped (about 4 parts).
# 2. There, one device `run` per part, back to back: a warm machine keeps ignored files between
#    calls, but goes back after 30 s idle, and a fresh one starts bare (then carry every part again).
#    The call that completes the set unpacks, runs flux2-tiny on the GPU (a smoke test of the CUDA
#    provider, seconds), imports flux2-klein-4b (15 GB under .device-carry/models, kept while the
#    machine stays warm; 134 s on a 2-core CPU) and benchmarks the precisions it is given (both by
#    default; each loads the sessions once for batch 1 and 4). With 15 minutes of device time:
#      run(command="bash bench/device-evaluator.sh run", carry=[".device-carry/SHA256SUMS", ".device-carry/part-0"], timeout_s=120)
#      run(command="bash bench/device-evaluator.sh run bfloat16", carry=[".device-carry/part-1"], timeout_s=540)
#      run(command="bash bench/device-evaluator.sh run float32", timeout_s=420)
#    A call that finds parts missing says which and stops. $OUT gets `log` and
#    evaluator-<precision>.json (the figures of bench/evaluator.mjs --json).
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.device-carry
PART_SIZE=58M
GPU_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
ORT_VERSION=1.29.0

prepare() {
  local stage ort lib exclude
  npm run build
  stage=$(mktemp -d)
  STAGE=$stage
  trap 'rm -rf "$STAGE"' EXIT
  cp package.json package-lock.json .npmrc "$stage/"
  (cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
  ort=$stage/node_modules/onnxruntime-node
  if [ "$(node -p "require('$ort/package.json').version")" != "$ORT_VERSION" ]; then
    echo "onnxruntime-node is not $ORT_VERSION: the provider libraries of $GPU_PACKAGE would not match" >&2
    exit 1
  fi
  rm -rf "$ort/bin/napi-v6/darwin" "$ort/bin/napi-v6/win32" "$ort/bin/napi-v6/linux/arm64"
  lib=$ort/bin/napi-v6/linux/x64
  (cd "$stage" && npm pack --silent "$GPU_PACKAGE" >/dev/null)
  tar -xzf "$stage"/com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz -C "$lib" --strip-components=4 \
    package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
  if [ "${SWEEP_CUDA_ARCHS:-90}" != all ]; then prune_fatbin "$lib/libonnxruntime_providers_cuda.so" "${SWEEP_CUDA_ARCHS:-90}"; fi
  mkdir -p "$stage/$CARRY/bin"
  cp "$(command -v node)" "$stage/$CARRY/bin/node"
  cp -a dist build "$stage/"
  rm -rf "$CARRY" && mkdir -p "$CARRY"
  tar -C "$stage" -cf - node_modules dist build "$CARRY/bin" | xz -9 -T0 | split -b "$PART_SIZE" -d -a 1 - "$CARRY/part-"
  (cd "$CARRY" && sha256sum part-* >SHA256SUMS)
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qxF "/$CARRY/" "$exclude" 2>/dev/null || echo "/$CARRY/" >>"$exclude"
  ls -l "$CARRY"
  echo "carry SHA256SUMS and one part per device run, back to back: bash bench/device-evaluator.sh run"
}

# Zeroes the payloads of the fatbin entries (.nv_fatbin) for architectures not listed (e.g. "90").
prune_fatbin() {
  node - "$1" "$2" <<'EOF'
const fs = require("node:fs");
const [file, keepList] = process.argv.slice(2);
const keep = new Set(keepList.split(/[ ,]+/).map(Number));
const b = fs.readFileSync(file);
const shoff = Number(b.readBigUInt64LE(0x28)), shsize = b.readUInt16LE(0x3a), shnum = b.readUInt16LE(0x3c);
const section = (i) => ({ name: b.readUInt32LE(shoff + i * shsize), offset: Number(b.readBigUInt64LE(shoff + i * shsize + 24)), size: Number(b.readBigUInt64LE(shoff + i * shsize + 32)) });
const strtab = section(b.readUInt16LE(0x3e)).offset;
const fat = Array.from({ length: shnum }, (_, i) => section(i)).find((s) => b.toString("latin1", strtab + s.name, strtab + s.name + 11) === ".nv_fatbin\0");
if (!fat) throw new Error(`${file}: no .nv_fatbin section`);
let kept = 0, zeroed = 0;
for (let pos = fat.offset; pos + 16 <= fat.offset + fat.size; ) {
  if (b.readUInt32LE(pos) !== 0xba55ed50) { pos += 8; continue; } // containers are 8-aligned
  const end = pos + b.readUInt16LE(pos + 6) + Number(b.readBigUInt64LE(pos + 8));
  for (let p = pos + b.readUInt16LE(pos + 6); p < end; ) {
    const header = b.readUInt32LE(p + 4), size = Number(b.readBigUInt64LE(p + 8)), arch = b.readUInt32LE(p + 28);
    if (b.readUInt16LE(p) !== 2) throw new Error(`fatbin entry at ${p}: not SASS (kind ${b.readUInt16LE(p)}); use SWEEP_CUDA_ARCHS=all`);
    if (keep.has(arch)) kept += size; else { b.fill(0, p + header, p + header + size); zeroed += size; }
    p += header + size;
  }
  pos = end;
}
if (kept === 0) throw new Error(`no fatbin entry for sm ${keepList}`);
fs.writeFileSync(file, b);
console.log(`${file}: SASS for sm ${keepList} kept (${(kept / 1e6).toFixed(1)} MB), ${(zeroed / 1e6).toFixed(1)} MB of other architectures zeroed`);
EOF
}

run() {
  local root missing out nv models p precisions=("$@")
  [ ${#precisions[@]} -gt 0 ] || precisions=(bfloat16 float32)
  root=$(pwd)
  out=${OUT:-$root/$CARRY/out}
  mkdir -p "$out"
  missing=$(cd "$CARRY" && while read -r _ part; do [ -f "$part" ] || printf '%s ' "$part"; done <SHA256SUMS)
  if [ -n "$missing" ]; then
    echo "still to carry: $missing(one more device run each, while this machine is warm); here: $(cd "$CARRY" && echo part-*)"
    exit 0
  fi
  if [ ! -x "$CARRY/bin/node" ]; then
    (cd "$CARRY" && sha256sum --quiet -c SHA256SUMS)
    cat "$CARRY"/part-* | xz -dc | tar -x -C "$root"
  fi
  export PATH=$root/$CARRY/bin:$PATH
  # CUDA 13 runtime, cuBLAS, cuRAND, cuFFT, cuDNN: the toolkit's lib64 and PyTorch's nvidia-* packages
  nv=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null || true)
  LD_LIBRARY_PATH=$( { [ -z "$nv" ] || find "$nv/nvidia" -name 'lib*.so*' -printf '%h\n'; ls -d /usr/local/cuda/lib64 /usr/local/nvidia/lib64 2>/dev/null || true; } | sort -u | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH CUDA_MODULE_LOADING=LAZY
  models=$root/$CARRY/models
  {
    nvidia-smi -L
    echo "node $(node --version), onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version")"
    echo "== smoke test: flux2-tiny on GPU 0 (the CUDA provider loads and runs)"
    node bench/evaluator.mjs --synthetic flux2-tiny --device 0 --height 256 --width 256 --evals 4 --precision float32
    if [ ! -f "$models/flux2-klein-4b/manifest.json" ]; then
      echo "== import --synthetic flux2-klein-4b"
      time node bin/sweep.js models import --synthetic flux2-klein-4b --out "$models/flux2-klein-4b"
    fi
    for p in "${precisions[@]}"; do
      echo "== flux2-klein-4b, $p, 1024x1024, batch 1 and 4"
      node bench/evaluator.mjs --model "$models/flux2-klein-4b" --device 0 --batch 1,4 --precision "$p" --json "$out/evaluator-$p.json"
    done
  } 2>&1 | tee "$out/log"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash bench/device-evaluator.sh prepare | run [PRECISION...]" >&2; exit 2 ;;
esac
