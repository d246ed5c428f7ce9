#!/usr/bin/env python3
"""Load `taunet export` files and recompute the training loss of a run on its own data, in numpy
and, when torch is importable, by loading the files into the PyTorch peer (torch_fc.FCNet) by
state_dict key. Prints the losses and exits 1 when they differ from taunet's summary.json by more
than the tolerance: this checks the export names and shapes, and that taunet's forward pass (eval
mode, BN running statistics) is the same function as the PyTorch peer's.

    python3 check_export.py RUN_DIR [--tol 1e-4]

Supports the image datasets taunet reads from IDX files (mnist:, fashion:) with the default
preprocessing (scale to [0, 1]).
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, name):
    for cand in (name, name + ".gz"):
        if os.path.exists(os.path.join(d, cand)):
            return os.path.join(d, cand)
    raise SystemExit(f"check_export: {name}[.gz] not found in {d}")


def forward_numpy(w, x, cfg):
    L, resnet, tau, bn = cfg["depth"], cfg["arch"] == "resnet", cfg["tau"], cfg["bn"]
    h = np.maximum(x @ w["A.weight"].T.astype(np.float64), 0)
    for i in range(L - 1):
        u = h @ w[f"W.{i}.weight"].T.astype(np.float64)
        if bn:
            u = (u - w[f"bn.{i}.running_mean"]) / np.sqrt(w[f"bn.{i}.running_var"].astype(np.float64) + 1e-5)
            u = u * w[f"bn.{i}.weight"] + w[f"bn.{i}.bias"]
        h = np.maximum(h + tau * u, 0) if resnet else np.maximum(u, 0)
    return h @ w["B.weight"].T.astype(np.float64)


def loss_of(f, y, kind):
    if kind == "mse":
        t = np.zeros_like(f)
        t[np.arange(len(y)), y] = 1
        return float(np.mean(0.5 * np.sum((f - t) ** 2, axis=1)))
    m = f.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(f - m).sum(axis=1))
    return float(np.mean(lse - f[np.arange(len(y)), y]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative tolerance on the loss")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.run_dir, "config.json")))
    summ = json.load(open(os.path.join(a.run_dir, "summary.json")))
    kind, _, ddir = cfg["data"].partition(":")
    if kind not in ("mnist", "fashion") or cfg["preprocess"] not in ("default", "scale") or cfg["label_noise"]:
        raise SystemExit("check_export: needs an mnist:/fashion: run with default preprocessing and no label noise")
    x = read_idx(find(ddir, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float64) / 255.0
    y = read_idx(find(ddir, "train-labels-idx1-ubyte")).astype(np.int64)
    if cfg["subset"]:
        x, y = x[: cfg["subset"]], y[: cfg["subset"]]
    exp = os.path.join(a.run_dir, "export")
    w = {f[:-4]: np.load(os.path.join(exp, f)) for f in os.listdir(exp) if f.endswith(".npy")}
    want = summ["train_loss"]
    got = {"numpy": loss_of(forward_numpy(w, x, cfg), y, cfg["loss"])}
    try:
        import torch
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_fc import FCNet
        net = FCNet(cfg["arch"], 784, cfg["width"], cfg["classes"], cfg["depth"], cfg["tau"], cfg["bn"]).double()
        sd = {k: torch.from_numpy(v.astype(np.float64)) for k, v in w.items()}
        if cfg["bn"]:
            for i in range(cfg["depth"] - 1):
                sd[f"bn.{i}.num_batches_tracked"] = torch.tensor(0)
        net.load_state_dict(sd, strict=True)
        net.eval()
        with torch.no_grad():
            got["torch"] = loss_of(net(torch.from_numpy(x)).numpy(), y, cfg["loss"])
    except ImportError:
        print("check_export: torch not importable; checked with numpy only")
    bad = {k: v for k, v in got.items() if abs(v - want) > a.tol * max(1.0, abs(want))}
    print(json.dumps({"taunet_train_loss": want, **got, "ok": not bad}))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
