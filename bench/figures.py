#!/usr/bin/env python3
"""Figures of a taunet sweep or run (called by `taunet report`; usable alone):

    python3 bench/figures.py SWEEP_DIR_OR_RESULTS_JSONL --out FIGDIR
    python3 bench/figures.py RUN_DIR --run --out FIGDIR     # one run: curves.png

Run mode reads RUN_DIR/metrics.jsonl and writes curves.png: training and test loss (and the
batch loss) vs step, and training and test accuracy vs step.

Reads results.jsonl (docs/SWEEPS.md) and each run's metrics.jsonl and writes PNGs:
  loss_curves.png      train loss vs step, colored by width, one panel per depth
                       (rows: combinations of the other varied flags, seeds excepted)
  steps_to_target.png  median steps to --target-loss over width x depth (when both vary)
  layer_norms.png      per-layer output norm vs layer index at the last evaluation that has
                       {"diag": {"layer_norms": [...]}} (when the runs record it)
Exit 0 when done, 3 when matplotlib is missing (the caller prints how to install it).
"""
import argparse
import json
import math
import os
import sys
from statistics import median


def load_results(path):
    """Records of results.jsonl, the last line of an id winning; torn or bad lines skipped."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.jsonl")
    base = os.path.dirname(os.path.abspath(path))
    recs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a torn last line
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict) and "id" in r:
                r["_dir"] = os.path.join(base, r.get("run_dir", os.path.join("runs", r["id"])))
                recs[r["id"]] = r
    return sorted(recs.values(), key=lambda r: r.get("index", 0))


def load_metrics(run_dir):
    out = []
    try:
        with open(os.path.join(run_dir, "metrics.jsonl"), encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def setting(r, key):
    """A run's setting: its resolved config (summary.config), else the sweep's varied flags."""
    cfg = r.get("summary", {}).get("config", {})
    if key in cfg:
        return cfg[key]
    return r.get("flags", {}).get(key)


def group_key(r, exclude):
    """The varied flags other than `exclude` (and the seed): runs that share it share a row."""
    return tuple(sorted((k, str(v)) for k, v in r.get("flags", {}).items() if k not in exclude and k != "seed"))


def group_label(key):
    return ", ".join("%s=%s" % kv for kv in key) or "all runs"


def width_colors(plt, widths):
    cmap = plt.get_cmap("viridis")
    ws = sorted(set(w for w in widths if w is not None))
    if len(ws) <= 1:
        return {w: cmap(0.2) for w in ws}
    lo, hi = math.log(ws[0]), math.log(ws[-1])
    return {w: cmap(0.9 * (math.log(w) - lo) / (hi - lo)) for w in ws}


def facet_grid(plt, recs, draw, ylabel, xlabel, title, path, logy=True):
    """Rows: groups of other varied flags; columns: depths. draw(ax, run, color) adds one run."""
    depths = sorted(set(setting(r, "depth") for r in recs), key=lambda d: (d is None, d))
    groups = sorted(set(group_key(r, {"width", "depth"}) for r in recs))[:8]
    from matplotlib.ticker import MaxNLocator
    colors = width_colors(plt, [setting(r, "width") for r in recs])
    fig, axes = plt.subplots(len(groups), len(depths), squeeze=False, sharex=False,
                             figsize=(3.6 * len(depths) + 1, 2.8 * len(groups) + 0.8))
    drew = False
    for gi, g in enumerate(groups):
        for di, d in enumerate(depths):
            ax = axes[gi][di]
            seen = set()
            for r in recs:
                if setting(r, "depth") != d or group_key(r, {"width", "depth"}) != g:
                    continue
                w = setting(r, "width")
                label = None if w in seen else "width %s" % w
                seen.add(w)
                drew |= draw(ax, r, colors.get(w, "gray"), label)
            ax.set_title("depth %s" % d + ("" if len(groups) == 1 else "\n" + group_label(g)), fontsize=9)
            ax.set_xlabel(xlabel)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps and layers are integers
            if di == 0:
                ax.set_ylabel(ylabel)
            ys = [y for ln in ax.get_lines() for y in ln.get_ydata() if y > 0 and math.isfinite(y)]
            if logy and ys and max(ys) > 20 * min(ys):  # log only when it spans decades
                ax.set_yscale("log")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    if drew:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return drew


def loss_curves(plt, recs, out):
    def draw(ax, r, color, label):
        m = [x for x in r["_metrics"] if isinstance(x.get("train_loss"), (int, float)) and x["train_loss"] > 0]
        if not m:
            return False
        ax.plot([x["step"] for x in m], [x["train_loss"] for x in m], color=color, alpha=0.8, label=label)
        return True
    return facet_grid(plt, recs, draw, "train loss", "step", "training loss", os.path.join(out, "loss_curves.png"))


def layer_norms(plt, recs, out):
    def last_norms(r):
        for x in reversed(r["_metrics"]):
            d = x.get("diag")
            if isinstance(d, dict) and isinstance(d.get("layer_norms"), list) and d["layer_norms"]:
                return x.get("step"), d["layer_norms"]
        return None, None

    def draw(ax, r, color, label):
        step, norms = last_norms(r)
        if not norms:
            return False
        ys = [v if isinstance(v, (int, float)) and v > 0 else float("nan") for v in norms]
        ax.plot(range(len(ys)), ys, color=color, alpha=0.8, label=label)
        return True
    recs = [r for r in recs if last_norms(r)[1]]  # only runs that recorded them get panels
    return bool(recs) and facet_grid(plt, recs, draw, "output norm", "layer", "per-layer output norm (last evaluation)",
                      os.path.join(out, "layer_norms.png"))


def steps_heatmap(plt, recs, out):
    widths = sorted(set(setting(r, "width") for r in recs if setting(r, "width") is not None))
    depths = sorted(set(setting(r, "depth") for r in recs if setting(r, "depth") is not None))
    if len(widths) < 2 or len(depths) < 2 or not any(setting(r, "target_loss") for r in recs):
        return False  # nothing to compare, or no --target-loss to reach
    import numpy as np
    groups = sorted(set(group_key(r, {"width", "depth"}) for r in recs))[:8]
    hits = [r["summary"]["steps_to_target"] for r in recs
            if isinstance(r.get("summary", {}).get("steps_to_target"), (int, float))]
    vmin, vmax = (min(hits), max(hits)) if hits else (0, 1)  # one color scale for all panels
    fig, axes = plt.subplots(1, len(groups), squeeze=False,
                             figsize=(1.1 * len(widths) * len(groups) + 2.5, 0.6 * len(depths) + 2))
    for gi, g in enumerate(groups):
        grid = np.full((len(depths), len(widths)), np.nan)
        text = [["" for _ in widths] for _ in depths]
        for i, d in enumerate(depths):
            for j, w in enumerate(widths):
                cell = [r for r in recs if setting(r, "depth") == d and setting(r, "width") == w
                        and group_key(r, {"width", "depth"}) == g]
                hit = [r["summary"]["steps_to_target"] for r in cell
                       if isinstance(r.get("summary", {}).get("steps_to_target"), (int, float))]
                if hit:
                    grid[i, j] = median(hit)
                text[i][j] = ("%g" % median(hit) if hit else "not\nreached") + \
                    ("\n%d/%d" % (len(hit), len(cell)) if len(cell) > 1 else "") if cell else ""
        ax = axes[0][gi]
        im = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto", cmap="magma_r", vmin=vmin, vmax=vmax)
        ax.set_facecolor("#dddddd")  # cells that never reached the target
        ax.set_xticks(range(len(widths)), [str(w) for w in widths])
        ax.set_yticks(range(len(depths)), [str(d) for d in depths])
        ax.set_xlabel("width")
        ax.set_ylabel("depth")
        ax.set_title(group_label(g), fontsize=9)
        for i in range(len(depths)):
            for j in range(len(widths)):
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7,
                        bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1) if text[i][j] else None)
        fig.colorbar(im, ax=ax, label="steps to target (median)")
    fig.suptitle("steps to target loss")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "steps_to_target.png"), dpi=120)
    plt.close(fig)
    return True


def run_curves(plt, run_dir, out):
    """One run's loss and accuracy curves; the path written, or None when there is nothing."""
    m = load_metrics(run_dir)
    num = lambda x: isinstance(x, (int, float)) and math.isfinite(x)
    if not any(num(x.get("train_loss")) for x in m):
        return None
    fig, (al, aa) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in (("train_loss", "train (full set)", "-"), ("test_loss", "test", "-"),
                              ("batch_loss", "last minibatch", ":")):
        pts = [(x["step"], x[key]) for x in m if num(x.get(key))]
        if pts:
            al.plot(*zip(*pts), style, marker="o" if len(pts) < 30 else None, ms=3, label=label)
    for key, label in (("train_acc", "train"), ("test_acc", "test")):
        pts = [(x["step"], x[key]) for x in m if num(x.get(key))]
        if pts:
            aa.plot(*zip(*pts), marker="o" if len(pts) < 30 else None, ms=3, label=label)
    ys = [y for ln in al.get_lines() for y in ln.get_ydata() if y > 0]
    if ys and max(ys) > 20 * min(ys):
        al.set_yscale("log")
    al.set(xlabel="step", ylabel="loss", title="loss")
    aa.set(xlabel="step", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    for ax in (al, aa):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    cfg = {}
    try:
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        pass
    show = lambda v: ("on" if v else "off") if isinstance(v, bool) else v
    desc = " ".join("%s %s" % (k, show(cfg[k])) for k in ("arch", "width", "depth", "tau_rule", "bn", "data") if k in cfg)
    fig.suptitle("%s\n%s" % (os.path.basename(os.path.normpath(run_dir)), desc), fontsize=9)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "curves.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", help="sweep directory or its results.jsonl")
    ap.add_argument("--out", help="folder for the PNGs [<sweep dir>/figures]")
    ap.add_argument("--run", action="store_true", help="RESULTS is one run directory: draw its curves")
    a = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only; no display on clusters
        import matplotlib.pyplot as plt
    except ImportError:
        print("figures skipped: matplotlib is missing; install it with: apt-get install python3-matplotlib")
        return 3
    if a.run:
        path = run_curves(plt, a.results, a.out or os.path.join(a.results, "figures"))
        print("figure: %s" % path if path else "figures: no evaluation in %s/metrics.jsonl to draw" % a.results)
        return 0
    recs = load_results(a.results)
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(
        os.path.join(a.results, "results.jsonl") if os.path.isdir(a.results) else a.results)), "figures")
    recs = [r for r in recs if r.get("summary", {}).get("status") != "failed"]
    if not recs:
        print("figures: no finished runs to draw")
        return 0
    os.makedirs(out, exist_ok=True)
    for r in recs:
        r["_metrics"] = load_metrics(r["_dir"])
    wrote = [name for name, fn in (("loss_curves.png", loss_curves), ("steps_to_target.png", steps_heatmap),
                                   ("layer_norms.png", layer_norms)) if fn(plt, recs, out)]
    print("figures: wrote %s in %s" % (", ".join(wrote) if wrote else "nothing", out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
