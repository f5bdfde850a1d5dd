#!/usr/bin/env python3
"""Trains the project's mini T5: a T5 v1.0 (relu, tied embeddings, the real 32,128-token vocabulary, ~10.3M
parameters) on the corpus of build_corpus.ts, with T5's span corruption (15% noise, mean span 3) mixed with the
supervised source tasks (MNLI, QQP, QNLI, SNLI in this project's DePT templates), in bf16 autocast, for a
wall-clock budget. Writes a Hugging Face model folder (config.json, model-*.safetensors shards of at most 15 MiB
and model.safetensors.index.json, the tokenizer files), HF's logits for a fixed batch (parity.safetensors +
parity.json), the training log (train_log.jsonl), summary.json and a loss-curve SVG.

    python3 train.py --self-test                                   # CPU, no transformers needed
    python3 train.py --corpus DIR --out DIR --budget-s 400         # the real run (GPU, transformers)
    python3 train.py --corpus DIR --out DIR --model stand-in --steps 3 --batch-size 4   # CPU smoke run
    python3 train.py --make-fixture DIR                            # the tiny checkpoint of the TS parity test

`--model hf` (the default) builds transformers' T5ForConditionalGeneration: that path only runs where transformers
is installed (the GPU machine). `--model stand-in` builds standin_t5.StandInT5, a plain-PyTorch T5 with the same
parameter names, so that everything else (data, objective, batching, schedule, logging, writing) runs here on the
CPU. Every piece below the model is a plain function, checked by --self-test.

Only numpy and torch are needed besides transformers; the safetensors files are written by hand (the format is
an 8-byte header length, a JSON header, the raw little-endian data).
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import platform
import queue
import shutil
import struct
import sys
import threading
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PAD_ID = 0
EOS_ID = 1
SENTINEL_0 = 32099  # <extra_id_0>; <extra_id_k> is 32099 - k
NOISE_DENSITY = 0.15
MEAN_SPAN = 3.0
IGNORE = -100
MAX_SHARD_BYTES = 15 * 2**20
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "spiece.model")

# T5 v1.0 (relu, tied, the real vocabulary) at ~10M parameters; the embedding alone is 32128 x 192 = 6.17M.
MINI_T5_CONFIG = {
    "architectures": ["T5ForConditionalGeneration"],
    "model_type": "t5",
    "vocab_size": 32128,
    "d_model": 192,
    "d_kv": 48,
    "d_ff": 768,
    "num_layers": 4,
    "num_decoder_layers": 4,
    "num_heads": 4,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-06,
    "initializer_factor": 1.0,
    "feed_forward_proj": "relu",
    "is_encoder_decoder": True,
    "tie_word_embeddings": True,
    "use_cache": True,
    "pad_token_id": PAD_ID,
    "eos_token_id": EOS_ID,
    "decoder_start_token_id": PAD_ID,
}


# --- corpus files -------------------------------------------------------------------------------------------------

def read_u16_gz(path):
    """A build_corpus.ts token file: gzip of little-endian uint16 ids."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) % 2:
        raise ValueError(f"{path}: odd byte count {len(data)}, expected uint16 ids")
    return np.frombuffer(data, dtype="<u2").astype(np.int64)


def parse_supervised(ids, where="<supervised>"):
    """Records [task, n, n source ids, m, m target ids] -> list of (task, source array, target array)."""
    out, p = [], 0
    while p < len(ids):
        if p + 2 > len(ids):
            raise ValueError(f"{where}: truncated record at {p}")
        task, n = int(ids[p]), int(ids[p + 1])
        src = ids[p + 2:p + 2 + n]
        q = p + 2 + n
        if q >= len(ids):
            raise ValueError(f"{where}: truncated record at {p}")
        m = int(ids[q])
        tgt = ids[q + 1:q + 1 + m]
        if len(src) != n or len(tgt) != m or n == 0 or m == 0 or src[-1] != EOS_ID or tgt[-1] != EOS_ID:
            raise ValueError(f"{where}: malformed record at {p}")
        out.append((task, src, tgt))
        p = q + 1 + m
    return out


# --- span corruption ----------------------------------------------------------------------------------------------

def span_counts(length, density=NOISE_DENSITY, mean_span=MEAN_SPAN):
    """(noise tokens, noise spans) of a `length`-token chunk, as T5: round(length*density), round(noise/mean)."""
    noise = min(max(int(round(length * density)), 1), length - 1)
    spans = max(int(round(noise / mean_span)), 1)
    return noise, spans


def corrupted_lengths(raw_length, density=NOISE_DENSITY, mean_span=MEAN_SPAN):
    """(input length, longest target length) after corrupting `raw_length` tokens, </s> included."""
    noise, spans = span_counts(raw_length, density, mean_span)
    return raw_length - noise + spans + 1, noise + spans + 2  # the target may end with a final sentinel


def raw_length_for(inputs_length, density=NOISE_DENSITY, mean_span=MEAN_SPAN):
    """The chunk length whose corrupted input (with </s>) fits `inputs_length`, counting up as T5's
    compute_input_and_target_lengths does (568 raw tokens for 512 inputs, 284 for 256)."""
    raw = inputs_length
    while corrupted_lengths(raw + 1, density, mean_span)[0] <= inputs_length:
        raw += 1
    return raw


def _random_compositions(rng, rows, total, parts, minimum):
    """`rows` random compositions of `total` into `parts` integers >= `minimum`, uniform over compositions
    (stars and bars: choose the bar positions among total - parts*minimum + parts - 1 slots)."""
    free = total - parts * minimum
    assert free >= 0, (total, parts, minimum)
    slots = free + parts - 1
    if parts == 1:
        return np.full((rows, 1), total, dtype=np.int64)
    bars = np.sort(np.argsort(rng.random((rows, slots)), axis=1)[:, :parts - 1], axis=1)
    edges = np.concatenate([np.full((rows, 1), -1), bars, np.full((rows, 1), slots)], axis=1)
    return np.diff(edges, axis=1) - 1 + minimum


