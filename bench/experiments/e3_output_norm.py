"""E3 output-norm: at initialization, ||h_L|| of a tau-ResNet stays bounded in L for
tau = 1/sqrt(L) and explodes for tau = L^-1/4."""
import math

from common import Check, Sweep, Verdict, fin, fmt

NAME = "output-norm"
CLAIM = ("At initialization the last hidden layer's norm ||h_L|| of a tau-ResNet stays bounded as the "
         "depth grows from 10 to 1000 when tau = 1/sqrt(L) (growth < 3x), and explodes when "
         "tau = L^-1/4 (growth > 10x).")
PAPER = ("Zhang, Yu, Yi, Chen, Liu 2019, 'Stabilize Deep ResNet with a Sharp Scaling Factor tau': "
         "the forward norm scales like exp(c tau^2 L), i.e. exp(c) for 1/sqrt(L) and exp(c sqrt(L)) for L^-1/4.")

SETTINGS = {
    "ci": dict(width=128, depths=[10, 30, 100, 300, 1000], n=32, input_dim=16, seeds=1),
    "full": dict(width=1024, depths=[10, 30, 100, 300, 1000], n=256, input_dim=64, seeds=3),
}
RULES = ["1/sqrt(L)", "1/L", "L^-1/4"]
EXPLODES = 10.0  # growth factor lo->hi depth above which L^-1/4 "explodes"
BOUNDED = 3.0    # growth factor below which 1/sqrt(L) is "bounded"


def tau_of(rule, L):
    return {"1/sqrt(L)": L ** -0.5, "1/L": 1.0 / L, "L^-1/4": L ** -0.25}[rule]


def sweeps(ctx):
    s = SETTINGS[ctx.scale]
    return [Sweep("init norms", [
        "--arch", "resnet", "--tau", ",".join(RULES), "--depth", ",".join(map(str, s["depths"])),
        "--width", s["width"], "--seeds", s["seeds"], "--data", "synthetic", "--n", s["n"], "--n-test", s["n"],
        "--input-dim", s["input_dim"], "--steps", 0, "--diag", "norms"])]


def layer_norms(r):
    m = r.at_step(0)
    return (m or {}).get("diag", {}).get("layer_norms") or []


def last_norm(r, layer=-1):
    ln = layer_norms(r)
    x = ln[layer] if ln else None
    return x if fin(x) and x > 0 else math.inf  # overflowed (inf/nan, or 0 after nan)


def gmean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v and all(map(math.isfinite, v)) else math.inf


def table(ctx, runs, layer=-1):
    """rule -> depth -> geometric mean over seeds of ||h_layer|| (norms multiply through the layers)."""
    return {rule: {d: gmean([last_norm(r, layer) for r in runs if r["tau_rule"] == rule and r["depth"] == d])
                   for d in SETTINGS[ctx.scale]["depths"]} for rule in RULES}


def fit(T, T0, rule):
    """Least squares through the origin of log(||h_L|| / ||h_0||) = c tau^2 L over the depths."""
    pts = [(tau_of(rule, d) ** 2 * d, math.log(x / T0[rule][d])) for d, x in T[rule].items()
           if math.isfinite(x) and math.isfinite(T0[rule][d])]
    sxx = sum(p[0] ** 2 for p in pts)
    return sum(p[0] * p[1] for p in pts) / sxx if sxx > 0 else None


