# The learning rate of every optimizer step from PyTorch's own schedulers, for
# training_job_test: each input line is "peak warmup total schedule min_ratio"; the
# output line holds the rates of steps 0..total. The warm-up is linear from 0 (torch's
# LinearLR cannot start at 0); the decay after it is torch's.
import sys

import torch

for line in sys.stdin:
    peak, warmup, total, schedule, min_ratio = line.split()
    peak, warmup, total, min_ratio = float(peak), int(warmup), int(total), float(min_ratio)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=peak)
    decay = total - warmup
    if schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=decay, eta_min=min_ratio * peak)
    elif schedule == "linear":
        sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=min_ratio,
                                                  total_iters=decay)
    else:
        sched = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    rates = [peak * step / warmup for step in range(warmup)]
    for _ in range(decay + 1):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    print(" ".join(repr(r) for r in rates))