def noise_masks(rng, rows, length, density=NOISE_DENSITY, mean_span=MEAN_SPAN):
    """[rows, length] bool noise masks: exactly round(length*density) noise tokens in `spans` spans; non-noise runs
    between spans have >= 1 token, the runs before the first and after the last span may be empty (so a chunk may
    start or end with noise, unlike T5's mask, which always ends with a noise span). All such masks equally likely."""
    noise, spans = span_counts(length, density, mean_span)
    noise_len = _random_compositions(rng, rows, noise, spans, 1)
    # Non-noise: spans + 1 runs, interior >= 1: give each interior run its 1 first, then compose the rest freely.
    free = _random_compositions(rng, rows, length - noise - (spans - 1), spans + 1, 0)
    free[:, 1:-1] += 1
    lengths = np.empty((rows, 2 * spans + 1), dtype=np.int64)
    lengths[:, 0::2] = free
    lengths[:, 1::2] = noise_len
    values = np.tile(np.arange(2 * spans + 1) % 2 == 1, rows)
    return np.repeat(values, lengths.reshape(-1)).reshape(rows, length)


def corrupt_with_masks(tokens, masks, sentinel0=SENTINEL_0):
    """T5 span corruption of [rows, L] tokens under [rows, L] noise masks (every row with the same number of
    spans). Inputs: the non-noise tokens with each noise span replaced by one sentinel (<extra_id_0> = 32099, then
    32098, ...), then </s>. Targets: for each span its sentinel then its tokens; a final sentinel when the chunk
    ends with non-noise (the T5 paper's "<X> for inviting <Y> last <Z>"); then </s>; rows padded with 0.
    Returns (inputs [rows, Li], targets [rows, Lt])."""
    rows, length = tokens.shape
    start = masks & ~np.concatenate([np.zeros((rows, 1), bool), masks[:, :-1]], axis=1)
    span_index = np.cumsum(start, axis=1) - 1
    sentinel = sentinel0 - span_index
    n_spans = start.sum(axis=1)
    if not (n_spans == n_spans[0]).all():
        raise ValueError("corrupt_with_masks: every row needs the same number of noise spans")
    inp = np.where(start, sentinel, np.where(masks, -1, tokens))
    inputs = inp[inp >= 0].reshape(rows, -1)
    inputs = np.concatenate([inputs, np.full((rows, 1), EOS_ID)], axis=1)
    pairs = np.stack([np.where(start, sentinel, -1), np.where(masks, tokens, -1)], axis=2).reshape(rows, 2 * length)
    final = np.where(masks[:, -1], -1, sentinel0 - n_spans)[:, None]
    tgt = np.concatenate([pairs, final], axis=1)
    valid = tgt >= 0
    count = valid.sum(axis=1)
    order = np.argsort(~valid, axis=1, kind="stable")
    width = int(count.max()) + 1
    targets = np.take_along_axis(tgt, order, axis=1)[:, :width]
    col = np.arange(width)[None, :]
    targets = np.where(col < count[:, None], targets, np.where(col == count[:, None], EOS_ID, PAD_ID))
    return inputs, targets


def span_corrupt(rng, chunks, sentinel0=SENTINEL_0):
    """Random span corruption of [rows, L] chunks: (inputs, targets) as corrupt_with_masks."""
    return corrupt_with_masks(chunks, noise_masks(rng, chunks.shape[0], chunks.shape[1]), sentinel0)


# --- batches ------------------------------------------------------------------------------------------------------

def pad_rows(rows, pad, width=None):
    width = width or max(len(r) for r in rows)
    out = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def make_batch(inputs, targets):
    """Numpy ids -> the tensors HF's forward takes: input_ids, attention_mask, labels (-100 where padded)."""
    input_ids = torch.from_numpy(np.ascontiguousarray(inputs))
    labels = torch.from_numpy(np.ascontiguousarray(targets)).clone()
    labels[labels == PAD_ID] = IGNORE
    return {"input_ids": input_ids, "attention_mask": (input_ids != PAD_ID).long(), "labels": labels}


def text_batches(stream, raw_length, batch_size, seed, sentinel0=SENTINEL_0):
    """Endless span-corruption batches from a token stream: each epoch starts at a random offset, cuts the stream
    into raw_length-token chunks, shuffles them and corrupts each with fresh random spans (T5's packing: chunks
    cross document boundaries, which </s> marks)."""
    rng = np.random.default_rng(seed)
    epoch = 0
    while True:
        offset = int(rng.integers(0, raw_length)) if len(stream) > 2 * raw_length else 0
        n = (len(stream) - offset) // raw_length
        if n < 1:
            raise ValueError(f"text stream of {len(stream)} tokens is shorter than one chunk ({raw_length})")
        chunks = stream[offset:offset + n * raw_length].reshape(n, raw_length)
        order = rng.permutation(n)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            inputs, targets = span_corrupt(rng, chunks[order[i:i + batch_size]], sentinel0)
            yield make_batch(inputs, targets)
        epoch += 1