def evaluate(ctx, runs):
    s = SETTINGS[ctx.scale]
    T, T0 = table(ctx, runs), table(ctx, runs, 0)
    lo, hi = s["depths"][0], s["depths"][-1]
    g = {rule: T[rule][hi] / T[rule][lo] for rule in RULES}
    spread = {rule: max(T[rule].values()) / min(T[rule].values()) for rule in RULES}
    c = fit(T, T0, "L^-1/4")
    bound = math.exp(c) if c is not None else None
    checks = [
        Check("L^-1/4 explodes", g["L^-1/4"] > EXPLODES,
              "||h_L|| grows %sx from L=%d to L=%d (threshold > %gx); %s" %
              (fmt(g["L^-1/4"]), lo, hi, EXPLODES, ", ".join("L=%d %s" % (d, fmt(T["L^-1/4"][d])) for d in s["depths"]))),
        Check("1/sqrt(L) stays bounded", spread["1/sqrt(L)"] < BOUNDED,
              "largest / smallest ||h_L|| over L=%d..%d is %sx (threshold < %gx); %s" %
              (lo, hi, fmt(spread["1/sqrt(L)"]), BOUNDED, ", ".join("L=%d %s" % (d, fmt(T["1/sqrt(L)"][d])) for d in s["depths"]))),
    ]
    header = ["depth L"] + ["||h_L||, tau=%s" % r for r in RULES] + ["tau^2 L for L^-1/4"]
    rows = [[d] + [T[r][d] for r in RULES] + [math.sqrt(d)] for d in s["depths"]]
    rows.append(["growth L=%d->%d" % (lo, hi)] + [g[r] for r in RULES] + [""])
    rows.append(["largest / smallest"] + [spread[r] for r in RULES] + [""])
    evidence = {
        "last_layer_norm": {r: {"L=%d" % d: T[r][d] for d in s["depths"]} for r in RULES},
        "first_layer_norm": {r: {"L=%d" % d: T0[r][d] for d in s["depths"]} for r in RULES},
        "growth": g, "spread_max_over_min": spread, "thresholds": {"explodes": EXPLODES, "bounded": BOUNDED},
        "fit_log_ratio_vs_tau2L_for_L^-1/4": {"c": c},
        "predicted_1/sqrt(L)_growth_bound_exp(c)": bound,
        "width": s["width"], "n": s["n"], "seeds": s["seeds"],
    }
    line = ("||h_L|| over L=%d..%d: L^-1/4 grows %sx (>%g), 1/sqrt(L) varies %sx (<%g), 1/L %sx; "
            "fitted ||h_L||/||h_0|| = exp(c tau^2 L), c=%s" %
            (lo, hi, fmt(g["L^-1/4"], 3), EXPLODES, fmt(spread["1/sqrt(L)"], 3), BOUNDED, fmt(spread["1/L"], 3),
             fmt(c, 3)))
    notes = [
        "||h_L|| is the mean over the %d training points of the last hidden layer's norm at initialization "
        "(--steps 0 --diag norms), inputs on the unit sphere; geometric mean over %d seed(s)." % (s["n"], s["seeds"]),
        "Thresholds: ||h_l||^2 grows by a factor ~(1 + c' tau^2) per layer, so ||h_L|| ~ ||h_0|| exp(c tau^2 L). "
        "For L^-1/4, tau^2 L = sqrt(L) rises from %.1f to %.1f: the growth is exp(c (%.1f - %.1f)), already "
        "> 10x for any c > %.2f. For 1/sqrt(L), tau^2 L = 1 at every depth, so the theory predicts no growth "
        "in L at all, the whole stack multiplying ||h_0|| by about exp(c); with the c fitted on the L^-1/4 "
        "runs (c = %s) that is %s, so no two depths should differ by more than that (< 3x)." %
        (math.sqrt(lo), math.sqrt(hi), math.sqrt(hi), math.sqrt(lo), math.log(EXPLODES) / (math.sqrt(hi) - math.sqrt(lo)),
         fmt(c, 3), fmt(bound, 3)),
    ]
    return Verdict(checks, evidence, (header, rows), line, notes)


def plot(ctx, runs, v, plt, path):
    s = SETTINGS[ctx.scale]
    T, T0 = table(ctx, runs), table(ctx, runs, 0)
    c = fit(T, T0, "L^-1/4")
    h0 = gmean([x for rule in RULES for x in T0[rule].values()])
    colors = {"1/sqrt(L)": "tab:green", "1/L": "tab:blue", "L^-1/4": "tab:orange"}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    ax = axes[0]
    D = s["depths"]
    for rule in RULES:
        ax.plot(D, [T[rule][d] for d in D], marker="o", color=colors[rule], label="tau = %s" % rule)
        if c is not None and math.isfinite(h0):
            xs = [D[0] * (D[-1] / D[0]) ** (k / 60) for k in range(61)]
            ax.plot(xs, [h0 * math.exp(c * tau_of(rule, x) ** 2 * x) for x in xs], ls=":", color=colors[rule], lw=1)
    ax.plot([], [], ls=":", color="gray", label="||h_0|| exp(c tau^2 L), c=%s fitted on L^-1/4" % fmt(c, 3))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("depth L (log scale)")
    ax.set_ylabel("||h_L|| at initialization (log scale)")
    ax.set_title("last hidden layer norm vs depth")
    ax.legend(fontsize=8)
    ax = axes[1]
    deep = D[-1]
    for rule in RULES:
        for r in runs:
            if r["tau_rule"] == rule and r["depth"] == deep and r["seed"] == 0:
                ln = layer_norms(r)
                ax.plot(range(len(ln)), [x if fin(x) and x > 0 else float("nan") for x in ln], color=colors[rule],
                        label="tau = %s" % rule)
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("||h_l|| (log scale)")
    ax.set_title("per-layer norm through the L=%d network" % deep)
    ax.legend(fontsize=8)
    fig.suptitle("E3 output-norm: tau-ResNet at initialization, width %d, %d unit-sphere inputs" % (s["width"], s["n"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
