#!/usr/bin/python3
"""PyTorch eager's generate loop on a LLaMA checkpoint: the peer of
bench/generate_throughput.cpp (bench/generate_vs_pytorch.sh runs both).

    generate_throughput.py --model=DIR [--batches=1,8,32] [--prompt=32] [--new=64] [--threads=2]

Prints one JSON line per batch size: generated tokens, seconds, tokens/s and the
completions (to compare with the C++ side's) for greedy
decoding of `new` tokens after `prompt`-token prompts (the same ids as the C++ side),
with a KV cache that grows by concatenation, as Hugging Face's eager LlamaAttention and
DynamicCache do. Written from Hugging Face's modelling code; nothing here calls expd.
"""

import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
from make_tiny_checkpoint import inverse_frequencies, read_weights  # noqa: E402


def prompt_ids(rows, length, vocab):
    # The C++ side computes the same formula.
    return torch.tensor([[(r * 7919 + t * 104729 + 13) % vocab for t in range(length)]
                         for r in range(rows)], dtype=torch.long)


class Llama:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = cfg = json.load(f)
        self.w = read_weights(folder)
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads", self.heads)
        self.head_dim = cfg.get("head_dim", cfg["hidden_size"] // self.heads)
        self.eps = cfg["rms_norm_eps"]
        self.layers = cfg["num_hidden_layers"]
        self.inv_freq = inverse_frequencies(cfg, self.head_dim).float()
        self.head = self.w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else self.w["lm_head.weight"]

    def norm(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def forward(self, ids, start, cache):
        """Logits of the last position of ids [B, T] at positions start..start+T-1;
        cache: per layer (keys, values) or None, extended in place."""
        w, batch, steps = self.w, ids.shape[0], ids.shape[1]
        angles = torch.arange(start, start + steps, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        both = torch.cat((angles, angles), -1)
        cos, sin = both.cos()[None, None], both.sin()[None, None]
        h = F.embedding(ids, w["model.embed_tokens.weight"])
        mask = None
        if steps > 1:
            mask = torch.full((steps, steps), float("-inf")).triu(1)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            x = self.norm(h, w[p + "input_layernorm.weight"])
            q = F.linear(x, w[p + "self_attn.q_proj.weight"]).view(batch, steps, self.heads, self.head_dim).transpose(1, 2)
            k = F.linear(x, w[p + "self_attn.k_proj.weight"]).view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
            v = F.linear(x, w[p + "self_attn.v_proj.weight"]).view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), 2)
                v = torch.cat((cache[i][1], v), 2)
            cache[i] = (k, v)
            group = self.heads // self.kv_heads
            if group > 1:
                k = k.repeat_interleave(group, 1)
                v = v.repeat_interleave(group, 1)
            scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores + mask
            attn = torch.softmax(scores, dim=-1) @ v
            attn = attn.transpose(1, 2).reshape(batch, steps, self.heads * self.head_dim)
            h = h + F.linear(attn, w[p + "self_attn.o_proj.weight"])
            x = self.norm(h, w[p + "post_attention_layernorm.weight"])
            h = h + F.linear(F.silu(F.linear(x, w[p + "mlp.gate_proj.weight"])) * F.linear(x, w[p + "mlp.up_proj.weight"]),
                             w[p + "mlp.down_proj.weight"])
        h = self.norm(h, w["model.norm.weight"])
        # All positions' logits, as Hugging Face's forward gives them (and expd's).
        return F.linear(h, self.head)[:, -1]

    def generate(self, ids, new):
        cache = [None] * self.layers
        logits = self.forward(ids, 0, cache)
        out = []
        for step in range(new):
            token = logits.argmax(-1)
            out.append(token)
            if step + 1 == new:
                break
            logits = self.forward(token[:, None], ids.shape[1] + step, cache)
        return torch.stack(out, 1)


def main(argv):
    opts = {"batches": "1,8,32", "prompt": "32", "new": "64", "threads": "2"}
    for arg in argv[1:]:
        name, _, value = arg.lstrip("-").partition("=")
        if name not in opts and name != "model":
            sys.exit(__doc__)
        opts[name] = value
    if "model" not in opts:
        sys.exit(__doc__)
    torch.set_num_threads(int(opts["threads"]))
    model = Llama(opts["model"])
    prompt, new = int(opts["prompt"]), int(opts["new"])
    with torch.inference_mode():
        model.generate(prompt_ids(2, prompt, model.cfg["vocab_size"]), 4)  # warm-up
        for batch in (int(b) for b in opts["batches"].split(",")):
            ids = prompt_ids(batch, prompt, model.cfg["vocab_size"])
            start = time.perf_counter()
            out = model.generate(ids, new)
            seconds = time.perf_counter() - start
            rows = json.dumps(out.tolist(), separators=(",", ":"))
            print(json.dumps({"side": "pytorch", "batch": batch, "tokens": out.numel(), "seconds": seconds,
                              "tokens_per_second": out.numel() / seconds, "tokens_json": rows}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
