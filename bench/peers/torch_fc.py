#!/usr/bin/env python3
"""PyTorch peer of taunet's fully-connected nets (DESIGN.md section 1), for side-by-side timing
and weight comparison. Same network, initialization scheme, batch, loss and optimizer:

    h_0 = relu(A x);  h_l = relu([h_{l-1} +] tau * [BN](W_l h_{l-1}));  f = B h_{L-1}
    A, W_l ~ N(0, 2/m), B ~ N(0, 1/d), no biases; BatchNorm1d(m) defaults; SGD(lr, momentum, wd).

state_dict keys match `taunet export` file names: A.weight, W.<i>.weight, bn.<i>.*, B.weight.

    python3 torch_fc.py --arch resnet --width 128 --depth 100 [--bn] --threads 2 --json out.json
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn


class FCNet(nn.Module):
    def __init__(self, arch, p, m, d, depth, tau, bn):
        super().__init__()
        self.resnet = arch == "resnet"
        self.tau = tau if self.resnet else 1.0
        self.A = nn.Linear(p, m, bias=False)
        self.W = nn.ModuleList(nn.Linear(m, m, bias=False) for _ in range(depth - 1))
        self.bn = nn.ModuleList(nn.BatchNorm1d(m) for _ in range(depth - 1)) if bn else None
        self.B = nn.Linear(m, d, bias=False)
        with torch.no_grad():
            nn.init.normal_(self.A.weight, 0.0, math.sqrt(2.0 / m))
            for w in self.W:
                nn.init.normal_(w.weight, 0.0, math.sqrt(2.0 / m))
            nn.init.normal_(self.B.weight, 0.0, math.sqrt(1.0 / d))

    def forward(self, x):
        h = torch.relu(self.A(x))
        for i, w in enumerate(self.W):
            u = w(h)
            if self.bn is not None:
                u = self.bn[i](u)
            h = torch.relu(h + self.tau * u) if self.resnet else torch.relu(u)
        return self.B(h)


def tau_of(rule, depth):
    rules = {"1/sqrt(L)": depth ** -0.5, "1/L": 1.0 / depth, "L^-1/4": depth ** -0.25}
    return rules[rule] if rule in rules else float(rule)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="resnet", choices=["plain", "resnet"])
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--tau", default="1/sqrt(L)")
    ap.add_argument("--bn", action="store_true")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--input-dim", type=int, default=784)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cuda-graph", action="store_true", help="capture the step in a CUDA graph")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps-per-repeat", type=int, default=3)
    ap.add_argument("--json", help="write the result as JSON here")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    net = FCNet(a.arch, a.input_dim, a.width, a.classes, a.depth, tau_of(a.tau, a.depth), a.bn).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
    x = torch.rand(a.batch, a.input_dim, device=dev)
    y = torch.arange(a.batch, device=dev) % a.classes
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    run = step
    if a.cuda_graph:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(g):
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        run = g.replay
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(a.warmup):
        run()
    sync()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        for _ in range(a.steps_per_repeat):
            run()
        sync()
        times.append((time.perf_counter() - t0) / a.steps_per_repeat)
    s = statistics.median(times)
    flops = 6.0 * a.batch * (a.input_dim * a.width + (a.depth - 1) * a.width ** 2 + a.width * a.classes)
    res = {"peer": "pytorch", "torch": torch.__version__, "device": a.device, "cuda_graph": a.cuda_graph,
           "threads": a.threads, "s_per_step": s, "samples_per_s": a.batch / s, "gflops": flops / s / 1e9}
    print(json.dumps(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