def supervised_batches(records, batch_size, seed):
    """Endless batches of supervised examples, reshuffled every epoch, padded to the longest in the batch."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(records))
        for i in range(0, max(len(records) - batch_size + 1, 1), batch_size):
            chosen = [records[j] for j in order[i:i + batch_size]]
            yield make_batch(pad_rows([r[1] for r in chosen], PAD_ID), pad_rows([r[2] for r in chosen], PAD_ID))


def fixed_text_batches(stream, raw_length, batch_size, seed):
    """The validation batches: the held-out stream cut once, corrupted once with a fixed seed (the same every eval)."""
    rng = np.random.default_rng(seed)
    n = len(stream) // raw_length
    chunks = stream[:n * raw_length].reshape(n, raw_length)
    out = []
    for i in range(0, n, batch_size):
        inputs, targets = span_corrupt(rng, chunks[i:i + batch_size])
        out.append(make_batch(inputs, targets))
    return out


def fixed_supervised_batches(records, batch_size):
    return [make_batch(pad_rows([r[1] for r in records[i:i + batch_size]], PAD_ID), pad_rows([r[2] for r in records[i:i + batch_size]], PAD_ID))
            for i in range(0, len(records), batch_size)]


def is_supervised_step(step, rate):
    """Step `step` (0-based) trains on a supervised batch: exactly floor(n*rate) of the first n steps do, spread
    evenly (rate 0.25: steps 3, 7, 11, ...)."""
    return math.floor((step + 1) * rate) > math.floor(step * rate)


class Prefetch:
    """Runs a batch iterator in a background thread, `depth` batches ahead (the corruption is numpy work)."""

    def __init__(self, iterator, depth=8, pin=False):
        self.q = queue.Queue(maxsize=depth)
        self.pin = pin
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self.thread.start()

    def _run(self, iterator):
        try:
            for item in iterator:
                self.q.put({k: v.pin_memory() for k, v in item.items()} if self.pin else item)
        except BaseException as e:  # reported by __next__
            self.error = e
            self.q.put(None)

    def __next__(self):
        item = self.q.get()
        if item is None:
            raise RuntimeError(f"batch thread failed: {self.error!r}")
        return item


# --- schedule -----------------------------------------------------------------------------------------------------

def learning_rate(step, progress, peak, warmup_steps, final_fraction=0.1):
    """Linear warm-up over `warmup_steps`, times a linear decay from `peak` to `final_fraction * peak` as
    `progress` (the fraction of the budget used: elapsed/budget seconds, or step/steps) goes from 0 to 1.

    Why: the number of steps that fit the wall-clock budget is known only at the end, so the decay follows the
    budget, reaching its floor when the time is up on any machine; warm-up protects Adam's first moments; a
    linear decay to a low floor is at least as good as cosine for a fixed budget."""
    warm = min(1.0, (step + 1) / max(warmup_steps, 1))
    p = min(max(progress, 0.0), 1.0)
    return peak * warm * (1.0 - (1.0 - final_fraction) * p)


# --- writing ------------------------------------------------------------------------------------------------------

DTYPE_NAMES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
HF_ALIASES = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")


def tensor_bytes(t):
    """Little-endian bytes of a float32/bf16/f16 tensor."""
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as a .safetensors file (tensors in the given order, tiling the data buffer)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """{name: float32 tensor} of a file written by write_safetensors (F32/BF16/F16), and its metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        buf = data[a:b]
        if e["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<f4").copy())
        elif e["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<i2").copy()).view(torch.bfloat16).float()
        elif e["dtype"] == "F16":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<f2").copy()).float()
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {e['dtype']}")
        out[name] = t.reshape(e["shape"])
    return out, meta


def checkpoint_tensors(model, tied):
    """The state dict as written: HF's aliases of `shared` (and lm_head when tied) left out, as save_pretrained does."""
    skip = set(HF_ALIASES) | ({"lm_head.weight"} if tied else set())
    return {k: v for k, v in model.state_dict().items() if k not in skip}


def write_sharded(out_dir, tensors, dtype=torch.bfloat16, max_shard_bytes=MAX_SHARD_BYTES, metadata=None):
    """Writes model-0000i-of-0000n.safetensors shards (greedy in order, each <= max_shard_bytes of data unless
    one tensor alone is larger) and model.safetensors.index.json. Returns the shard file names."""
    shards, current, size = [], {}, 0
    for name, t in tensors.items():
        t = t.detach().to(dtype)
        nbytes = t.numel() * t.element_size()
        if current and size + nbytes > max_shard_bytes:
            shards.append(current)
            current, size = {}, 0
        current[name] = t
        size += nbytes
    if current:
        shards.append(current)
    names, weight_map, total = [], {}, 0
    meta = {"format": "pt", **(metadata or {})}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(out_dir, fname), shard, meta)
        names.append(fname)
        for name, t in shard.items():
            weight_map[name] = fname
            total += t.numel() * t.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    write_json(os.path.join(out_dir, "model.safetensors.index.json"), index)
    return names


