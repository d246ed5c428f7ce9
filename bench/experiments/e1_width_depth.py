"""E1 width-depth: full-batch GD on a PlainNet reaches the training loss eps in fewer steps when
the network is wider and in more steps when it is deeper (at the depth-normalized step size)."""
import math

from common import Check, Sweep, Verdict, fmt, median, spearman

NAME = "width-depth"
CLAIM = ("Full-batch GD on a PlainNet (mse, synthetic unit-sphere data) needs fewer steps to reach "
         "the training loss eps as the width grows and more steps as the depth grows, at the "
         "depth-normalized step size lr = eta0/L.")
PAPER = ("Allen-Zhu, Li, Song 2019, 'A Convergence Theory for Deep Learning via Over-Parameterization' "
         "(Thm 1: GD reaches eps in T = poly(n, L) log(1/eps) steps once m >= poly(n, L), with "
         "a step size that shrinks with L); DESIGN.md section 1 (PlainNet).")

SETTINGS = {
    # eta0 = 0.2: the largest that stays well inside the stability edge at width 1024
    # (at 4096 it already slows down: 33 steps vs 19). Steps budget: the slowest median is ~2000.
    "ci": dict(widths=[64, 256, 1024], depths=[2, 4, 8, 16], seeds=3, n=32, input_dim=16, eta0=0.2,
               eps=1e-3, steps=5000, eval_every=10),
    # eta0 = 0.05 keeps width 4096 stable; the narrow nets then need ~10^4 cheap steps
    "full": dict(widths=[64, 256, 1024, 4096], depths=[2, 4, 8, 16, 32], seeds=3, n=64, input_dim=32,
                 eta0=0.05, eps=1e-3, steps=100000, eval_every=50),
}
MAX_VIOLATIONS = 1  # per axis: adjacent pairs against the trend (seed noise, see docs/EXPERIMENTS.md)


def lr_of(s, depth):
    return float("%.6g" % (s["eta0"] / depth))


def sweeps(ctx):
    s = SETTINGS[ctx.scale]
    out = []
    for d in s["depths"]:
        out.append(Sweep("depth %d, lr %g" % (d, lr_of(s, d)), [
            "--arch", "plain", "--width", ",".join(map(str, s["widths"])), "--depth", d,
            "--seeds", s["seeds"], "--data", "synthetic", "--n", s["n"], "--n-test", s["n"],
            "--input-dim", s["input_dim"], "--loss", "mse", "--opt", "gd", "--lr", lr_of(s, d),
            "--steps", s["steps"], "--eval-every", s["eval_every"], "--target-loss", s["eps"]]))
    return out


def grid(ctx, runs):
    s = SETTINGS[ctx.scale]
    steps = {}
    for r in runs:
        t = r.summary.get("steps_to_target")
        steps.setdefault((r["width"], r["depth"]), []).append(t if t is not None else math.inf)
    med = {k: median(v) for k, v in steps.items()}
    return s["widths"], s["depths"], steps, med


