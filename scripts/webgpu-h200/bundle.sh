#!/usr/bin/env bash
# Packs what the WebGPU bench needs on a machine without Node or Vulkan loaders (the H200 machine) into one
# archive, .cache/webgpu-h200/carry.tar.xz (must stay under the device tool's 64 MiB carry limit):
#   node              this machine's Node binary (the bench runs on it there)
#   bench.mjs         bench/run.ts and the packages it imports, bundled by esbuild into one file
#   node_modules/webgpu   Dawn's binding: package.json, index.js and dist/linux-x64/dawn.node only
#   debs/             Debian's Vulkan loader and GL dispatch libraries, unpacked there with dpkg -x
#   torch_step.py     the same DePT step in PyTorch, for the ratio
# Then: the device command in scripts/webgpu-h200/README.md (device_run.sh). Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.cache/webgpu-h200
stage="$out/carry"
rm -rf "$stage" && mkdir -p "$stage/node_modules/webgpu/dist/linux-x64" "$stage/debs"
node_modules/.bin/esbuild bench/run.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/bench.mjs" \
  --external:webgpu --external:@tensorflow/tfjs-backend-wasm --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as dept_createRequire } from 'node:module'; const require = dept_createRequire(import.meta.url);"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
cp "$(readlink -f "$(command -v node)")" "$stage/node"
cp scripts/webgpu-h200/torch_step.py "$stage/"
( cd "$stage/debs" && apt-get download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libx11-xcb1 libxext6 2>/dev/null ) \
  || { echo "bundle: apt-get download failed (run apt-get update once)" >&2; exit 2; }
tar -C "$stage" -cf - . | xz -T0 -6 > "$out/carry.tar.xz"
size=$(stat -c %s "$out/carry.tar.xz")
echo "bundle: $out/carry.tar.xz, $((size / 1048576)) MiB ($(du -sh "$stage" | cut -f1) unpacked)" >&2
if [ "$size" -gt $((60 * 1048576)) ]; then echo "bundle: over 60 MiB; the device tool carries at most 64 MiB in all" >&2; exit 2; fi