def read_sharded(out_dir):
    """{name: float32 tensor} of a folder written by write_sharded."""
    with open(os.path.join(out_dir, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for fname in sorted(set(index["weight_map"].values())):
        tensors, _ = read_safetensors(os.path.join(out_dir, fname))
        out.update(tensors)
    missing = set(index["weight_map"]) - set(out)
    if missing:
        raise ValueError(f"{out_dir}: tensors missing from their shards: {sorted(missing)[:3]}")
    return out


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def loss_curve_svg(log, path, title):
    """A hand-written SVG of the training and validation losses against tokens seen."""
    series = {
        "train span corruption": [(r["tokens_seen"], r["span_loss"]) for r in log if r["kind"] == "train" and r.get("span_loss") is not None],
        "train supervised": [(r["tokens_seen"], r["supervised_loss"]) for r in log if r["kind"] == "train" and r.get("supervised_loss") is not None],
        "val span corruption": [(r["tokens_seen"], r["span_val_loss"]) for r in log if r["kind"] == "val"],
        "val supervised": [(r["tokens_seen"], r["supervised_val_loss"]) for r in log if r["kind"] == "val" and r.get("supervised_val_loss") is not None],
    }
    series = {k: [(x, y) for x, y in v if y is not None] for k, v in series.items()}
    colours = {"train span corruption": "#1f77b4", "train supervised": "#ff7f0e", "val span corruption": "#17becf", "val supervised": "#d62728"}
    pts = [p for s in series.values() for p in s]
    w, h, ml, mr, mt, mb = 720, 420, 60, 190, 30, 45
    if not pts:
        pts = [(0, 0.0), (1, 1.0)]
    x1 = max(p[0] for p in pts) or 1
    y0, y1 = 0.0, max(p[1] for p in pts) * 1.05 or 1.0
    unit, unit_name = (1e6, "millions") if x1 >= 5e6 else (1e3, "thousands")
    X = lambda x: ml + (w - ml - mr) * x / x1
    Y = lambda y: mt + (h - mt - mb) * (1 - (y - y0) / (y1 - y0))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{ml}" y="18" font-size="14">{title}</text>',
           f'<line x1="{ml}" y1="{Y(y0)}" x2="{w - mr}" y2="{Y(y0)}" stroke="black"/>',
           f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{Y(y0)}" stroke="black"/>',
           f'<text x="{(ml + w - mr) / 2}" y="{h - 8}" text-anchor="middle">tokens seen (inputs + targets), {unit_name}</text>',
           f'<text x="14" y="{(mt + h - mb) / 2}" transform="rotate(-90 14 {(mt + h - mb) / 2})" text-anchor="middle">cross-entropy (nats / target token)</text>']
    for i in range(6):
        yv = y0 + (y1 - y0) * i / 5
        xv = x1 * i / 5
        out.append(f'<text x="{ml - 6}" y="{Y(yv) + 4:.1f}" text-anchor="end">{yv:.2f}</text>')
        out.append(f'<text x="{X(xv):.1f}" y="{Y(y0) + 16:.1f}" text-anchor="middle">{xv / unit:.3g}</text>')
    for k, (name, s) in enumerate(series.items()):
        if s:
            d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in s)
            out.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="1.5" points="{d}"/>')
        out.append(f'<rect x="{w - mr + 12}" y="{mt + 18 * k}" width="12" height="3" fill="{colours[name]}"/>')
        out.append(f'<text x="{w - mr + 30}" y="{mt + 18 * k + 5}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# --- model --------------------------------------------------------------------------------------------------------

def build_model(kind, cfg):
    """'hf': transformers' T5ForConditionalGeneration (GPU machine; the real mini T5). 'stand-in': the CPU
    stand-in with the same parameter names (standin_t5.py)."""
    if kind == "hf":
        from transformers import T5Config, T5ForConditionalGeneration
        return T5ForConditionalGeneration(T5Config(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")}))
    if kind == "stand-in":
        from standin_t5 import StandInT5
        return StandInT5(cfg)
    raise ValueError(f"--model must be hf or stand-in, got {kind!r}")


def load_written_model(kind, out_dir, cfg, device):
    """The written folder loaded back in float32: HF's from_pretrained for 'hf', the stand-in for 'stand-in'."""
    if kind == "hf":
        from transformers import T5ForConditionalGeneration
        try:
            model = T5ForConditionalGeneration.from_pretrained(out_dir, dtype=torch.float32)
        except TypeError:  # transformers < 4.56 named it torch_dtype
            model = T5ForConditionalGeneration.from_pretrained(out_dir, torch_dtype=torch.float32)
    else:
        model = build_model(kind, cfg)
        missing, unexpected = model.load_state_dict(read_sharded(out_dir), strict=False)
        assert not missing and not unexpected, (missing, unexpected)
    return model.float().to(device).eval()


def count_parameters(model, tied):
    """Distinct parameters (the tied embedding once)."""
    seen, n = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            n += p.numel()
    return n


@torch.no_grad()
def greedy(model, input_ids, attention_mask, steps):
    """Greedy decoding without a cache: start token 0, argmax each step, stop after </s> (pad afterwards)."""
    dec = torch.full((input_ids.shape[0], 1), PAD_ID, dtype=torch.long, device=input_ids.device)
    done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
    for _ in range(steps):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=dec).logits
        nxt = logits[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, PAD_ID), nxt)
        dec = torch.cat([dec, nxt[:, None]], 1)
        done |= nxt == EOS_ID
        if done.all():
            break
    return dec[:, 1:]


def parity_batch(stream, vocab_size):
    """The fixed batch for the parity test: three rows of held-out text of different lengths (24, 17, 9 tokens,
    the last ending with </s>, right-padded), decoder inputs [0, next 7 tokens], labels = the decoder inputs
    shifted left. Ids are taken modulo vocab_size (a no-op for the real vocabulary)."""
    lengths, dec_len = (24, 17, 9), 8
    rows, dec, labels, p = [], [], [], 0
    for n in lengths:
        seg = [int(t) % vocab_size for t in stream[p:p + n + dec_len]]
        p += n + dec_len
        rows.append(seg[:n - 1] + [EOS_ID])
        dec.append([PAD_ID] + seg[n:n + dec_len - 1])
        labels.append(seg[n:n + dec_len])
    input_ids = torch.tensor(pad_rows(rows, PAD_ID, max(lengths)))
    return {"input_ids": input_ids, "attention_mask": (input_ids != PAD_ID).long(),
            "decoder_input_ids": torch.tensor(dec), "labels": torch.tensor(labels)}


@torch.no_grad()
def write_parity(model, batch, out_dir, note):
    """parity.safetensors (logits F32 [b, t, vocab]) and parity.json (ids, masks, loss, greedy ids) computed in
    float32 by `model` (the written folder loaded back)."""
    dev = next(model.parameters()).device
    b = {k: v.to(dev) for k, v in batch.items()}
    out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], decoder_input_ids=b["decoder_input_ids"])
    logits = out.logits.float()
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), b["labels"].reshape(-1)).item()
    gen = greedy(model, b["input_ids"][:2], b["attention_mask"][:2], 8)
    write_safetensors(os.path.join(out_dir, "parity.safetensors"), {"logits": logits.cpu()}, {"note": note})
    write_json(os.path.join(out_dir, "parity.json"), {
        "note": note,
        "input_ids": batch["input_ids"].tolist(), "attention_mask": batch["attention_mask"].tolist(),
        "decoder_input_ids": batch["decoder_input_ids"].tolist(), "labels": batch["labels"].tolist(),
        "loss": loss, "greedy": {"rows": [0, 1], "max_new_tokens": 8, "ids": gen.cpu().tolist()},
        "logits_shape": list(logits.shape),
    })
    return logits.cpu(), loss


# --- training -----------------------------------------------------------------------------------------------------

def to_device(batch, device):
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def evaluate(model, batches, device, autocast):
    """Token-weighted mean cross-entropy over fixed batches."""
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        b = to_device(batch, device)
        with autocast():
            out = model(**b)
        n = int((b["labels"] != IGNORE).sum())
        total += float(out.loss) * n
        count += n
    model.train()
    return total / max(count, 1)


