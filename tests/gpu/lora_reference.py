#!/usr/bin/python3
"""The reference the LoRA and training-step tests compare against (tests/gpu, docs/gpu.md).

    lora_reference.py train DIR   reads DIR/setup.json (the checkpoint folder, LoRA and
                                  optimizer settings), DIR/initial/adapter_model.safetensors
                                  (A and B before training) and DIR/batches.safetensors
                                  (input_ids and mask [steps, micro-batches, B, T]); trains
                                  with torch.optim.AdamW and writes DIR/reference.safetensors:
                                  the adapter's tensors after the last step, and per step
                                  loss, learning rate and gradient norm
    lora_reference.py peft DIR BASE   checks the adapter folder DIR against PEFT's file
                                  layout for the checkpoint folder BASE; prints what it found
                                  as JSON, exits non-zero on the first mismatch

Nothing here calls expd. The model is make_tiny_checkpoint.py's float64 forward pass with
LoRA added to the target layers as PEFT computes it; the optimizer, clipping and
accumulation are torch's own.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_checkpoint import read_safetensors, reference_logits, write_safetensors  # noqa: E402

PREFIX = "base_model.model."
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def load_base(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    w = {}
    for file in files:
        w.update(read_safetensors(os.path.join(folder, file))[0])
    return cfg, {k: v.to(torch.float64) for k, v in w.items()}


def learning_rate(s, setup):
    # Linear warm-up from 0, then a half cosine from the peak to min_lr_ratio of it.
    peak, warmup, total = setup["learning_rate"], setup["warmup_steps"], setup["total_steps"]
    if s < warmup:
        return peak * s / warmup
    progress = min(1.0, (s - warmup) / (total - warmup))
    floor = setup["min_lr_ratio"] * peak
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def nll_sum(logits, ids, mask):
    # Position t predicts token t + 1 where both are real (right padding).
    valid = mask[:, :-1] & mask[:, 1:]
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    nll = -logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (nll * valid).sum()


def train(folder):
    with open(os.path.join(folder, "setup.json")) as f:
        setup = json.load(f)
    cfg, w = load_base(setup["checkpoint"])
    initial, _ = read_safetensors(os.path.join(folder, "initial", "adapter_model.safetensors"))
    params = {n: t.to(torch.float64).clone().requires_grad_(True) for n, t in sorted(initial.items())}
    scale = setup["alpha"] / setup["rank"]

    def adapter(name, x):
        a = params.get(PREFIX + name + ".lora_A.weight")
        if a is None:
            return 0
        b = params[PREFIX + name + ".lora_B.weight"]
        return (x @ a.T) @ b.T * scale

    batches, _ = read_safetensors(os.path.join(folder, "batches.safetensors"))
    ids_all, mask_all = batches["input_ids"], batches["mask"]
    opt = torch.optim.AdamW(list(params.values()), lr=setup["learning_rate"],
                            betas=(setup["beta1"], setup["beta2"]), eps=setup["eps"],
                            weight_decay=setup["weight_decay"])
    losses, rates, norms = [], [], []
    for s in range(ids_all.shape[0]):
        lr = learning_rate(s, setup)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad()
        tokens = sum(int((m[:, :-1] & m[:, 1:]).sum()) for m in mask_all[s])
        total = 0.0
        for ids, mask in zip(ids_all[s], mask_all[s]):
            part = nll_sum(reference_logits(cfg, w, ids, adapter), ids, mask)
            (part / tokens).backward()
            total += part.item()
        if setup["max_grad_norm"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(list(params.values()), setup["max_grad_norm"])
        else:
            norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params.values()))
        opt.step()
        losses.append(total / tokens)
        rates.append(lr)
        norms.append(float(norm))
    out = {n: p.detach() for n, p in params.items()}
    out["losses"] = torch.tensor(losses, dtype=torch.float64)
    out["learning_rates"] = torch.tensor(rates, dtype=torch.float64)
    out["grad_norms"] = torch.tensor(norms, dtype=torch.float64)
    write_safetensors(os.path.join(folder, "reference.safetensors"), out)


def check_peft(folder, base):
    # PEFT's save_pretrained: adapter_config.json (LoraConfig's fields) and
    # adapter_model.safetensors, the state dict without the adapter name ("default"):
    # base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
    with open(os.path.join(folder, "adapter_config.json")) as f:
        config = json.load(f)
    expect = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "bias": "none", "fan_in_fan_out": False}
    for key, value in expect.items():
        assert config.get(key) == value, f"adapter_config.json: {key} is {config.get(key)!r}, PEFT's is {value!r}"
    for key in ("r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path"):
        assert key in config, f"adapter_config.json: no {key}"
    assert isinstance(config["r"], int), "r must be an integer"
    r, targets = config["r"], config["target_modules"]
    cfg, w = load_base(base)
    tensors, metadata = read_safetensors(os.path.join(folder, "adapter_model.safetensors"))
    assert metadata.get("format") == "pt", f"__metadata__ {metadata}: PEFT writes format pt"
    expected = {}
    for name, weight in w.items():
        module = name[: -len(".weight")]
        if name.endswith(".weight") and module.split(".")[-1] in targets and module.split(".")[-1] in TARGETS:
            out_features, in_features = weight.shape
            expected[PREFIX + module + ".lora_A.weight"] = [r, in_features]
            expected[PREFIX + module + ".lora_B.weight"] = [out_features, r]
    found = {n: list(t.shape) for n, t in tensors.items()}
    assert found == expected, f"tensors {sorted(set(found) ^ set(expected))} or shapes differ"
    print(json.dumps({"config": config, "tensors": found}))


def main(argv):
    if len(argv) == 3 and argv[1] == "train":
        train(argv[2])
    elif len(argv) == 4 and argv[1] == "peft":
        check_peft(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
