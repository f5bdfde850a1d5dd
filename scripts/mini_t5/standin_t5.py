"""A small T5 v1.0 (relu, tied embeddings) in plain PyTorch, with Hugging Face's parameter names.

CPU STAND-IN ONLY. `train.py` uses it where `transformers` is missing (this project's CPU machines, where pip has
no network): for `--self-test`, the CPU smoke run and the test fixture `test/fixtures/mini-t5-standin`. The real
mini T5 is always Hugging Face's `T5ForConditionalGeneration` (`--model hf`, the default on the GPU). Written from
the T5 architecture (RMS layer norm without bias, unscaled attention with a learned relative-position bias in the
first layer of each stack, relu feed-forward, output scaled by d_model^-0.5 before the tied projection); the
TypeScript forward of packages/t5 is the check that it computes what Hugging Face's T5 computes.
"""
import math

import torch
from torch import nn


class StandInOutput:
    """What HF's Seq2SeqLMOutput offers that train.py reads: `.loss` (or None) and `.logits`."""

    def __init__(self, loss, logits):
        self.loss = loss
        self.logits = logits


def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    """T5's bucket of `memory - query` positions: exact for small distances, logarithmic up to max_distance."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).long() * num_buckets
        n = relative_position.abs()
    else:
        n = -torch.clamp(relative_position, max=0)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    scaled = torch.log(n.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    large = torch.clamp(max_exact + scaled.long(), max=num_buckets - 1)
    return buckets + torch.where(is_small, n, large)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg, has_bias, bidirectional):
        super().__init__()
        inner = cfg["num_heads"] * cfg["d_kv"]
        self.h, self.dkv = cfg["num_heads"], cfg["d_kv"]
        self.q = nn.Linear(cfg["d_model"], inner, bias=False)
        self.k = nn.Linear(cfg["d_model"], inner, bias=False)
        self.v = nn.Linear(cfg["d_model"], inner, bias=False)
        self.o = nn.Linear(inner, cfg["d_model"], bias=False)
        self.buckets, self.max_distance = cfg["relative_attention_num_buckets"], cfg["relative_attention_max_distance"]
        self.bidirectional = bidirectional
        self.dropout = nn.Dropout(cfg["dropout_rate"])
        if has_bias:
            self.relative_attention_bias = nn.Embedding(self.buckets, self.h)

    def position_bias(self, q_len, k_len, device):
        rel = torch.arange(k_len, device=device)[None, :] - torch.arange(q_len, device=device)[:, None]
        b = relative_position_bucket(rel, self.bidirectional, self.buckets, self.max_distance)
        return self.relative_attention_bias(b).permute(2, 0, 1)[None]  # [1, h, q, k]

    def forward(self, x, kv, bias):
        b, q_len, _ = x.shape
        split = lambda t: t.view(b, -1, self.h, self.dkv).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(kv)), split(self.v(kv))
        scores = q @ k.transpose(-1, -2) + bias
        weights = self.dropout(torch.softmax(scores.float(), dim=-1).type_as(scores))
        return self.o((weights @ v).transpose(1, 2).reshape(b, q_len, self.h * self.dkv))


class SelfAttentionLayer(nn.Module):
    def __init__(self, cfg, has_bias, bidirectional):
        super().__init__()
        self.SelfAttention = Attention(cfg, has_bias, bidirectional)
        self.layer_norm = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.dropout = nn.Dropout(cfg["dropout_rate"])

    def forward(self, x, bias):
        normed = self.layer_norm(x)
        return x + self.dropout(self.SelfAttention(normed, normed, bias))


class CrossAttentionLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.EncDecAttention = Attention(cfg, False, True)
        self.layer_norm = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.dropout = nn.Dropout(cfg["dropout_rate"])

    def forward(self, x, memory, bias):
        return x + self.dropout(self.EncDecAttention(self.layer_norm(x), memory, bias))


class DenseReluDense(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wi = nn.Linear(cfg["d_model"], cfg["d_ff"], bias=False)
        self.wo = nn.Linear(cfg["d_ff"], cfg["d_model"], bias=False)
        self.dropout = nn.Dropout(cfg["dropout_rate"])

    def forward(self, x):
        return self.wo(self.dropout(torch.relu(self.wi(x))))


class FeedForwardLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.DenseReluDense = DenseReluDense(cfg)
        self.layer_norm = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.dropout = nn.Dropout(cfg["dropout_rate"])

    def forward(self, x):
        return x + self.dropout(self.DenseReluDense(self.layer_norm(x)))


class Block(nn.Module):
    def __init__(self, cfg, is_decoder, has_bias):
        super().__init__()
        layers = [SelfAttentionLayer(cfg, has_bias, not is_decoder)]
        if is_decoder:
            layers.append(CrossAttentionLayer(cfg))
        layers.append(FeedForwardLayer(cfg))
        self.layer = nn.ModuleList(layers)
        self.is_decoder = is_decoder

    def forward(self, x, self_bias, memory=None, cross_bias=None):
        x = self.layer[0](x, self_bias)
        if self.is_decoder:
            x = self.layer[1](x, memory, cross_bias)
        return self.layer[-1](x)


class Stack(nn.Module):
    def __init__(self, cfg, is_decoder):
        super().__init__()
        n = cfg["num_decoder_layers"] if is_decoder else cfg["num_layers"]
        self.block = nn.ModuleList([Block(cfg, is_decoder, i == 0) for i in range(n)])
        self.final_layer_norm = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.dropout = nn.Dropout(cfg["dropout_rate"])
        self.is_decoder = is_decoder

    def forward(self, embeds, mask, memory=None, memory_mask=None):
        q_len = embeds.shape[1]
        neg = torch.finfo(embeds.dtype).min
        self_mask = (1.0 - mask[:, None, None, :].to(embeds.dtype)) * neg
        if self.is_decoder:
            causal = torch.tril(torch.ones(q_len, q_len, device=embeds.device))
            self_mask = torch.minimum(self_mask, (1.0 - causal[None, None]) * neg)
        self_bias = self.block[0].layer[0].SelfAttention.position_bias(q_len, q_len, embeds.device) + self_mask
        cross_bias = None if memory_mask is None else (1.0 - memory_mask[:, None, None, :].to(embeds.dtype)) * neg
        x = self.dropout(embeds)
        for block in self.block:
            x = block(x, self_bias, memory, cross_bias)
        return self.dropout(self.final_layer_norm(x))


class StandInT5(nn.Module):
    """T5ForConditionalGeneration's interface as train.py uses it: forward(input_ids, attention_mask, labels |
    decoder_input_ids) -> .loss, .logits. Tied embeddings and relu only (the mini T5's architecture)."""

    def __init__(self, cfg):
        super().__init__()
        assert cfg["feed_forward_proj"] == "relu" and cfg["tie_word_embeddings"], "the stand-in is T5 v1.0 only"
        self.cfg = cfg
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.encoder = Stack(cfg, False)
        self.decoder = Stack(cfg, True)
        self._init(cfg.get("initializer_factor", 1.0))

    def _init(self, f):
        d, dkv, h, dff = self.cfg["d_model"], self.cfg["d_kv"], self.cfg["num_heads"], self.cfg["d_ff"]
        for name, p in self.named_parameters():
            if name.endswith("layer_norm.weight"):
                nn.init.ones_(p)
            elif name == "shared.weight":
                nn.init.normal_(p, std=f)
            elif name.endswith(("q.weight",)):
                nn.init.normal_(p, std=f * (d * dkv) ** -0.5)
            elif name.endswith(("k.weight", "v.weight")):
                nn.init.normal_(p, std=f * d**-0.5)
            elif name.endswith("o.weight"):
                nn.init.normal_(p, std=f * (h * dkv) ** -0.5)
            elif name.endswith("wi.weight"):
                nn.init.normal_(p, std=f * d**-0.5)
            elif name.endswith("wo.weight"):
                nn.init.normal_(p, std=f * dff**-0.5)
            elif name.endswith("relative_attention_bias.weight"):
                nn.init.normal_(p, std=f * d**-0.5)

    def forward(self, input_ids, attention_mask=None, labels=None, decoder_input_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if decoder_input_ids is None:
            decoder_input_ids = shift_right(labels, self.cfg["decoder_start_token_id"], self.cfg["pad_token_id"])
        memory = self.encoder(self.shared(input_ids), attention_mask)
        dec_mask = torch.ones_like(decoder_input_ids)
        out = self.decoder(self.shared(decoder_input_ids), dec_mask, memory, attention_mask)
        logits = (out * self.cfg["d_model"] ** -0.5) @ self.shared.weight.t()
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        return StandInOutput(loss, logits)


def shift_right(labels, start_id, pad_id):
    """Decoder inputs from labels: start token first, labels shifted right, -100 (ignored) as pad."""
    out = labels.new_full(labels.shape, pad_id)
    out[:, 1:] = labels[:, :-1]
    out[:, 0] = start_id
    return out.masked_fill(out == -100, pad_id)