def train(args):
    t_start = time.time()
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    torch.manual_seed(args.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    use_autocast = device.type == "cuda" and not args.no_autocast
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_autocast else (lambda: torch.autocast("cpu", enabled=False))

    manifest_path = os.path.join(args.corpus, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    text_train = read_u16_gz(os.path.join(args.corpus, "text-train.u16.gz"))
    text_val = read_u16_gz(os.path.join(args.corpus, "text-val.u16.gz"))
    sup_train = parse_supervised(read_u16_gz(os.path.join(args.corpus, "supervised-train.u16.gz")), "supervised-train")
    sup_val = parse_supervised(read_u16_gz(os.path.join(args.corpus, "supervised-val.u16.gz")), "supervised-val")
    tasks = (manifest.get("supervised") or {}).get("tasks", [])

    cfg = dict(MINI_T5_CONFIG)
    for key in ("d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads", "dropout_rate"):
        if getattr(args, key, None) is not None:
            cfg[key] = getattr(args, key)
    model = build_model(args.model, cfg).to(device)
    model.train()
    n_params = count_parameters(model, cfg["tie_word_embeddings"])

    raw_length = raw_length_for(args.inputs_length)
    pin = device.type == "cuda"
    text_iter = Prefetch(text_batches(text_train, raw_length, args.batch_size, args.seed), pin=pin)
    sup_iter = Prefetch(supervised_batches(sup_train, args.supervised_batch_size, args.seed + 1), pin=pin) if sup_train and args.supervised_rate > 0 else None
    val_text = fixed_text_batches(text_val, raw_length, args.batch_size, 1234)
    val_sup = fixed_supervised_batches(sup_val, args.supervised_batch_size)
    if args.val_batches:
        val_text, val_sup = val_text[:args.val_batches], val_sup[:args.val_batches]

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "relative_attention_bias" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "relative_attention_bias" not in n)]
    opt_kw = {"lr": args.lr, "betas": (0.9, 0.98), "eps": 1e-8}
    if device.type == "cuda" and int(torch.__version__.split(".")[0]) >= 2:
        opt_kw["fused"] = True
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], **opt_kw)

    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "train_log.jsonl")
    log_file = open(log_path, "w")
    log = []

    def emit(rec):
        log.append(rec)
        log_file.write(json.dumps(rec) + "\n")
        log_file.flush()
        if not args.quiet:
            print(json.dumps(rec), flush=True)

    tokens = {"input": 0, "target": 0}
    examples = {"span": 0, "supervised": 0}
    window = {"span": [], "supervised": []}
    best = {"score": math.inf, "step": None, "state": None, "span_val_loss": None, "supervised_val_loss": None}
    step, t_loop = 0, time.time()
    next_eval = args.eval_every_s

    def elapsed():
        return time.time() - t_loop

    def progress():
        return step / args.steps if args.steps else elapsed() / args.budget_s

    def run_eval():
        span_val = evaluate(model, val_text, device, autocast) if val_text else None
        sup_val_loss = evaluate(model, val_sup, device, autocast) if val_sup else None
        score = (span_val or 0.0) + (sup_val_loss or 0.0)
        rec = {"kind": "val", "step": step, "time_s": round(elapsed(), 2), "tokens_seen": tokens["input"] + tokens["target"],
               "span_val_loss": span_val, "supervised_val_loss": sup_val_loss}
        if score < best["score"]:
            best.update(score=score, step=step, span_val_loss=span_val, supervised_val_loss=sup_val_loss,
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})
        emit(rec)

    while True:
        if args.steps and step >= args.steps:
            break
        if not args.steps and elapsed() >= args.budget_s:
            break
        supervised = sup_iter is not None and is_supervised_step(step, args.supervised_rate)
        cpu_batch = next(sup_iter if supervised else text_iter)
        tokens["input"] += int(cpu_batch["attention_mask"].sum())
        tokens["target"] += int((cpu_batch["labels"] != IGNORE).sum())
        batch = to_device(cpu_batch, device)
        lr = learning_rate(step, progress(), args.lr, args.warmup_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast():
            out = model(**batch)
        loss = out.loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        kind = "supervised" if supervised else "span"
        window[kind].append(loss.detach())
        examples[kind] += batch["input_ids"].shape[0]
        step += 1
        if step % args.log_every == 0:
            rec = {"kind": "train", "step": step, "time_s": round(elapsed(), 2), "lr": lr, "tokens_seen": tokens["input"] + tokens["target"],
                   "input_tokens": tokens["input"], "target_tokens": tokens["target"], "examples": dict(examples),
                   "span_loss": float(torch.stack(window["span"]).float().mean()) if window["span"] else None,
                   "supervised_loss": float(torch.stack(window["supervised"]).float().mean()) if window["supervised"] else None}
            if not math.isfinite(rec["span_loss"] or 0.0) or not math.isfinite(rec["supervised_loss"] or 0.0):
                emit(rec)
                raise RuntimeError(f"non-finite loss at step {step}")
            window = {"span": [], "supervised": []}
            emit(rec)
        if (not args.steps and elapsed() >= next_eval) or (args.steps and args.eval_every_steps and step % args.eval_every_steps == 0):
            run_eval()
            next_eval = elapsed() + args.eval_every_s
    train_time = elapsed()
    if not log or log[-1]["kind"] != "val" or log[-1]["step"] != step:
        run_eval()
    if best["state"] is not None:
        model.load_state_dict(best["state"])

    # Write the model: bf16 shards + index, config.json, tokenizer files; then load the written folder back in
    # float32 and compute the parity logits from it (what a reader of the folder gets).
    tensors = checkpoint_tensors(model, cfg["tie_word_embeddings"])
    shard_names = write_sharded(args.out, tensors, torch.bfloat16, args.max_shard_bytes,
                                {"mini_t5": "trained by scripts/mini_t5/train.py", "model": args.model})
    write_json(os.path.join(args.out, "config.json"), {**cfg, "torch_dtype": "bfloat16"})
    tok_dir = args.tokenizer or args.corpus
    for name in TOKENIZER_FILES:
        src = os.path.join(tok_dir, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(args.out, name))
    reloaded = load_written_model(args.model, args.out, cfg, device)
    note = f"{args.model} model, float32 forward of the written bf16 shards, {'CPU' if device.type == 'cpu' else torch.cuda.get_device_name(0)}"
    pb = parity_batch(text_val if len(text_val) >= 80 else text_train, cfg["vocab_size"])
    logits, parity_loss = write_parity(reloaded, pb, args.out, note)
    # The in-memory model with bf16-rounded weights must give the same logits as the folder read back.
    rounded = build_model(args.model, cfg)
    rounded.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in model.state_dict().items()}, strict=False)
    if cfg["tie_word_embeddings"] and hasattr(rounded, "tie_weights"):
        rounded.tie_weights()
    rounded = rounded.float().to(device).eval()
    with torch.no_grad():
        again = rounded(**{k: v.to(device) for k, v in pb.items() if k != "labels"}).logits.float().cpu()
    roundtrip = float((again - logits).abs().max())

    summary = {
        "model": args.model,
        "config": cfg,
        "parameters": n_params,
        "device": "cpu" if device.type == "cpu" else torch.cuda.get_device_name(0),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "transformers": _version("transformers")},
        "corpus": {"manifest_sha256": sha256_file(manifest_path), "text_train_tokens": int(len(text_train)), "text_val_tokens": int(len(text_val)),
                   "supervised_train_examples": len(sup_train), "supervised_val_examples": len(sup_val), "supervised_tasks": tasks},
        "objective": {"span_corruption": {"noise_density": NOISE_DENSITY, "mean_noise_span_length": MEAN_SPAN, "inputs_length": args.inputs_length,
                                          "raw_chunk_length": raw_length, "max_targets_length": corrupted_lengths(raw_length)[1]},
                      "supervised_rate": args.supervised_rate},
        "optimiser": {"name": "AdamW", "peak_lr": args.lr, "betas": [0.9, 0.98], "weight_decay": args.weight_decay, "clip": args.clip,
                      "warmup_steps": args.warmup_steps, "schedule": "linear warm-up, then linear decay to 0.1 x peak over the budget"},
        "batch": {"span_corruption": args.batch_size, "supervised": args.supervised_batch_size},
        "budget_s": args.budget_s, "steps_limit": args.steps,
        "steps": step, "train_time_s": round(train_time, 1), "wall_time_s": round(time.time() - t_start, 1),
        "tokens_seen": dict(tokens), "examples_seen": dict(examples),
        "tokens_note": "non-pad input tokens and non-ignored target tokens of every training batch",
        "final": {k: log[-1].get(k) for k in ("span_val_loss", "supervised_val_loss")},
        "last_train": next((r for r in reversed(log) if r["kind"] == "train"), None),
        "best": {"step": best["step"], "span_val_loss": best["span_val_loss"], "supervised_val_loss": best["supervised_val_loss"]},
        "written_weights": "the weights at the best validation score (span + supervised validation loss)",
        "parity": {"loss": parity_loss, "roundtrip_max_abs_diff": roundtrip},
        "autocast_bf16": use_autocast,
        "files": {},
    }
    loss_curve_svg(log, os.path.join(args.out, "loss.svg"), f"mini T5 ({n_params / 1e6:.1f}M parameters, {args.model}): losses")
    for name in shard_names + ["model.safetensors.index.json", "config.json", "parity.safetensors", "parity.json", "train_log.jsonl", "loss.svg"]:
        summary["files"][name] = {"bytes": os.path.getsize(os.path.join(args.out, name)), "sha256": sha256_file(os.path.join(args.out, name))}
    log_file.close()
    summary["files"]["train_log.jsonl"] = {"bytes": os.path.getsize(log_path), "sha256": sha256_file(log_path)}
    write_json(os.path.join(args.out, "summary.json"), summary)
    print(json.dumps({"steps": step, "train_time_s": summary["train_time_s"], "parameters": n_params, "best": summary["best"],
                      "parity_roundtrip_max_abs_diff": roundtrip, "out": args.out}), flush=True)
    if roundtrip > 1e-5:
        raise RuntimeError(f"the written folder does not give the in-memory model's logits (max |diff| {roundtrip})")
    return summary


