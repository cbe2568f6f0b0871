#!/usr/bin/env bash
# The GPU benchmark in one prepared call: bench/evaluator.mjs on one GPU of an offline machine (see
# shared/device/README.md), the synthetic flux2-klein-4b at 1024x1024 in bfloat16 through the batch
# graph (one run per batch), then PyTorch's reference on the same card, against the target (one
# H100/H200: <= 0.40 s per image, host < 5%).
#
# 1. Here (x86-64 Linux with the npm registry, after `npm ci`):
#      [DIFFSYNTH_DIR=path/to/DiffSynth-Studio] bash bench/device-evaluator.sh prepare
#    builds dist/ and writes .device-carry/ (ignored through .git/info/exclude): SHA256SUMS and
#    part-0, part-1, ... (58 MiB each at most, so that one part and the work tree fit the device
#    tool's 64 MiB per call), the pieces of one xz'd tar of
#      - this machine's node binary (the GPU machine has no Node.js),
#      - the production node_modules (npm ci --omit=dev; onnxruntime-node's other platforms dropped),
#        with the CUDA provider libraries of com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
#        (onnxruntime 1.29.0, CUDA 13; pairs with onnxruntime-node 1.29.0) next to libonnxruntime.so.1,
#      - dist/ and build/ (the noise addon),
#      - for the PyTorch reference (../shared/device/ref_timing.py, needs torch on the GPU machine):
#        ref_timing.py, DiffSynth-Studio's diffsynth/ folder from DIFFSYNTH_DIR (a checkout of
#        modelscope/DiffSynth-Studio; left out, with a note, when not given) and an empty
#        stubs/modelscope/__init__.py.
#    The provider's fatbin holds SASS for sm_75/80/86/89/90/120 (no PTX), zstd-compressed, 134 of its
#    166 MB for GPUs other than the H100/H200: prepare zeroes those payloads in place (offsets kept, so
#    they xz to nothing) and the whole carry is about 85 MB: 2 parts. SWEEP_CUDA_ARCHS="90 120" keeps
#    more architectures; SWEEP_CUDA_ARCHS=all keeps the file as shipped (about 4 parts).
# 2. There, one device `run` per part, back to back: a warm machine keeps ignored files between
#    calls, but goes back after 30 s idle, and a fresh one starts bare (then carry every part again).
#    The call that completes the set unpacks and measures, in this order, each step bounded by what
#    is left of SWEEP_BUDGET_S (default 480 s; a step that would not fit is skipped, and said):
#      a. flux2-tiny on the GPU: a smoke test of the CUDA provider (seconds);
#      b. import --synthetic flux2-klein-4b (15 GB under .device-carry/models, kept while the
#         machine stays warm; 134 s on a 2-core CPU), once per call;
#      c. bfloat16, 1024x1024, the batch graph: max_batch 4, then 1, then 2, with
#         ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1 (which attention kernel ran) and the GPU's memory
#         sampled by nvidia-smi every 200 ms (the peak);
#      d. two processes on the one GPU at max_batch 4 (as a worker with --threads 2 runs);
#      e. the PyTorch reference (ref_timing.py), when python3 has torch and the bundle has diffsynth/.
#    With 15 minutes of device time:
#      run(command="bash bench/device-evaluator.sh run", carry=[".device-carry/SHA256SUMS", ".device-carry/part-0"], timeout_s=120)
#      run(command="SWEEP_BUDGET_S=500 bash bench/device-evaluator.sh run", carry=[".device-carry/part-1"], timeout_s=560)
#    A call that finds parts missing says which and stops. $OUT gets `log`, evaluator-*.json (the
#    figures of bench/evaluator.mjs --json), gpu-memory-*.txt and ref_timing.json.
# 3. Here, the same steps on the CPU with flux2-tiny at 256x256 (no GPU, no import, no PyTorch
#    unless python3 has torch and CUDA): bash bench/device-evaluator.sh run --cpu
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
  mkdir -p "$stage/$CARRY/reference/stubs/modelscope"
  : >"$stage/$CARRY/reference/stubs/modelscope/__init__.py"
  cp ../shared/device/ref_timing.py "$stage/$CARRY/reference/"
  if [ -n "${DIFFSYNTH_DIR:-}" ] && [ -d "$DIFFSYNTH_DIR/diffsynth" ]; then
    cp -a "$DIFFSYNTH_DIR/diffsynth" "$stage/$CARRY/reference/"
  else
    echo "DIFFSYNTH_DIR not given (a checkout of modelscope/DiffSynth-Studio): the bundle has no PyTorch reference" >&2
  fi
  rm -rf "$CARRY" && mkdir -p "$CARRY"
  tar -C "$stage" -cf - node_modules dist build "$CARRY/bin" "$CARRY/reference" | xz -9 -T0 | split -b "$PART_SIZE" -d -a 1 - "$CARRY/part-"
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

