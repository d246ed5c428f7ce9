#!/usr/bin/env python3
"""PyTorch peer of taunet's CIFAR conv ResNet-(6n+2) (`--arch resnet-cifar`, DESIGN.md sections 1
and 9), built from the same formulas as src/model/cifar.c:

    stem   a = relu([BN](conv3x3(x)))                               c_in -> w0
    block  u = relu([BN](conv3x3_s(a + b1a) + b1b))                 b* only without BN
           z = [BN](conv3x3(u + b2a) + b2b)
           a = relu(S(a) + tau * z)     S: identity, or at a stage entry the stride-2 subsample
                                        [+ BN, "downsample.1"] with zero channels appended last
    head   f = fc(avgpool(a))                                       no bias
    stages of n blocks at w0, 2 w0, 4 w0 channels; stride 2 at the first block of stages 2, 3.
    Without BN one tau, shared by the blocks, is learnable (as taunet's --tau-learn auto); the
    four scalar biases and tau train at lr/10; weight decay applies to every parameter.

state_dict keys are `taunet export` file names (conv1.weight, layer2.0.bn1.running_var, tau, ...).

    python3 torch_cifar.py check RUN0 RUN1     RUN0: a run of --steps 0, RUN1: the same run with
                                               --steps 1 and --batch = its training set
    python3 torch_cifar.py time --depth 56 [--bn] --batch 32 --threads 2 [--json out.json]

`check` loads RUN0's exported initial weights, compares the eval-mode training loss with
taunet's, takes one SGD step on the whole training set (momentum, weight decay, the lr/10 group)
and compares every tensor with RUN1's export; it exits 1 on a difference beyond fp32 tolerance.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import find, read_idx  # noqa: E402


class Block(nn.Module):
    def __init__(self, cin, cout, stride, bn):
        super().__init__()
        self.stride, self.cin, self.cout, self.use_bn = stride, cin, cout, bn
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        if bn:
            self.bn1, self.bn2 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Identity(), nn.BatchNorm2d(cin))
        else:
            for k in ("bias1a", "bias1b", "bias2a", "bias2b"):
                setattr(self, k, nn.Parameter(torch.zeros(1)))

    def shortcut(self, a):
        if self.stride == 1 and self.cin == self.cout:
            return a
        s = a[:, :, :: self.stride, :: self.stride]
        if self.use_bn:
            s = self.downsample(s)
        return F.pad(s, (0, 0, 0, 0, 0, self.cout - self.cin))  # zero channels after the input's

    def forward(self, a, tau):
        if self.use_bn:
            u = torch.relu(self.bn1(self.conv1(a)))
            z = self.bn2(self.conv2(u))
        else:
            u = torch.relu(self.conv1(a + self.bias1a) + self.bias1b)
            z = self.conv2(u + self.bias2a) + self.bias2b
        return torch.relu(self.shortcut(a) + tau * z)


class CifarResNet(nn.Module):
    def __init__(self, cin, w0, depth, classes, tau, bn):
        super().__init__()
        n = (depth - 2) // 6
        self.use_bn = bn
        self.conv1 = nn.Conv2d(cin, w0, 3, 1, 1, bias=False)
        if bn:
            self.bn1 = nn.BatchNorm2d(w0)
            self.register_buffer("tau_fixed", torch.tensor(float(tau)))
        else:
            self.tau = nn.Parameter(torch.tensor([float(tau)]))
        c = w0
        for s in range(3):
            blocks = []
            for j in range(n):
                cout = w0 << s
                blocks.append(Block(c, cout, 2 if s and not j else 1, bn))
                c = cout
            setattr(self, f"layer{s + 1}", nn.ModuleList(blocks))
        self.fc = nn.Linear(c, classes, bias=False)
        with torch.no_grad():  # He init for convs (fan_out, as the tau-ResNet code), N(0, 1/fan_in) head
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (9 * m.out_channels)))
            nn.init.normal_(self.fc.weight, 0.0, math.sqrt(1.0 / c))

    def forward(self, x):
        a = self.conv1(x)
        a = torch.relu(self.bn1(a) if self.use_bn else a)
        tau = self.tau_fixed if self.use_bn else self.tau
        for s in range(3):
            for blk in getattr(self, f"layer{s + 1}"):
                a = blk(a, tau)
        return self.fc(a.mean(dim=(2, 3)))


def scalar_names(net):
    return [k for k, _ in net.named_parameters() if k == "tau" or ".bias" in k and "bn" not in k
            and "downsample" not in k]


def average_tau_grad(net):
    """The shared tau's gradient averaged over the blocks (autograd sums it), as taunet and the
    tau-ResNet authors' code do."""
    if not net.use_bn and net.tau.grad is not None:
        net.tau.grad /= sum(len(getattr(net, f"layer{s + 1}")) for s in range(3))


