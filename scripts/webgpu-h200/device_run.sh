#!/usr/bin/env bash
# The one command for the GPU machine (no Node, no Vulkan loader there): unpacks .cache/webgpu-h200/carry.tar.xz
# (made by bundle.sh), unpacks the Vulkan loader debs with dpkg -x, points Vulkan at the NVIDIA driver, times the
# bench's t5-small and t5-base steps on --backend=webgpu, then the same steps in PyTorch on the same GPU, and writes
# everything and a summary with the ratios under $OUT. Random weights: timings only.
#   bash scripts/webgpu-h200/device_run.sh           # on the GPU machine
#   bash scripts/webgpu-h200/device_run.sh --local   # here: SwiftShader, the tiny shape, no PyTorch (a dry run)
set -uo pipefail
ROOT=$(pwd)
LOCAL=0; [ "${1:-}" = "--local" ] && LOCAL=1
W=$(mktemp -d)
OUT=${OUT:-$W/out}
mkdir -p "$OUT"
log() { echo "device_run: $*" | tee -a "$OUT/device_run.log" >&2; }
tar -C "$W" -xJf "$ROOT/.cache/webgpu-h200/carry.tar.xz" || { log "no carry archive (run scripts/webgpu-h200/bundle.sh here first)"; exit 2; }
for deb in "$W"/debs/*.deb; do dpkg -x "$deb" "$W/root"; done
export LD_LIBRARY_PATH="$W/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_RUNTIME_DIR="$W/xdg"; mkdir -p -m 700 "$XDG_RUNTIME_DIR"
if [ "$LOCAL" = 1 ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
elif [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  # The driver's Vulkan part lives in libGLX_nvidia.so.0; without a manifest the loader does not find it.
  lib=$( (ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0/ {print $NF; exit}'); find /usr/lib /usr/lib64 /usr/local -name 'libGLX_nvidia.so.0' 2>/dev/null | head -1)
  lib=$(echo "$lib" | head -1)
  if [ -n "$lib" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" > "$W/nvidia_icd.json"
    export VK_ICD_FILENAMES="$W/nvidia_icd.json"
    log "no NVIDIA Vulkan manifest installed; wrote one for $lib"
  else
    log "no NVIDIA Vulkan manifest and no libGLX_nvidia.so.0 found: Dawn will see no GPU"
  fi
fi
log "node $("$W/node" --version), VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-(loader default)}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >> "$OUT/device_run.log" 2>&1 || true
cd "$W"
bench() { # shape, extra args...
  local shape=$1; shift
  log "webgpu bench $shape $*"
  timeout 300 ./node bench.mjs --backend=webgpu --no-startup --json --quick --shape="$shape" "$@" > "$OUT/webgpu-$shape.json" 2> "$OUT/webgpu-$shape.log"
  log "  exit $?; $(grep -m1 'backend:' "$OUT/webgpu-$shape.log")"
}
if [ "$LOCAL" = 1 ]; then
  bench tiny-relu --s=16 --reps=1 --matmul=64
else
  bench t5-small --reps=3
  bench t5-base --reps=3
  for shape in t5-small t5-base; do
    log "torch $shape"
    timeout 240 python3 torch_step.py --shape "$shape" --reps 9 > "$OUT/torch-$shape.json" 2> "$OUT/torch-$shape.log"
    log "  exit $?"
  done
fi
# The summary: each shape's WebGPU and PyTorch steps (median and fastest) and their ratio.
./node --input-type=module -e '
import { existsSync, readFileSync, writeFileSync } from "node:fs";
const out = process.argv[1];
const read = (f) => { try { return JSON.parse(readFileSync(`${out}/${f}`, "utf8")); } catch { return null; } };
const summary = { random_weights: true };
for (const shape of ["tiny-relu", "t5-small", "t5-base"]) {
  const w = read(`webgpu-${shape}.json`)?.[shape];
  const t = read(`torch-${shape}.json`);
  if (!w && !t) continue;
  const e = { webgpu: w && { pt_step_s: w.pt_step_s, dept_step_s: w.dept_step_s, pt_step_min_s: w.pt_step_min_s, dept_step_min_s: w.dept_step_min_s, dept_pt_time_ratio: w.dept_pt_time_ratio } };
  if (t) e.torch = { device: t.device, pt_step_s: t.pt_step_s, dept_step_s: t.dept_step_s, pt_step_min_s: t.pt_step_min_s, dept_step_min_s: t.dept_step_min_s };
  if (w && t) e.webgpu_over_torch = { pt: w.pt_step_min_s / t.pt_step_min_s, dept: w.dept_step_min_s / t.dept_step_min_s };
  summary[shape] = e;
}
writeFileSync(`${out}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
console.log(JSON.stringify(summary, null, 2));
' "$OUT"
log "done; results in $OUT"