def evaluate(ctx, runs):
    s = SETTINGS[ctx.scale]
    W, D, steps, med = grid(ctx, runs)
    conv = sum(1 for r in runs if r.summary.get("steps_to_target") is not None)
    finite = all(math.isfinite(med[(w, d)]) for w in W for d in D)
    wv, wpairs, dv, dpairs = [], 0, [], 0
    for d in D:
        for a, b in zip(W, W[1:]):
            wpairs += 1
            if not med[(b, d)] < med[(a, d)]:
                wv.append("depth %d: width %d->%d gives %s->%s steps" % (d, a, b, fmt(med[(a, d)]), fmt(med[(b, d)])))
    for w in W:
        for a, b in zip(D, D[1:]):
            dpairs += 1
            if not med[(w, b)] > med[(w, a)]:
                dv.append("width %d: depth %d->%d gives %s->%s steps" % (w, a, b, fmt(med[(w, a)]), fmt(med[(w, b)])))
    rho_w = {d: spearman(W, [med[(w, d)] for w in W]) for d in D}
    rho_d = {w: spearman(D, [med[(w, d)] for d in D]) for w in W}
    checks = [
        Check("every configuration reaches eps", finite,
              "%d of %d runs reached train loss <= %g within %d steps; median steps finite for %s" %
              (conv, len(runs), s["eps"], s["steps"], "all cells" if finite else "NOT all cells")),
        Check("steps fall with width", len(wv) <= MAX_VIOLATIONS,
              "%d of %d adjacent width pairs do not decrease (allowed %d)%s; Spearman(width, steps) per depth: %s" %
              (len(wv), wpairs, MAX_VIOLATIONS, (": " + "; ".join(wv)) if wv else "",
               ", ".join("L=%d %.2f" % (d, rho_w[d]) for d in D))),
        Check("steps rise with depth", len(dv) <= MAX_VIOLATIONS,
              "%d of %d adjacent depth pairs do not increase (allowed %d)%s; Spearman(depth, steps) per width: %s" %
              (len(dv), dpairs, MAX_VIOLATIONS, (": " + "; ".join(dv)) if dv else "",
               ", ".join("m=%d %.2f" % (w, rho_d[w]) for w in W))),
    ]
    header = ["width \\ depth"] + ["L=%d (lr %g)" % (d, lr_of(s, d)) for d in D]
    rows = [[w] + ["%s  [%s]" % (fmt(med[(w, d)]), ", ".join(fmt(x) for x in steps[(w, d)])) for d in D] for w in W]
    evidence = {
        "eps": s["eps"], "eta0": s["eta0"], "lr_rule": "eta0/L", "widths": W, "depths": D, "seeds": s["seeds"],
        "median_steps_to_eps": {"m=%d" % w: {"L=%d" % d: med[(w, d)] for d in D} for w in W},
        "steps_per_seed": {"m=%d,L=%d" % (w, d): steps[(w, d)] for w in W for d in D},
        "width_violations": len(wv), "depth_violations": len(dv),
        "spearman_width_steps_per_depth": {"L=%d" % d: rho_w[d] for d in D},
        "spearman_depth_steps_per_width": {"m=%d" % w: rho_d[w] for w in W},
        "runs_converged": conv, "runs": len(runs),
    }
    corner = lambda w, d: fmt(med[(w, d)])
    line = ("median steps to %g: m=%d %s->%s over L=%d..%d, m=%d %s->%s; L=%d: %s (m=%d) -> %s (m=%d); "
            "violations width %d, depth %d" %
            (s["eps"], W[0], corner(W[0], D[0]), corner(W[0], D[-1]), D[0], D[-1], W[-1], corner(W[-1], D[0]),
             corner(W[-1], D[-1]), D[0], corner(W[0], D[0]), W[0], corner(W[-1], D[0]), W[-1], len(wv), len(dv)))
    notes = [
        "Table cells: median steps to eps over %d seeds [each seed]; inf = not reached within %d steps." %
        (s["seeds"], s["steps"]),
        "The step size is lr = %g/L. Every weight matrix adds about the same amount to the neural tangent "
        "kernel, so the kernel's scale (its top eigenvalue, and with it the inverse of the largest stable "
        "GD step) grows about linearly in L; lr = eta0/L compares depths at a comparable effective step. "
        "At one fixed lr for all depths, deeper PlainNets take *fewer* steps (measured: m=64, n=32, lr 0.05, eps 1e-2, "
        "L=2/4/8: 605/420/279 steps), which reflects the larger kernel, not an easier problem. Width is "
        "compared at a fixed lr. Late in training the deepest nets oscillate (loss spikes near eps in "
        "the curves, also at eta0/2), a known edge-of-stability effect; steps count the first time the "
        "loss reaches eps." % s["eta0"],
    ]
    return Verdict(checks, evidence, (header, rows), line, notes)


def plot(ctx, runs, v, plt, path):
    from matplotlib.colors import LogNorm
    s = SETTINGS[ctx.scale]
    W, D, steps, med = grid(ctx, runs)
    fig, axes = plt.subplots(1, 1 + len(W), figsize=(4.2 * (1 + len(W)), 4.0))
    ax = axes[0]
    vals = [[med[(w, d)] for d in D] for w in W]
    finite = [x for row in vals for x in row if math.isfinite(x)]
    masked = [[x if math.isfinite(x) else float("nan") for x in row] for row in vals]
    im = ax.imshow(masked, origin="lower", cmap="viridis", aspect="auto",
                   norm=LogNorm(vmin=max(1, min(finite)), vmax=max(finite)) if finite else None)
    for i, w in enumerate(W):
        for j, d in enumerate(D):
            x = vals[i][j]
            ax.text(j, i, fmt(x) if math.isfinite(x) else "not\nreached", ha="center", va="center",
                    color="white" if finite and math.isfinite(x) and x < math.sqrt(max(finite) * max(1, min(finite))) else "black",
                    fontsize=9)
    ax.set_xticks(range(len(D)), [str(d) for d in D])
    ax.set_yticks(range(len(W)), [str(w) for w in W])
    ax.set_xlabel("depth L  (lr = %g/L)" % s["eta0"])
    ax.set_ylabel("width m")
    ax.set_title("median GD steps to train loss %g" % s["eps"])
    fig.colorbar(im, ax=ax, label="steps (log scale)")
    cmap = plt.get_cmap("plasma")
    for k, w in enumerate(W):
        ax = axes[1 + k]
        for j, d in enumerate(D):
            for r in runs:
                if r["width"] == w and r["depth"] == d and r["seed"] == 0:
                    xs, ys = r.curve("train_loss")
                    xs = [x + 1 for x in xs]  # step 0 on a log axis
                    ax.plot(xs, ys, color=cmap(0.85 * j / max(1, len(D) - 1)), label="L=%d" % d)
        ax.axhline(s["eps"], color="gray", ls="--", lw=1, label="eps")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("GD step + 1")
        ax.set_ylabel("train loss (mse)")
        ax.set_title("width %d, seed 0" % w)
        ax.legend(fontsize=8)
    fig.suptitle("E1 width-depth: PlainNet, full-batch GD, n=%d, p=%d" % (s["n"], s["input_dim"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