def sgd_for(net, lr, momentum, wd):
    small = set(scalar_names(net))
    groups = [{"params": [p for k, p in net.named_parameters() if k not in small], "lr": lr},
              {"params": [p for k, p in net.named_parameters() if k in small], "lr": lr / 10}]
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=wd)


def load_run(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    ex = os.path.join(d, "export")
    w = {k[:-4]: np.load(os.path.join(ex, k)) for k in os.listdir(ex) if k.endswith(".npy")}
    return cfg, w


def net_from(cfg, w):
    x_shape = w["conv1.weight"].shape
    net = CifarResNet(x_shape[1], x_shape[0], cfg["depth"], cfg["classes"], cfg["tau"], cfg["bn"])
    sd = net.state_dict()
    missing = [k for k in sd if k not in w and k != "tau_fixed" and not k.endswith("num_batches_tracked")]
    extra = [k for k in w if k not in sd]
    if missing or extra:
        raise SystemExit(f"torch_cifar: export and network differ: missing {missing[:5]}, extra {extra[:5]}")
    with torch.no_grad():
        for k, v in w.items():
            if sd[k].shape != torch.Size(v.shape):
                raise SystemExit(f"torch_cifar: {k}: export shape {v.shape}, network {tuple(sd[k].shape)}")
            sd[k].copy_(torch.from_numpy(v))
    return net


def train_set(cfg):
    kind, d = cfg["data"].split(":", 1)
    if kind not in ("mnist", "fashion"):
        raise SystemExit("torch_cifar check: supports mnist:/fashion: data with the default preprocessing")
    x = read_idx(find(d, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(find(d, "train-labels-idx1-ubyte")).astype(np.int64)
    n = cfg["subset"] or len(y)
    return torch.from_numpy(x[:n, None]), torch.from_numpy(y[:n])


def final_loss(d):
    with open(os.path.join(d, "metrics.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()][0]["train_loss"]


def check(a):
    cfg0, w0 = load_run(a.run0)
    cfg1, w1 = load_run(a.run1)
    torch.set_default_dtype(torch.float32)
    net = net_from(cfg0, w0)
    x, y = train_set(cfg0)
    ok = True
    net.eval()
    with torch.no_grad():
        loss0 = F.cross_entropy(net(x), y).item()
    t0 = final_loss(a.run0)
    rel = abs(loss0 - t0) / abs(t0)
    print(f"eval-mode loss at init: torch {loss0:.7f} taunet {t0:.7f} (rel {rel:.2e})")
    ok &= rel < 1e-5
    if cfg1["batch"] != x.shape[0]:
        raise SystemExit(f"torch_cifar check: RUN1 must take one step on the whole set (--batch {x.shape[0]})")
    net.train()
    opt = sgd_for(net, cfg1["lr"], cfg1["momentum"], cfg1["wd"])
    opt.zero_grad()
    F.cross_entropy(net(x), y).backward()
    average_tau_grad(net)
    opt.step()
    sd = net.state_dict()
    worst = ("", 0.0)
    for k, v in w1.items():
        got = sd[k].detach().double().numpy()
        want, init = v.astype(np.float64), w0[k].astype(np.float64)
        step = np.linalg.norm(want - init)
        err = np.linalg.norm(got - want) / max(step, 1e-30) if step > 0 else np.linalg.norm(got - want)
        if err > worst[1]:
            worst = (k, err)
        if err > a.tol:
            print(f"  {k}: |torch - taunet| / |taunet step| = {err:.2e}")
            ok = False
    print(f"one SGD step, {len(w1)} tensors: worst {worst[0]} at {worst[1]:.2e} of its step (tol {a.tol})")
    return 0 if ok else 1


def time_steps(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tau = 1.0 / math.sqrt((a.depth - 2) // 2)
    net = CifarResNet(3, a.width, a.depth, 10, tau, a.bn)
    opt = sgd_for(net, 0.1, 0.9, 1e-4)
    x, y = torch.rand(a.batch, 3, 32, 32), torch.arange(a.batch) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        average_tau_grad(net)
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    res = {"peer": "pytorch", "torch": torch.__version__, "threads": a.threads, "depth": a.depth, "bn": a.bn,
           "batch": a.batch, "s_per_step": s, "images_per_s": a.batch / s}
    print(json.dumps(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("run0")
    c.add_argument("run1")
    c.add_argument("--tol", type=float, default=2e-3, help="|torch - taunet| over the size of the step")
    t = sub.add_parser("time")
    t.add_argument("--depth", type=int, default=56)
    t.add_argument("--width", type=int, default=16)
    t.add_argument("--bn", action="store_true")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--warmup", type=int, default=1)
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--json")
    a = ap.parse_args()
    return check(a) if a.cmd == "check" else time_steps(a)


if __name__ == "__main__":
    sys.exit(main())
