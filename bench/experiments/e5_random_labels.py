"""E5 random-labels: a network fits true and random labels alike, but the margins it reaches,
normalized by the spectral complexity R_A, are smaller for random labels."""

from common import Check, Sweep, Verdict, fin, fmt

NAME = "random-labels"
CLAIM = ("A PlainNet fits both the true and the uniformly random labels of a Fashion-MNIST subset "
         "(train accuracy >= 0.95), and the median normalized margin (margin / R_A, Bartlett et al.'s "
         "spectral complexity) is larger with the true labels than with random ones.")
PAPER = ("Bartlett, Foster, Telgarsky 2017, 'Spectrally-normalized margin bounds for neural networks' "
         "(Fig. 1: normalized margin distributions, true vs random labels); Zhang et al. 2017, "
         "'Understanding deep learning requires rethinking generalization' (random labels are fit).")

SETTINGS = {
    # GD at lr 0.5 on unit-norm images: true labels fit by ~step 200, random ones by ~step 450
    "ci": dict(width=512, depth=3, subset=512, seeds=2, lr=0.5, steps=700, eval_every=100),
    "full": dict(width=1024, depth=3, subset=2000, seeds=3, lr=0.5, steps=8000, eval_every=400),
}
FIT = 0.95


def sweeps(ctx):
    s = SETTINGS[ctx.scale]
    return [Sweep("true vs random labels", [
        "--arch", "plain", "--width", s["width"], "--depth", s["depth"], "--data", ctx.fashion(),
        "--subset", s["subset"], "--preprocess", "unitnorm", "--label-noise", "0,1", "--seeds", s["seeds"],
        "--loss", "xent", "--opt", "gd", "--lr", s["lr"], "--steps", s["steps"], "--eval-every", s["eval_every"],
        "--diag", "margins,complexity"])]


def final_diag(r):
    m = r.last() or {}
    return m.get("diag", {})


def nmq(r, key="normalized_margins"):
    return final_diag(r).get(key, {})


def kind(r):
    return "random" if r["label_noise"] >= 1 else "true"


def evaluate(ctx, runs):
    s = SETTINGS[ctx.scale]
    true = [r for r in runs if kind(r) == "true"]
    rand = [r for r in runs if kind(r) == "random"]
    acc = {r.id: r.summary.get("train_acc") or 0.0 for r in runs}
    fit = all(acc[r.id] >= FIT for r in runs)
    med_t = [nmq(r).get("median") for r in true]
    med_r = [nmq(r).get("median") for r in rand]
    ok_vals = all(fin(x) for x in med_t + med_r)
    sep = ok_vals and min(med_t) > max(med_r)
    mean_t = sum(med_t) / len(med_t) if ok_vals else None
    mean_r = sum(med_r) / len(med_r) if ok_vals else None
    checks = [
        Check("both label sets are fit", fit,
              "train accuracy >= %.2f: true %s, random %s" %
              (FIT, ", ".join(fmt(acc[r.id], 3) for r in true), ", ".join(fmt(acc[r.id], 3) for r in rand))),
        Check("normalized margins are larger for true labels", sep,
              "median margin/R_A of every true-label run > every random-label run: true %s vs random %s" %
              (", ".join(fmt(x, 3) for x in med_t), ", ".join(fmt(x, 3) for x in med_r))),
    ]
    header = ["labels", "seed", "train acc", "test acc", "train loss", "median margin", "log10 R_A",
              "normalized margin q10", "median", "q90"]
    rows = []
    for r in true + rand:
        d = final_diag(r)
        q = d.get("normalized_margins", {})
        rows.append([kind(r), r["seed"], acc[r.id], r.summary.get("test_acc"), r.summary.get("train_loss"),
                     d.get("margins", {}).get("median"), d.get("log10_spectral_complexity"),
                     q.get("q10"), q.get("median"), q.get("q90")])
    evidence = {
        "train_acc": {"true": [acc[r.id] for r in true], "random": [acc[r.id] for r in rand]},
        "test_acc": {"true": [r.summary.get("test_acc") for r in true], "random": [r.summary.get("test_acc") for r in rand]},
        "median_normalized_margin": {"true": med_t, "random": med_r},
        "mean_of_medians": {"true": mean_t, "random": mean_r,
                            "ratio": mean_t / mean_r if ok_vals and mean_r and mean_r > 0 else None},
        "median_margin": {"true": [nmq(r, "margins").get("median") for r in true],
                          "random": [nmq(r, "margins").get("median") for r in rand]},
        "log10_spectral_complexity": {"true": [final_diag(r).get("log10_spectral_complexity") for r in true],
                                      "random": [final_diag(r).get("log10_spectral_complexity") for r in rand]},
        "fit_threshold": FIT, "steps": s["steps"], "subset": s["subset"],
    }
    line = ("train acc true %s / random %s; median margin/R_A true %s vs random %s (%sx)" %
            (fmt(min(evidence["train_acc"]["true"]), 3), fmt(min(evidence["train_acc"]["random"]), 3),
             fmt(mean_t, 3), fmt(mean_r, 3), fmt(evidence["mean_of_medians"]["ratio"], 3)))
    notes = [
        "Both label sets train with the same budget: full-batch GD, lr %g, %d steps, xent, %d unit-norm "
        "images, width %d, depth %d; random labels are --label-noise 1 (every training label redrawn "
        "uniformly; test labels stay true, so random-label test accuracy is chance)." %
        (s["lr"], s["steps"], s["subset"], s["width"], s["depth"]),
        "Normalized margin = (f(x)_y - max_{j != y} f(x)_j) / R_A with R_A = prod_i ||W_i||_2 "
        "(sum_i (||W_i^T||_{2,1} / ||W_i||_2)^{2/3})^{3/2} over all layers (docs/DIAGNOSTICS.md); the "
        "inputs are the same for both label sets, so Bartlett et al.'s extra ||X||_F / n factor cancels. "
        "The check asks for full separation across seeds (min over true-label runs > max over random-label "
        "runs), not just a larger mean.",
    ]
    return Verdict(checks, evidence, (header, rows), line, notes)


