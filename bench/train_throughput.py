#!/usr/bin/python3
"""The PyTorch eager peer of expd_train_bench (bench/train_throughput.cpp): the same LoRA
training steps on the same checkpoint, batches and thread count, written as a PyTorch
user writes them, and the same JSON line (docs/benchmarks.md, "Training (issue 12)").

    train_throughput.py --model=DIR [--batch=4] [--seq=256] [--steps=10] [--warmup-steps=2]
                        [--threads=1] [--seed=1] [--lora-rank=8] [--lora-alpha=16]
                        [--targets=q_proj,v_proj]
                        [--rank=R --world-size=N --store=FILE]   one rank of N (gloo, DDP)
                        [--profile=FILE]   one more step, untimed, under torch's autograd
                                           profiler: a Chrome trace of its operators

The model is Hugging Face's LlamaForCausalLM eager attention path (torch 1.13 has no
scaled_dot_product_attention): nn.Linear projections, RMSNorm in float32, rotate_half rotary
embeddings from a cos/sin cache, repeat_kv by expand and reshape, attention as
matmul + additive causal mask + softmax in float32, SwiGLU, the loss as
CrossEntropyLoss over the shifted logits in float32. LoRA is PEFT's Linear with dropout
0 (nn.Identity): base(x) + lora_B(lora_A(x)) * alpha / r. The optimizer is
torch.optim.AdamW over the adapter only, with clip_grad_norm_ and the cosine schedule of
expd's job defaults (core::optimizer_spec). Run with Debian's /usr/bin/python3 (torch
1.13, the build libtorch is).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
from make_tiny_checkpoint import read_safetensors  # noqa: E402

# expd's job defaults (core/training_job.hpp): AdamW, cosine from the peak to 0, no
# warm-up, clipping at 1.
LEARNING_RATE, BETAS, EPS, WEIGHT_DECAY, MAX_GRAD_NORM = 2e-4, (0.9, 0.999), 1e-8, 0.0, 1.0


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        wide = x.to(torch.float32)
        wide = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * wide.to(x.dtype)


class LoraLinear(nn.Module):
    """PEFT's lora.Linear: the frozen base plus scale * B(A(x)), dropout 0."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, rank, bias=False)
        self.lora_B = nn.Linear(rank, base.out_features, bias=False)
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / rank

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(x)) * self.scaling


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups):
    if groups == 1:
        return x
    batch, kv_heads, steps, head_dim = x.shape
    x = x[:, :, None, :, :].expand(batch, kv_heads, groups, steps, head_dim)
    return x.reshape(batch, kv_heads * groups, steps, head_dim)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads", self.heads)
        self.head_dim = cfg.get("head_dim", hidden // self.heads)
        self.q_proj = nn.Linear(hidden, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, hidden, bias=False)

    def forward(self, x, cos, sin, mask):
        batch, steps, _ = x.shape
        q = self.q_proj(x).view(batch, steps, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.heads // self.kv_heads)
        v = repeat_kv(v, self.heads // self.kv_heads)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        weights = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(batch, steps, -1)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hidden, inter = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        heads = cfg["num_attention_heads"]
        head_dim = cfg.get("head_dim", cfg["hidden_size"] // heads)
        theta = cfg.get("rope_theta", 10000.0)
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        angles = torch.arange(cfg["max_position_embeddings"], dtype=torch.float32)[:, None] * inv_freq.float()
        both = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos_cached", both.cos(), persistent=False)
        self.register_buffer("sin_cached", both.sin(), persistent=False)

    def forward(self, input_ids, labels):
        batch, steps = input_ids.shape
        cos = self.cos_cached[:steps][None, None]
        sin = self.sin_cached[:steps][None, None]
        # Hugging Face's _make_causal_mask: 0 where a query may look, the lowest float above.
        mask = torch.full((steps, steps), torch.finfo(torch.float32).min)
        mask = mask.triu(1)[None, None].expand(batch, 1, steps, steps)
        h = self.model.embed_tokens(input_ids)
        for layer in self.model.layers:
            h = layer(h, cos, sin, mask)
        logits = self.lm_head(self.model.norm(h)).float()
        shift_logits = logits[..., :-1, :].contiguous()
        shift_labels = labels[..., 1:].contiguous()
        return F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    model = LlamaForCausalLM(cfg)
    weights, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    return cfg, model


def add_lora(model, rank, alpha, targets, seed):
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped = []
    for name, module in list(model.named_modules()):
        if name.split(".")[-1] in targets and isinstance(module, nn.Linear):
            parent, child = name.rsplit(".", 1)
            setattr(model.get_submodule(parent), child, LoraLinear(module, rank, alpha))
            wrapped.append(name)
    # A drawn as expd draws it (one generator of the seed, layers in name order, PEFT's
    # bound 1/sqrt(in)), so not only the first step's loss but every later one agrees.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name in sorted(wrapped):
            a = model.get_submodule(name).lora_A.weight
            bound = 1.0 / math.sqrt(a.shape[1])
            a.copy_(torch.empty(a.shape, dtype=torch.float32).uniform_(-bound, bound, generator=gen))
    return [p for p in model.parameters() if p.requires_grad]


def cosine(step, total):
    return LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    for flag, default in (("batch", 4), ("seq", 256), ("steps", 10), ("warmup-steps", 2),
                          ("threads", 1), ("seed", 1), ("lora-rank", 8), ("rank", 0), ("world-size", 1)):
        ap.add_argument("--" + flag, type=int, default=default)
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--targets", default="q_proj,v_proj")
    ap.add_argument("--store")
    ap.add_argument("--profile")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    targets = args.targets.split(",")

    cfg, model = load_model(args.model)
    params = add_lora(model, args.lora_rank, args.lora_alpha, targets, args.seed)
    total = args.warmup_steps + args.steps
    gen = torch.Generator().manual_seed(args.seed)
    ids = torch.randint(cfg["vocab_size"], (total, args.world_size * args.batch, args.seq), generator=gen)
    train = model
    if args.world_size > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method="file://" + args.store, rank=args.rank,
                                world_size=args.world_size)
        # The rotary cache is the only buffer and never changes: no broadcast per step.
        train = nn.parallel.DistributedDataParallel(model, broadcast_buffers=False)
    opt = torch.optim.AdamW(params, lr=LEARNING_RATE, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)

    def step(s):
        rows = ids[s % total, args.rank * args.batch:(args.rank + 1) * args.batch]
        for group in opt.param_groups:
            group["lr"] = cosine(s, total)
        opt.zero_grad()
        loss = train(rows, rows)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        return loss.item()

    model.train()
    losses, timed_seconds, timed_cpu_seconds, timed_tokens = [], 0.0, 0.0, 0
    for s in range(total):
        start, cpu_start = time.perf_counter(), time.process_time()
        losses.append(step(s))
        took, cpu_took = time.perf_counter() - start, time.process_time() - cpu_start
        if s >= args.warmup_steps:
            timed_seconds += took
            timed_cpu_seconds += cpu_took
            timed_tokens += args.world_size * args.batch * (args.seq - 1)
    if args.profile:
        with torch.autograd.profiler.profile() as prof:
            step(total)
        prof.export_chrome_trace(args.profile)
    if args.world_size > 1:
        # Each rank's loss is its rows' mean; the step's loss is the mean over the ranks.
        reduced = torch.tensor([losses[0], losses[-1]], dtype=torch.float64)
        dist.all_reduce(reduced)
        losses[0], losses[-1] = (reduced / args.world_size).tolist()
    print(json.dumps({
        "side": "pytorch", "tokens_per_second": timed_tokens / timed_seconds,
        "seconds_per_step": timed_seconds / args.steps,
        "cpu_seconds_per_step": timed_cpu_seconds / args.steps, "first_loss": losses[0], "last_loss": losses[-1],
        "threads": args.threads, "batch": args.batch, "seq": args.seq, "steps": args.steps,
        "warmup_steps": args.warmup_steps, "world_size": args.world_size, "rank": args.rank,
        "lora_rank": args.lora_rank, "lora_alpha": args.lora_alpha, "targets": targets, "model": args.model,
    }), flush=True)


if __name__ == "__main__":
    main()
