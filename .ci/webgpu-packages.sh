#!/usr/bin/env bash
# Installs what the webgpu tests need, when missing and this is root with apt-get: Debian's chromium (its
# SwiftShader Vulkan driver, /usr/lib/chromium/vk_swiftshader_icd.json, and the headless browser for
# test/browser.test.ts) and the Vulkan loader libvulkan1 that Dawn (npm webgpu) opens. Quiet, and never fatal:
# without them those tests skip, saying why.
set -u
if [ -e /usr/lib/chromium/vk_swiftshader_icd.json ] && [ -x /usr/bin/chromium ] && /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci: chromium/libvulkan1 missing and not installable here (needs root and apt-get); the webgpu and browser tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null 2>&1; }
if install || { apt-get update -qq >/dev/null 2>&1 && install; }; then
  echo "ci: installed chromium and libvulkan1 (for the webgpu and browser tests)" >&2
else
  echo "ci: could not install chromium and libvulkan1; the webgpu and browser tests will skip" >&2
fi
exit 0