def _version(mod):
    try:
        return __import__(mod).__version__
    except Exception:
        return None


# --- the tiny fixture of the TypeScript parity test ---------------------------------------------------------------

FIXTURE_CONFIG = {**MINI_T5_CONFIG, "vocab_size": 256, "d_model": 16, "d_kv": 8, "d_ff": 32, "num_layers": 2, "num_decoder_layers": 2,
                  "num_heads": 2, "dropout_rate": 0.0}


def make_fixture(out_dir):
    """A tiny stand-in T5 (vocab 256, d_model 16, 2 + 2 layers) trained 40 steps on synthetic span corruption,
    written as bf16 shards of at most 4 KiB with an index, plus its parity files: the TypeScript test checks that
    packages/t5 loads the folder and computes these logits (the stand-in is torch code independent of ours)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = dict(FIXTURE_CONFIG)
    model = build_model("stand-in", cfg)
    stream = rng.integers(3, 200, size=20000)
    stream[::37] = EOS_ID
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batches = text_batches(stream, raw_length_for(32), 16, 0, cfg["vocab_size"] - 1)
    for _ in range(40):
        out = model(**next(batches))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    os.makedirs(out_dir, exist_ok=True)
    write_sharded(out_dir, checkpoint_tensors(model, True), torch.bfloat16, 4096, {"mini_t5": "test fixture: tiny stand-in, synthetic data"})
    write_json(os.path.join(out_dir, "config.json"), cfg)
    reloaded = load_written_model("stand-in", out_dir, cfg, torch.device("cpu"))
    # Ids for the fixture: the synthetic stream, shifted so sentinels-like high ids (250..255) appear too.
    ids = np.concatenate([stream[:40], np.arange(250, 256), stream[40:200]])
    write_parity(reloaded, parity_batch(ids, cfg["vocab_size"]), out_dir, "stand-in T5 (scripts/mini_t5/standin_t5.py), float32 forward of the bf16 shards, CPU")
    print(f"wrote {out_dir}")


# --- self-test ----------------------------------------------------------------------------------------------------

def self_test():
    """Checks every piece that does not need transformers, with expected values worked out by hand."""
    import tempfile
    checks = []

    def check(name, ok):
        checks.append((name, bool(ok)))
        print(("ok   " if ok else "FAIL ") + name, flush=True)

    # The T5 paper's example: "Thank you for inviting me to your party last week ." with "for inviting" and "last"
    # dropped. Words as ids 100..110; <X> <Y> <Z> = 32099, 32098, 32097.
    words = "Thank you for inviting me to your party last week .".split()
    ids = np.arange(100, 100 + len(words))[None]
    mask = np.array([[w in ("for", "inviting", "last") for w in words]])
    inp, tgt = corrupt_with_masks(ids, mask)
    # inputs: Thank you <X> me to your party <Y> week . </s>
    check("paper example: inputs", inp.tolist() == [[100, 101, 32099, 104, 105, 106, 107, 32098, 109, 110, 1]])
    # targets: <X> for inviting <Y> last <Z> </s>
    check("paper example: targets", tgt.tolist() == [[32099, 102, 103, 32098, 108, 32097, 1]])
    # A chunk ending with noise has no final sentinel: "a b [c d]" -> inputs a b <X> </s>, targets <X> c d </s>.
    inp2, tgt2 = corrupt_with_masks(np.array([[5, 6, 7, 8]]), np.array([[False, False, True, True]]))
    check("ending with noise: no final sentinel", inp2.tolist() == [[5, 6, 32099, 1]] and tgt2.tolist() == [[32099, 7, 8, 1]])
    # Two rows, one ending with noise and one not: targets padded with 0 after </s>.
    _, tgt3 = corrupt_with_masks(np.array([[5, 6, 7, 8], [5, 6, 7, 8]]), np.array([[False, True, False, False], [False, False, False, True]]))
    check("rows of different target length are padded", tgt3.tolist() == [[32099, 6, 32098, 1], [32099, 8, 1, 0]])

    # Lengths: 568 raw tokens -> 512 inputs (T5's figure): 85 noise tokens in 28 spans, 568 - 85 + 28 + 1 = 512.
    check("span_counts(568) = (85, 28)", span_counts(568) == (85, 28))
    check("raw_length_for(512) = 568", raw_length_for(512) == 568)
    # 284 raw -> noise round(42.6) = 43, spans round(14.33) = 14, inputs 284 - 43 + 14 + 1 = 256; 285 -> 257.
    check("raw_length_for(256) = 284", raw_length_for(256) == 284 and corrupted_lengths(285)[0] == 257)

    rng = np.random.default_rng(7)
    masks = noise_masks(rng, 2000, 283)
    starts = masks & ~np.concatenate([np.zeros((2000, 1), bool), masks[:, :-1]], 1)
    check("every mask has 42 noise tokens", (masks.sum(1) == 42).all())
    check("every mask has 14 spans", (starts.sum(1) == 14).all())
    check("mean span length 3", abs(masks.sum() / starts.sum() - 3.0) < 1e-9)
    check("some chunks start with noise, some end with non-noise", masks[:, 0].any() and (~masks[:, -1]).any() and masks[:, -1].any())
    check("the noise is spread over the chunk", abs(masks.mean(0)[:140].mean() - masks.mean(0)[143:].mean()) < 0.01)
    inp4, tgt4 = span_corrupt(np.random.default_rng(1), np.tile(np.arange(2, 285), (3, 1)))
    check("corrupted inputs are 256 long and end with </s>", inp4.shape == (3, 256) and (inp4[:, -1] == EOS_ID).all())
    check("targets fit the stated maximum", tgt4.shape[1] <= corrupted_lengths(283)[1])
    # Reassembling inputs and targets gives the chunk back.
    row_i, row_t = inp4[0].tolist(), tgt4[0].tolist()
    spans, cur = {}, None
    for t in row_t:
        if t >= 32000:
            cur = t
            spans[cur] = []
        elif t in (EOS_ID, PAD_ID):
            break
        else:
            spans[cur].append(t)
    rebuilt = [x for t in row_i[:-1] for x in (spans.get(t, []) if t >= 32000 else [t])]
    check("inputs + targets reassemble the chunk", rebuilt == list(range(2, 285)))
    again = span_corrupt(np.random.default_rng(1), np.tile(np.arange(2, 285), (3, 1)))
    check("the same seed gives the same corruption", (again[0] == inp4).all() and (again[1] == tgt4).all())

    # Supervised records and batches.
    recs = np.array([2, 3, 10, 11, 1, 2, 632, 1, 0, 2, 20, 1, 1, 1])
    parsed = parse_supervised(recs)
    check("supervised records parse", [(t, s.tolist(), g.tolist()) for t, s, g in parsed] == [(2, [10, 11, 1], [632, 1]), (0, [20, 1], [1])])
    try:
        parse_supervised(np.array([0, 3, 10, 11]))
        check("a truncated record is refused", False)
    except ValueError:
        check("a truncated record is refused", True)
    b = make_batch(pad_rows([s for _, s, _ in parsed], PAD_ID), pad_rows([g for _, _, g in parsed], PAD_ID))
    check("batch: attention mask", b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]])
    check("batch: labels -100 where padded", b["labels"].tolist() == [[632, 1], [1, -100]])
    check("mixture rate 0.25: steps 3, 7, 11", [s for s in range(12) if is_supervised_step(s, 0.25)] == [3, 7, 11])
    check("mixture rate 0.3: 30 of 100 steps", sum(is_supervised_step(s, 0.3) for s in range(100)) == 30)
    stream = np.arange(2, 2 + 283 * 10)
    tb = next(text_batches(stream, 283, 4, 0))
    check("text batch shapes", tuple(tb["input_ids"].shape) == (4, 256) and tb["labels"].shape[0] == 4)

    # Schedule: warm-up 100 steps to 1e-3, linear to 1e-4 at the end of the budget.
    check("lr: first step of warm-up", abs(learning_rate(0, 0.0, 1e-3, 100) - 1e-5) < 1e-15)
    check("lr: end of warm-up", abs(learning_rate(99, 0.0, 1e-3, 100) - 1e-3) < 1e-15)
    check("lr: half-way", abs(learning_rate(500, 0.5, 1e-3, 100) - 5.5e-4) < 1e-15)
    check("lr: end of budget", abs(learning_rate(900, 1.0, 1e-3, 100) - 1e-4) < 1e-15)

    # Writing: bf16 rounding, shards within the limit, index, round trip.
    with tempfile.TemporaryDirectory() as d:
        # c: 12 bytes, a and b: 2400 bytes each as bf16 -> shard 1 = c + a (2412 <= 4096), shard 2 = b.
        t = {"c.weight": torch.tensor([[1.0, 1.00390625, 1.005859375], [-2.5, 3.0e-3, 65504.0]]),
             "a.weight": torch.arange(1200, dtype=torch.float32), "b.weight": -torch.ones(1200)}
        names = write_sharded(d, t, torch.bfloat16, 4096)
        back = read_sharded(d)
        # bf16 keeps 8 significant bits: 1.00390625 = 1 + 2^-8 ties to even -> 1.0; 1.005859375 -> 1.0078125.
        check("bf16: round to nearest even", back["c.weight"][0].tolist() == [1.0, 1.0, 1.0078125])
        check("bf16: 65504 -> 65536, 1199 -> 1200", back["c.weight"][1, 2].item() == 65536.0 and back["a.weight"][1199].item() == 1200.0)
        with open(os.path.join(d, "model.safetensors.index.json")) as f:
            index = json.load(f)
        check("shards: greedy, within 4096 data bytes", names == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
              and index["weight_map"] == {"a.weight": names[0], "b.weight": names[1], "c.weight": names[0]})
        check("index: total size", index["metadata"]["total_size"] == 12 + 2400 + 2400)
        with open(os.path.join(d, names[0]), "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        check("header padded to 8 bytes, data follows", n % 8 == 0 and len(raw) == 8 + n + 2412)
        check("bf16 bits of 1.0 are 0x3f80", raw[8 + n:8 + n + 2] == bytes([0x80, 0x3F]))

    # The model pieces with the stand-in: HF-style forward, loss, shift, alias-free state dict, learning on one batch.
    from standin_t5 import StandInT5, shift_right
    check("shift_right", shift_right(torch.tensor([[5, 6, -100]]), 0, 0).tolist() == [[0, 5, 6]])
    cfg = dict(FIXTURE_CONFIG)
    torch.manual_seed(0)
    model = build_model("stand-in", cfg)
    names = set(checkpoint_tensors(model, True))
    check("stand-in names are HF's", {"shared.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                                     "decoder.block.1.layer.1.EncDecAttention.o.weight", "decoder.block.0.layer.2.DenseReluDense.wi.weight",
                                     "encoder.final_layer_norm.weight"} <= names and "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight" not in names)
    batch = next(text_batches(np.random.default_rng(0).integers(3, 200, 5000), raw_length_for(32), 8, 0, cfg["vocab_size"] - 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss = model(**batch).loss
        first = first if first is not None else float(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    check(f"stand-in fits one batch (loss {first:.2f} -> {float(loss):.2f})", float(loss) < 0.5 * first)

    failed = [n for n, ok in checks if not ok]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 0 if not failed else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--self-test", action="store_true", help="check the pieces on the CPU and exit")
    p.add_argument("--make-fixture", metavar="DIR", help="write the tiny stand-in fixture of the TS parity test and exit")
    p.add_argument("--corpus", help="the folder build_corpus.ts wrote (manifest.json, *.u16.gz, tokenizer files)")
    p.add_argument("--out", help="the model folder to write")
    p.add_argument("--tokenizer", help="folder with tokenizer.json etc. (default: the corpus folder)")
    p.add_argument("--model", default="hf", choices=["hf", "stand-in"])
    p.add_argument("--budget-s", type=float, default=400.0, help="wall-clock seconds of training (default 400)")
    p.add_argument("--steps", type=int, default=0, help="train exactly this many steps instead of a time budget")
    p.add_argument("--batch-size", type=int, default=128, help="span-corruption chunks per step")
    p.add_argument("--supervised-batch-size", type=int, default=256)
    p.add_argument("--supervised-rate", type=float, default=0.25, help="share of steps that train on the supervised mixture")
    p.add_argument("--inputs-length", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup-steps", type=int, default=300)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--eval-every-s", type=float, default=20.0)
    p.add_argument("--eval-every-steps", type=int, default=0, help="with --steps: evaluate every N steps")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-batches", type=int, default=0, help="use only the first N validation batches of each kind (smoke runs)")
    p.add_argument("--max-shard-bytes", type=int, default=MAX_SHARD_BYTES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cpu", action="store_true", help="train on the CPU even where CUDA exists")
    p.add_argument("--no-autocast", action="store_true")
    p.add_argument("--quiet", action="store_true", help="do not echo the log")
    for key in ("d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads"):
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=int, help="override the mini T5's " + key)
    p.add_argument("--dropout-rate", dest="dropout_rate", type=float)
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.make_fixture:
        make_fixture(args.make_fixture)
        return 0
    if not args.corpus or not args.out:
        print("train.py: error: --corpus and --out are required (or --self-test / --make-fixture)", file=sys.stderr)
        return 2
    for name in ("manifest.json", "text-train.u16.gz", "text-val.u16.gz", "supervised-train.u16.gz", "supervised-val.u16.gz"):
        if not os.path.exists(os.path.join(args.corpus, name)):
            print(f"train.py: error: {os.path.join(args.corpus, name)} not found (build it: node --import tsx scripts/mini_t5/build_corpus.ts)", file=sys.stderr)
            return 2
    if os.path.exists(args.out) and os.listdir(args.out):
        print(f"train.py: error: {args.out} is not empty; give a new --out (nothing there is overwritten)", file=sys.stderr)
        return 2
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
