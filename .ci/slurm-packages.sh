#!/usr/bin/env bash
# Installs Debian's slurm-wlm and munge for test/slurm (a one-node Slurm cluster the test starts itself), when they
# are missing and this is root with apt-get; quiet, and never fatal: without them that test skips, saying why.
# Services are not started by the packages (a temporary policy-rc.d says no when there is none).
set -u
if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci: slurm-wlm/munge missing and not installable here (needs root and apt-get); test/slurm will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
install() { apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1; }
if install || { apt-get update -qq >/dev/null 2>&1 && install; }; then
  echo "ci: installed slurm-wlm and munge (for test/slurm)" >&2
else
  echo "ci: could not install slurm-wlm and munge; test/slurm will skip" >&2
fi
if [ -n "$made_policy" ]; then rm -f "$policy"; fi
exit 0