def plot(ctx, runs, v, plt, path):
    s = SETTINGS[ctx.scale]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    colors = {"true": "tab:blue", "random": "tab:red"}
    ordered = [r for r in runs if kind(r) == "true"] + [r for r in runs if kind(r) == "random"]
    for ax, key, title, unit in ((axes[0], "normalized_margins", "normalized margin  margin / R_A", 1.0),
                                 (axes[1], "margins", "margin  f(x)_y - max_{j!=y} f(x)_j", 1.0)):
        stats = []
        for r in ordered:
            q = nmq(r, key)
            stats.append({"med": q.get("median", float("nan")) / unit, "q1": q.get("q25", float("nan")) / unit,
                          "q3": q.get("q75", float("nan")) / unit, "whislo": q.get("q10", float("nan")) / unit,
                          "whishi": q.get("q90", float("nan")) / unit, "fliers": [q.get("min", float("nan")) / unit,
                                                                                  q.get("max", float("nan")) / unit],
                          "label": "%s\nseed %d" % (kind(r), r["seed"])})
        bp = ax.bxp(stats, showfliers=True, patch_artist=True)
        for patch, r in zip(bp["boxes"], ordered):
            patch.set_facecolor(colors[kind(r)])
            patch.set_alpha(0.5)
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_ylabel(title)
        ax.set_title("%s over the training set\n(box q25-q75, whiskers q10-q90, dots min/max)" % title.split("  ")[0])
    ax = axes[2]
    for r in ordered:
        xs, ys = r.curve("train_acc")
        ax.plot(xs, ys, color=colors[kind(r)], label="%s labels, seed %d: train" % (kind(r), r["seed"]))
        xs, ys = r.curve("test_acc")
        ax.plot(xs, ys, color=colors[kind(r)], ls=":", label="%s labels, seed %d: test" % (kind(r), r["seed"]))
    ax.axhline(FIT, color="gray", ls="--", lw=1)
    ax.set_xlabel("GD step")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("train (solid) and test (dotted) accuracy")
    ax.legend(fontsize=7, loc="center right")
    fig.suptitle("E5 random-labels: PlainNet width %d depth %d, %d Fashion-MNIST images, GD lr %g, %d steps" %
                 (s["width"], s["depth"], s["subset"], s["lr"], s["steps"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
