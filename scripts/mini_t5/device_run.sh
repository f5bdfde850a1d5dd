#!/usr/bin/env bash
# The one command for the GPU machine (H200, torch + transformers, no Node, no network):
#
#   bash scripts/mini_t5/device_run.sh [BUDGET_S]        # run tool: carry [".dept-cache/mini-t5-corpus"]
#
# 1. checks the environment (python, torch, CUDA, transformers) and the carried corpus (sha256 of its manifest);
# 2. train.py --self-test, then a 20-step smoke run of the real (Hugging Face) model through the whole output path
#    (write, read back, parity logits); stops here if either fails, so a rerun has time left;
# 3. the run: train.py for BUDGET_S seconds of training (default 400; about 60 s more go to start-up and writing);
# 4. puts at most 4 files into $OUT: the two model shards, parity.safetensors and bundle.tar.gz (every small file:
#    config, index, parity.json, the log, summary, loss.svg, environment, the smoke run's summary), then prints a summary.
#
# Back on the development machine: node --conditions=dept-source --import tsx scripts/mini_t5/install_model.ts <files_at>.
#
# A dry run of this script on a CPU (no CUDA, no transformers), to check the script itself:
#   MINI_T5_STANDIN=1 MINI_T5_EXTRA="--batch-size 4 --supervised-batch-size 8 --val-batches 2" PYTHON=/usr/bin/python3 \
#     OUT=/tmp/out bash scripts/mini_t5/device_run.sh 10
set -uo pipefail
BUDGET="${1:-400}"
CORPUS="${MINI_T5_CORPUS:-.dept-cache/mini-t5-corpus}"
PY="${PYTHON:-python3}"
STANDIN="${MINI_T5_STANDIN:-}"
# shellcheck disable=SC2206
EXTRA=(${MINI_T5_EXTRA:-})
[ -n "$STANDIN" ] && EXTRA+=(--model stand-in)
: "${OUT:?device_run: OUT must name the folder that comes back}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
say() { echo "device_run: $*"; }

bundle() {
  local files=()
  for f in mini-t5/config.json mini-t5/model.safetensors.index.json mini-t5/parity.json mini-t5/train_log.jsonl mini-t5/summary.json \
           mini-t5/loss.svg env.json self-test.txt smoke.txt run.txt smoke/summary.json smoke/train_log.jsonl; do
    [ -e "$WORK/$f" ] && files+=("$f")
  done
  [ "${#files[@]}" -gt 0 ] && tar czf "$OUT/bundle.tar.gz" -C "$WORK" "${files[@]}"
  for f in "$WORK"/mini-t5/model-*.safetensors "$WORK"/mini-t5/parity.safetensors; do [ -e "$f" ] && cp "$f" "$OUT/"; done
  ls -l "$OUT"
}
fail() { say "FAILED: $*"; bundle; exit 1; }

"$PY" - ${STANDIN:+standin} > "$WORK/env.json" <<'EOF' || { cat "$WORK/env.json"; fail "environment (need CUDA and transformers)"; }
import json, platform, sys
info = {"python": platform.python_version()}
try:
    import torch, numpy
    info.update(torch=torch.__version__, numpy=numpy.__version__, cuda=torch.cuda.is_available(),
                device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, cuda_version=torch.version.cuda)
    import transformers
    info["transformers"] = transformers.__version__
except Exception as e:
    info["error"] = repr(e)
print(json.dumps(info))
ok = info.get("cuda") and info.get("transformers") and "error" not in info
sys.exit(0 if ok or (sys.argv[1:] == ["standin"] and "torch" in info) else 3)
EOF
say "environment $(cat "$WORK/env.json")"

[ -f "$CORPUS/manifest.json" ] || fail "$CORPUS/manifest.json not found: build the corpus and carry it (carry: [\"$CORPUS\"])"
"$PY" - "$CORPUS" <<'EOF' || fail "corpus files do not match their manifest"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
bad = [f["name"] for f in m["files"] if hashlib.sha256(open(os.path.join(d, f["name"]), "rb").read()).hexdigest() != f["sha256"]]
print("device_run: corpus", m["totals"], "mismatch:", bad)
sys.exit(1 if bad else 0)
EOF

"$PY" scripts/mini_t5/train.py --self-test > "$WORK/self-test.txt" 2>&1 || { tail -5 "$WORK/self-test.txt"; fail "self-test"; }
say "self-test: $(tail -1 "$WORK/self-test.txt")"

T0=$(date +%s)
"$PY" scripts/mini_t5/train.py --corpus "$CORPUS" --out "$WORK/smoke" --steps 20 --eval-every-steps 10 --val-batches 2 --log-every 5 --quiet "${EXTRA[@]}" \
  > "$WORK/smoke.txt" 2>&1 || { tail -20 "$WORK/smoke.txt"; fail "smoke run (20 steps of the HF model)"; }
say "smoke run ok in $(( $(date +%s) - T0 )) s: $(tail -1 "$WORK/smoke.txt")"

T0=$(date +%s)
"$PY" scripts/mini_t5/train.py --corpus "$CORPUS" --out "$WORK/mini-t5" --budget-s "$BUDGET" --quiet "${EXTRA[@]}" > "$WORK/run.txt" 2>&1
RC=$?
say "run exited $RC after $(( $(date +%s) - T0 )) s"
tail -3 "$WORK/run.txt"
[ -f "$WORK/mini-t5/train_log.jsonl" ] && { say "log (every 10th record):"; awk 'NR % 10 == 0' "$WORK/mini-t5/train_log.jsonl" | cut -c1-220; tail -1 "$WORK/mini-t5/train_log.jsonl" | cut -c1-220; }
bundle
[ "$RC" -eq 0 ] || { say "FAILED: the run (exit $RC)"; exit 1; }
say "done"
