#!/usr/bin/python3
"""Tiny random checkpoints in Hugging Face's layout, and the reference the C++ tests
compare against (tests/gpu, docs/gpu.md).

    make_tiny_checkpoint.py generate DIR   one folder per variant under DIR, each with
                                           config.json, its safetensors, reference.safetensors
                                           (input_ids and the logits of the reference
                                           forward pass); DIR/dtypes.safetensors and
                                           dtypes.json for the reader
    make_tiny_checkpoint.py fill DIR       the same unless DIR exists
    make_tiny_checkpoint.py sized DIR V    the plain variant with a vocabulary of V (a
                                           tokenizer's), in DIR, unless DIR exists
    make_tiny_checkpoint.py bench DIR      a bench-sized LLaMA (BENCH below: hidden 512, 4
                                           layers, grouped-query attention, vocabulary 4096)
                                           with random weights and no reference, in DIR,
                                           unless DIR exists (bench/train_vs_pytorch.sh)
    make_tiny_checkpoint.py generation-bench DIR
                                           a random checkpoint the size of a small model
                                           (hidden 512, 6 layers, GQA, vocabulary 8192) for
                                           bench/generate_vs_pytorch.sh, unless DIR exists
    make_tiny_checkpoint.py read FILE      a safetensors file as JSON (metadata, and per
                                           tensor dtype, shape and values), checked
                                           against the format strictly
    make_tiny_checkpoint.py greedy DIR PROMPTS N
                                           the greedy completion of N tokens of each prompt
                                           of the JSON file PROMPTS (a list of token-id
                                           lists) by the checkpoint in DIR, as JSON: each
                                           step the reference forward pass over the whole
                                           sequence so far (no cache), its last argmax

Nothing here calls expd: the safetensors writer and reader and the forward pass are
written from the format's description and Hugging Face's LLaMA, Mistral and Qwen2
modelling code. The forward pass runs in float64 on the checkpoint's weights, so the
C++ float32 result is compared with the exact one, not with the same rounding.
"""

import json
import math
import os
import shutil
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

BATCH, STEPS = 2, 9


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    # numpy has no bfloat16: its bits go through as int16.
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name]
        blob = tensor_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    text = raw[8:8 + n]
    assert text.rstrip(b" ") == text.rstrip(), "header padding must be spaces"
    header = json.loads(text)
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = info["data_offsets"]
        assert begin == end, f"{name}: data does not follow the previous tensor"
        dtype = DTYPES[info["dtype"]]
        blob = bytearray(data[begin:stop])
        count = math.prod(info["shape"])
        size = torch.empty(0, dtype=dtype).element_size()
        assert stop - begin == count * size, f"{name}: {stop - begin} bytes for {info}"
        flat = torch.frombuffer(blob, dtype=dtype) if blob else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
        end = stop
    assert end == len(data), "bytes after the last tensor"
    return tensors, metadata


# The models: Hugging Face's math, written out in float64.

def inverse_frequencies(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    scaling = cfg.get("rope_scaling")
    if scaling and scaling["rope_type"] == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        blended = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= old / high) & (wavelen <= old / low)
        inv = torch.where(medium, blended, scaled)
    return inv


def rms_norm(x, weight, eps):
    return weight * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def linear(x, w, name, adapter=None):
    y = x @ w[name + ".weight"].T
    if name + ".bias" in w:
        y = y + w[name + ".bias"]
    if adapter is not None:
        y = y + adapter(name, x)
    return y