# Seconds left of the budget; a step runs only if its own estimate fits.
left() { echo $((DEADLINE - $(date +%s))); }
fits() {
  if [ "$(left)" -lt "$1" ]; then
    echo "== skipped: $2 (needs about $1 s, $(left) s left of SWEEP_BUDGET_S)"
    return 1
  fi
}

# The GPU's memory in use every 200 ms while a command runs; prints the peak (MiB) into $2.
with_gpu_memory() {
  local file=$1 sampler
  shift
  if command -v nvidia-smi >/dev/null && [ -z "$CPU" ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 200 >"$file.samples" &
    sampler=$!
    "$@" || true
    kill "$sampler" 2>/dev/null || true
    echo "peak GPU memory: $(sort -n "$file.samples" | tail -1) MiB" | tee "$file"
  else
    "$@" || true
    echo "peak GPU memory: no GPU (CPU run)" | tee "$file"
  fi
}

run() {
  local root missing out nv models='' p batch bench=() precisions=() pids=()
  CPU=
  for p in "$@"; do
    if [ "$p" = --cpu ]; then CPU=1; else precisions+=("$p"); fi
  done
  if [ ${#precisions[@]} -eq 0 ]; then
    if [ -n "$CPU" ]; then precisions=(float32); else precisions=(bfloat16); fi
  fi
  root=$(pwd)
  out=${OUT:-$root/$CARRY/out}
  mkdir -p "$out"
  DEADLINE=$(($(date +%s) + ${SWEEP_BUDGET_S:-480}))
  if [ -n "$CPU" ]; then
    # the same steps here, on the CPU, with this checkout's own node and node_modules
    bench=(node bench/evaluator.mjs --synthetic flux2-tiny --height 256 --width 256 --evals 4 --path one-run)
  else
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
    bench=(node bench/evaluator.mjs --model "$models/flux2-klein-4b" --device 0 --path one-run)
  fi
  export ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1
  {
    if [ -z "$CPU" ]; then
      nvidia-smi -L
      echo "node $(node --version), onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version")"
      echo "== a. smoke test: flux2-tiny on GPU 0 (the CUDA provider loads and runs)"
      node bench/evaluator.mjs --synthetic flux2-tiny --device 0 --height 256 --width 256 --evals 4 --precision float32 --path one-run
      if [ ! -f "$models/flux2-klein-4b/manifest.json" ] && fits 200 "import --synthetic flux2-klein-4b"; then
        echo "== b. import --synthetic flux2-klein-4b"
        time node bin/sweep.js models import --synthetic flux2-klein-4b --out "$models/flux2-klein-4b"
      fi
    fi
    for p in "${precisions[@]}"; do
      for batch in 4 1 2; do
        fits 90 "$p, max_batch $batch" || break
        echo "== c. $p, max_batch $batch, the batch graph (attention kernels as onnxruntime reports them)"
        with_gpu_memory "$out/gpu-memory-$p-$batch.txt" timeout "$(left)" "${bench[@]}" --batch "$batch" --precision "$p" --json "$out/evaluator-$p-$batch.json"
      done
    done
    if fits 120 "two processes on one GPU at max_batch 4"; then
      echo "== d. two processes on GPU 0 at max_batch 4 (a worker with --threads 2)"
      for k in 1 2; do
        timeout "$(left)" "${bench[@]}" --batch 4 --precision "${precisions[0]}" --json "$out/evaluator-2proc-$k.json" >"$out/2proc-$k.log" 2>&1 &
        pids+=($!)
      done
      with_gpu_memory "$out/gpu-memory-2proc.txt" wait "${pids[@]}"
      # shellcheck disable=SC2016 # JavaScript's template literal, not the shell's
      node -e 'const r = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8"))[0]);
        console.log(`two processes: ${r.map((x) => x.evals_per_s.toFixed(3)).join(" + ")} = ${r.reduce((a, x) => a + x.evals_per_s, 0).toFixed(3)} evaluations/s`);' \
        "$out/evaluator-2proc-1.json" "$out/evaluator-2proc-2.json" || true
    fi
    if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null && [ -d "$CARRY/reference/diffsynth" ]; then
      if fits 150 "the PyTorch reference"; then
        echo "== e. the PyTorch reference on the same card (ref_timing.py)"
        OUT=$out timeout "$(left)" python3 "$CARRY/reference/ref_timing.py" || true
      fi
    else
      echo "== e. skipped: the PyTorch reference needs python3 with torch on a GPU and the bundle's diffsynth/ (prepare with DIFFSYNTH_DIR)"
    fi
    echo "== done, $(left) s of SWEEP_BUDGET_S left"
  } 2>&1 | tee "$out/log"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash bench/device-evaluator.sh prepare | run [--cpu] [PRECISION...]" >&2; exit 2 ;;
esac
