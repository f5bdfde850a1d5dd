"""Reference values from Hugging Face's own T5 code for a DePT case folder (config.json, model.safetensors,
bank/, batch.json): loss, logits, encoder output, gradients w.r.t. P, A, B and greedy ids, in float64.

Run where torch + transformers + safetensors exist (not needed by the project's tests, which read the JSON it
wrote):  python3 scripts/hf_reference.py test/fixtures/tiny-gated > test/fixtures/tiny-gated/expected.json
"""
import json
import math
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import T5Config, T5ForConditionalGeneration

case = sys.argv[1]
raw = json.load(open(f"{case}/config.json"))
for key in ("initializer_factor", "dropout_rate", "layer_norm_epsilon"):
    if key in raw:
        raw[key] = float(raw[key])  # transformers 5 validates these as floats
config = T5Config.from_dict(raw)
# transformers 5.17's from_dict left tie_word_embeddings True for an untied config.json; set it explicitly so an
# untied (v1.1 / flan) model keeps its own lm_head instead of overwriting shared.weight with it.
config.tie_word_embeddings = raw.get("tie_word_embeddings", True)
model = T5ForConditionalGeneration(config)
state = load_file(f"{case}/model.safetensors")
missing, unexpected = model.load_state_dict(state, strict=False)
tied = ("lm_head.weight",) if config.tie_word_embeddings else ()
missing = [k for k in missing if k not in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight") + tied]
assert not missing and not unexpected, (missing, unexpected)
loaded = model.state_dict()
wrong = [k for k, v in state.items() if not torch.equal(loaded[k].to(v.dtype), v)]
assert not wrong, f"tensors not loaded as stored: {wrong}"
if config.tie_word_embeddings:
    model.lm_head.weight = model.shared.weight  # tied: the checkpoint stores shared.weight only
# T5's encoder and decoder always embed with `shared` (the checkpoint's embed_tokens are aliases of it); make sure
# an untied config did not leave them as separate, randomly initialised tables.
model.encoder.set_input_embeddings(model.shared)
model.decoder.set_input_embeddings(model.shared)
assert model.decoder.embed_tokens.weight.data_ptr() == model.shared.weight.data_ptr()
model = model.double().eval()
for p in model.parameters():
    p.requires_grad_(False)
bank_cfg = json.load(open(f"{case}/bank/adapter_config.json"))
bank = load_file(f"{case}/bank/adapter_model.safetensors")
P = bank["prompt_embeddings"].double().requires_grad_(True)
A = bank["prompt_encoder.lora_embedding_A"].double().requires_grad_(True)
B = bank["prompt_encoder.lora_embedding_B"].double().requires_grad_(True)
scaling = bank_cfg["lora_alpha"] / math.sqrt(bank_cfg["r"])
batch = json.load(open(f"{case}/batch.json"))
ids = torch.tensor(batch["input_ids"])
mask = torch.tensor(batch["attention_mask"], dtype=torch.float64)
labels = torch.tensor(batch["labels"])
b = ids.shape[0]
m = P.shape[0]


def encoder_inputs():
    x = model.shared(ids) + scaling * (A @ B)
    embeds = torch.cat([P.unsqueeze(0).expand(b, -1, -1), x], 1)
    return embeds, torch.cat([torch.ones(b, m, dtype=torch.float64), mask], 1)


embeds, full_mask = encoder_inputs()
out = model(inputs_embeds=embeds, attention_mask=full_mask, labels=labels)
out.loss.backward()
with torch.no_grad():
    enc = model.encoder(inputs_embeds=embeds, attention_mask=full_mask).last_hidden_state
    dec = torch.full((b, 1), config.decoder_start_token_id)
    for _ in range(6):
        logits = model(encoder_outputs=(enc,), attention_mask=full_mask, decoder_input_ids=dec).logits
        dec = torch.cat([dec, logits[:, -1].argmax(-1, keepdim=True)], 1)
print(json.dumps({
    "description": f"DePT on {case} from transformers {transformers.__version__} (float64)",
    "loss": out.loss.item(),
    "logits": out.logits.tolist(),
    "encoder_last_hidden_state": out.encoder_last_hidden_state.tolist(),
    "grads": {"prompt_embeddings": P.grad.tolist(), "lora_embedding_A": A.grad.tolist(), "lora_embedding_B": B.grad.tolist()},
    "greedy_ids": dec[:, 1:].tolist(),
    "greedy_steps": 6,
    "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
}))