def reference_logits(cfg, w, ids, adapter=None):
    """Logits [B, T, V] of ids [B, T] at positions 0..T-1. adapter(name, x), when given,
    is added to the output of the linear layer `name` (LoRA, lora_reference.py)."""
    w = {k: v.to(torch.float64) for k, v in w.items()}
    heads, kv_heads = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // heads)
    eps = cfg["rms_norm_eps"]
    batch, steps = ids.shape
    pos = torch.arange(steps, dtype=torch.float64)
    angles = pos[:, None] * inverse_frequencies(cfg, head_dim)[None, :]
    cos = torch.cat((angles, angles), -1).cos()
    sin = torch.cat((angles, angles), -1).sin()
    future = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)

    h = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = linear(x, w, p + "self_attn.q_proj", adapter).view(batch, steps, heads, head_dim)
        k = linear(x, w, p + "self_attn.k_proj", adapter).view(batch, steps, kv_heads, head_dim)
        v = linear(x, w, p + "self_attn.v_proj", adapter).view(batch, steps, kv_heads, head_dim)
        q = q * cos[None, :, None, :] + rotate_half(q) * sin[None, :, None, :]
        k = k * cos[None, :, None, :] + rotate_half(k) * sin[None, :, None, :]
        outs = []
        for head in range(heads):
            # Grouped-query attention: query head `head` reads key/value head head // group.
            kv = head // (heads // kv_heads)
            scores = q[:, :, head] @ k[:, :, kv].transpose(1, 2) / math.sqrt(head_dim)
            scores = scores.masked_fill(future, float("-inf"))
            outs.append(torch.softmax(scores, dim=-1) @ v[:, :, kv])
        attn = torch.cat(outs, dim=-1)
        h = h + linear(attn, w, p + "self_attn.o_proj", adapter)
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(x, w, p + "mlp.gate_proj", adapter)
        up = linear(x, w, p + "mlp.up_proj", adapter)
        h = h + linear(gate * torch.sigmoid(gate) * up, w, p + "mlp.down_proj", adapter)
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return h @ head.T


# The variants the C++ tests load.

def base_config(**changes):
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 96,
        "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "torch_dtype": "float32", "bos_token_id": 1,
        "eos_token_id": 2,
    }
    cfg.update(changes)
    return cfg


VARIANTS = {
    "plain": base_config(),
    # Two query heads per key/value head, and Llama 3.1's rotary scaling (with head_dim 16
    # and 64 original positions it keeps, blends and slows frequencies).
    "gqa": base_config(num_key_value_heads=2, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64}),
    # Qwen2: q/k/v biases, one key/value head per two query heads, bfloat16 weights.
    "qwen2": base_config(architectures=["Qwen2ForCausalLM"], model_type="qwen2",
                         num_key_value_heads=2, rope_theta=1000000.0, torch_dtype="bfloat16",
                         sliding_window=128, use_sliding_window=False),
    "tied": base_config(tie_word_embeddings=True),
    # Mistral with a head_dim that is not hidden_size / heads, and a window past the test's steps.
    "mistral": base_config(architectures=["MistralForCausalLM"], model_type="mistral",
                           num_key_value_heads=2, head_dim=24, sliding_window=64),
}
SHARDED = {"gqa"}


def random_weights(cfg, gen):
    hidden, inter, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    heads = cfg["num_attention_heads"]
    kv_heads = cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim", hidden // heads)
    qkv_bias = cfg["model_type"] == "qwen2"

    def matrix(rows, cols):
        return torch.randn(rows, cols, generator=gen) / math.sqrt(cols)

    def norm():
        return 1 + 0.1 * torch.randn(hidden, generator=gen)

    w = {"model.embed_tokens.weight": matrix(vocab, hidden),
         "model.norm.weight": norm()}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "post_attention_layernorm.weight"] = norm()
        for name, rows in (("q", heads * head_dim), ("k", kv_heads * head_dim), ("v", kv_heads * head_dim)):
            w[p + f"self_attn.{name}_proj.weight"] = matrix(rows, hidden)
            if qkv_bias:
                w[p + f"self_attn.{name}_proj.bias"] = 0.1 * torch.randn(rows, generator=gen)
        w[p + "self_attn.o_proj.weight"] = matrix(hidden, heads * head_dim)
        w[p + "mlp.gate_proj.weight"] = matrix(inter, hidden)
        w[p + "mlp.up_proj.weight"] = matrix(inter, hidden)
        w[p + "mlp.down_proj.weight"] = matrix(hidden, inter)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = matrix(vocab, hidden)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[cfg["torch_dtype"]]
    return {k: v.to(dtype) for k, v in w.items()}


def write_variant(folder, name, cfg, gen):
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w = random_weights(cfg, gen)
    if name in SHARDED:
        names = sorted(w)
        shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
                  "model-00002-of-00002.safetensors": names[len(names) // 2:]}
        weight_map = {}
        for file, members in shards.items():
            write_safetensors(os.path.join(folder, file), {n: w[n] for n in members}, {"format": "pt"})
            weight_map.update({n: file for n in members})
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": sum(t.numel() * t.element_size() for t in w.values())},
                       "weight_map": weight_map}, f, indent=2)
    else:
        write_safetensors(os.path.join(folder, "model.safetensors"), w, {"format": "pt"})
    ids = torch.randint(0, cfg["vocab_size"], (BATCH, STEPS), generator=gen)
    write_safetensors(os.path.join(folder, "reference.safetensors"),
                      {"input_ids": ids, "logits": reference_logits(cfg, w, ids)})


