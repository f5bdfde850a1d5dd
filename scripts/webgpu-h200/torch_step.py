"""The bench's DePT training step in PyTorch on CUDA, for the WebGPU/PyTorch ratio (random weights: timings only).

Same step as bench/run.ts: a frozen T5 (t5-small b 8 or t5-base b 2, float32, dropout 0.1 in train mode), inputs of
s = 256 positions with 80% real tokens, 2-token targets, the prompt [P; embed(ids) + (alpha/sqrt(r)) * (A @ B)],
forward + backward to P, A, B, gradient clipping to 1.0 and AdamW; m 60 / r 30 (DePT) and m 100 / r 0 (PT). One
warm-up step, then `--reps` timed steps (torch.cuda.synchronize() around each); prints one JSON object.
TF32 stays off (PyTorch's default for float32 matmuls), as WebGPU computes in plain float32.

    python3 torch_step.py --shape t5-small --reps 9
"""
import argparse
import json
import math
import statistics
import time

import torch
from transformers import T5Config, T5ForConditionalGeneration

SHAPES = {
    "t5-small": dict(d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8, batch=8),
    "t5-base": dict(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_decoder_layers=12, num_heads=12, batch=2),
}


def step_times(shape: str, m: int, r: int, s: int, reps: int) -> list[float]:
    dims = dict(SHAPES[shape])
    b = dims.pop("batch")
    config = T5Config(vocab_size=32128, feed_forward_proj="relu", dropout_rate=0.1, tie_word_embeddings=True, **dims)
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config).cuda().train()
    for p in model.parameters():
        p.requires_grad_(False)
    d = config.d_model
    real = int(s * 0.8)
    ids = torch.tensor([[5 + ((i * 31 + j * 7) % 1000) if j < real else 0 for j in range(s)] for i in range(b)], device="cuda")
    mask = (ids != 0).float()
    labels = torch.tensor([[100 + i, 1] for i in range(b)], device="cuda")
    P = torch.nn.Parameter(torch.empty(m, d, device="cuda").uniform_(-0.5, 0.5))
    params = [P]
    if r > 0:
        A = torch.nn.Parameter(torch.empty(s, r, device="cuda"))
        torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))
        B = torch.nn.Parameter(torch.full((r, d), 0.001, device="cuda"))
        params += [A, B]
    opt = torch.optim.AdamW(params, lr=0.3, eps=1e-6, weight_decay=0.0)
    scaling = 8 / math.sqrt(r) if r > 0 else 0.0

    def step() -> None:
        embeds = model.shared(ids)
        if r > 0:
            embeds = embeds + scaling * (A @ B)[None, :s]
        inputs = torch.cat([P[None].expand(b, -1, -1), embeds], dim=1)
        full_mask = torch.cat([torch.ones(b, m, device="cuda"), mask], dim=1)
        loss = model(inputs_embeds=inputs, attention_mask=full_mask, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=sorted(SHAPES), required=True)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--s", type=int, default=256)
    args = parser.parse_args()
    out = {"shape": args.shape, "torch": torch.__version__, "device": torch.cuda.get_device_name(), "random_weights": True, "s": args.s}
    for name, (m, r) in {"pt": (100, 0), "dept": (60, 30)}.items():
        t = step_times(args.shape, m, r, args.s, args.reps)
        out[f"{name}_step_s"] = statistics.median(t)
        out[f"{name}_step_min_s"] = min(t)
        out[f"{name}_step_times_s"] = t
    print(json.dumps(out))


if __name__ == "__main__":
    main()