def write_dtypes(folder):
    values = torch.tensor([[0.0, -1.5, 2.25], [1e-3, 65504.0, -0.0]], dtype=torch.float64)
    tensors = {
        "f64": values, "f32": values.float(), "f16": values.half(),
        "bf16": values.bfloat16(), "i64": torch.tensor([-(2**62), 0, 7]),
        "i32": torch.tensor([[-(2**31)], [2**31 - 1]], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 4),
    }
    metadata = {"format": "pt", "note": "written by make_tiny_checkpoint.py"}
    write_safetensors(os.path.join(folder, "dtypes.safetensors"), tensors, metadata)
    with open(os.path.join(folder, "dtypes.json"), "w") as f:
        json.dump(describe(tensors, metadata), f)


def describe(tensors, metadata):
    return {"metadata": metadata,
            "tensors": {n: {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                            "values": t.double().flatten().tolist()} for n, t in tensors.items()}}


def generate(out, replace):
    # Built aside and renamed, so a reader never finds a half-made folder. The CTest
    # fixture replaces what an earlier run made; a test run by hand only fills a gap.
    if not replace and os.path.isdir(out):
        return
    temp = f"{out}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    os.makedirs(temp)
    gen = torch.Generator().manual_seed(20240612)
    for name, cfg in VARIANTS.items():
        write_variant(os.path.join(temp, name), name, cfg, gen)
    write_dtypes(temp)
    if replace:
        shutil.rmtree(out, ignore_errors=True)
    try:
        os.rename(temp, out)
    except OSError:
        shutil.rmtree(temp)  # another run made it first
        if not os.path.isdir(out):
            raise


def generate_sized(out, vocab):
    if os.path.isdir(out):
        return
    temp = f"{out}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    write_variant(temp, "plain", base_config(vocab_size=vocab, max_position_embeddings=512),
                  torch.Generator().manual_seed(20240613))
    os.rename(temp, out)


# Big enough that the matrix products, not the per-op overhead, take most of a training
# step, as in a real model; small enough for 2 CPU cores.
BENCH = base_config(hidden_size=512, intermediate_size=1376, num_hidden_layers=4,
                    num_attention_heads=8, num_key_value_heads=4, vocab_size=4096,
                    max_position_embeddings=1024)
GENERATION_BENCH = base_config(hidden_size=512, intermediate_size=1536, num_hidden_layers=6,
                               num_attention_heads=8, num_key_value_heads=4, vocab_size=8192,
                               max_position_embeddings=1024)


def generate_random(out, cfg):
    if os.path.isdir(out):
        return
    temp = f"{out}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    os.makedirs(temp)
    with open(os.path.join(temp, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w = random_weights(cfg, torch.Generator().manual_seed(20240614))
    write_safetensors(os.path.join(temp, "model.safetensors"), w, {"format": "pt"})
    os.rename(temp, out)


def read_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(folder, "model.safetensors"))[0]
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    w = {}
    for file in files:
        w.update(read_safetensors(os.path.join(folder, file))[0])
    return w


def greedy(folder, prompts, steps):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = read_weights(folder)
    out = []
    for prompt in prompts:
        ids = list(prompt)
        for _ in range(steps):
            logits = reference_logits(cfg, w, torch.tensor([ids]))
            ids.append(int(logits[0, -1].argmax()))
        out.append(ids[len(prompt):])
    return out


def main(argv):
    if len(argv) == 3 and argv[1] in ("generate", "fill"):
        generate(argv[2], replace=argv[1] == "generate")
    elif len(argv) == 4 and argv[1] == "sized":
        generate_sized(argv[2], int(argv[3]))
    elif len(argv) == 3 and argv[1] == "bench":
        generate_random(argv[2], BENCH)
    elif len(argv) == 3 and argv[1] == "generation-bench":
        generate_random(argv[2], GENERATION_BENCH)
    elif len(argv) == 5 and argv[1] == "greedy":
        with open(argv[3]) as f:
            prompts = json.load(f)
        print(json.dumps(greedy(argv[2], prompts, int(argv[4]))))
    elif len(argv) == 3 and argv[1] == "read":
        print(json.dumps(describe(*read_safetensors(argv[2]))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
