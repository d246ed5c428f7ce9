"""E2 tau-depth: the tau = 1/sqrt(L) ResNet trains at a depth where the PlainNet already fails,
and the larger scale tau = L^-1/4 breaks down with depth."""
import math

from common import Check, Sweep, Verdict, fin, fmt

NAME = "tau-depth"
CLAIM = ("With the same SGD budget on Fashion-MNIST images, a width-128 tau-ResNet with tau = 1/sqrt(L) "
         "at depth ~1000 reaches a clearly lower training loss than a PlainNet of depth 30, while "
         "tau = L^-1/4 is worse or diverges at depth >= 100.")
PAPER = ("Zhang, Yu, Yi, Chen, Liu 2019, 'Stabilize Deep ResNet with a Sharp Scaling Factor tau' "
         "(tau = 1/sqrt(L) is the sharp value: larger tau explodes with depth; a deep PlainNet "
         "does not train); DESIGN.md section 1.")

SETTINGS = {
    # depth 1000 at width 128 costs ~0.2 s per SGD step on 2 cores: 80 steps of batch 32
    "ci": dict(width=128, shallow=30, mid=100, deep=1000, subset=256, batch=32, lr=0.05, steps=80,
               eval_every=10, plain_seeds=3),
    "full": dict(width=128, shallow=30, mid=100, mid2=300, deep=1202, subset=0, batch=128, lr=0.05,
                 steps=1500, eval_every=50, plain_seeds=3),
}
RULES = ["1/sqrt(L)", "1/L", "L^-1/4"]
CLEARLY = 0.75   # resnet-deep final loss must be below 0.75 x the best PlainNet's
WORSE = 1.5      # L^-1/4 "worse": final loss above 1.5 x the 1/sqrt(L) run's at that depth
CHANCE = math.log(10)


def common_flags(ctx, s):
    f = ["--width", s["width"], "--data", ctx.fashion(), "--batch", s["batch"], "--lr", s["lr"],
         "--steps", s["steps"], "--eval-every", s["eval_every"]]
    if s["subset"]:
        f += ["--subset", s["subset"]]
    return f


def sweeps(ctx):
    s = SETTINGS[ctx.scale]
    mids = [s["shallow"], s["mid"]] + ([s["mid2"]] if "mid2" in s else [])
    c = common_flags(ctx, s)
    return [
        Sweep("PlainNet L=%d" % s["shallow"], ["--arch", "plain", "--depth", s["shallow"], "--seeds", s["plain_seeds"]] + c),
        Sweep("tau rules at L=%s" % ",".join(map(str, mids)),
              ["--arch", "resnet", "--depth", ",".join(map(str, mids)), "--tau", ",".join(RULES)] + c),
        Sweep("deep ResNet L=%d" % s["deep"], ["--arch", "resnet", "--depth", s["deep"], "--tau", "1/sqrt(L),L^-1/4"] + c),
    ]


def final_loss(r):
    """The final training loss; +inf for a diverged run (its loss is NaN or exploded)."""
    x = r.summary.get("train_loss")
    return math.inf if r.diverged or not fin(x) else x


def init_loss(r):
    m = r.at_step(0)
    return m.get("train_loss") if m else None


def name(r):
    if r["arch"] == "plain":
        return "plain L=%d seed %d" % (r["depth"], r["seed"])
    return "resnet L=%d tau=%s" % (r["depth"], r["tau_rule"])


def pick(runs, arch, depth, rule=None):
    return [r for r in runs if r["arch"] == arch and r["depth"] == depth and (rule is None or r["tau_rule"] == rule)]


def evaluate(ctx, runs):
    s = SETTINGS[ctx.scale]
    plain = pick(runs, "plain", s["shallow"])
    deep = pick(runs, "resnet", s["deep"], "1/sqrt(L)")[0]
    best_plain = min(final_loss(r) for r in plain)
    fd, f0 = final_loss(deep), init_loss(deep)
    ok1 = fd < CLEARLY * best_plain
    ok2 = fin(f0) and fd < 0.5 * f0 and fd < CHANCE
    big = [d for d in sorted(set(r["depth"] for r in runs if r["arch"] == "resnet")) if d >= 100]
    worse, lines = True, []
    for d in big:
        q = pick(runs, "resnet", d, "L^-1/4")[0]
        ref = final_loss(pick(runs, "resnet", d, "1/sqrt(L)")[0])
        ok = q.diverged or final_loss(q) > WORSE * ref
        worse = worse and ok
        lines.append("L=%d: %s (1/sqrt(L): %s)" % (d, "diverged at step %s" % q.summary.get("diverged_step") if q.diverged
                                                    else "loss %s" % fmt(final_loss(q)), fmt(ref)))
    checks = [
        Check("deep 1/sqrt(L) ResNet beats the shallow PlainNet", ok1,
              "L=%d ResNet final train loss %s < %.2f x best PlainNet L=%d final loss %s (over %d seeds; diverged = inf)" %
              (s["deep"], fmt(fd), CLEARLY, s["shallow"], fmt(best_plain), len(plain))),
        Check("deep 1/sqrt(L) ResNet actually trained", ok2,
              "final %s < 0.5 x its initial loss %s and < ln 10 = %.3f (chance)" % (fmt(fd), fmt(f0), CHANCE)),
        Check("L^-1/4 worse or diverged at depth >= 100", worse,
              "diverged or final loss > %.1f x the 1/sqrt(L) run: %s" % (WORSE, "; ".join(lines))),
    ]
    header = ["configuration", "status", "initial train loss", "final train loss", "final train acc", "test acc"]
    rows = [[name(r), r.status + ("@%s" % r.summary.get("diverged_step") if r.diverged else ""), init_loss(r),
             final_loss(r), r.summary.get("train_acc"), r.summary.get("test_acc")] for r in runs]
    evidence = {
        "resnet_deep": {"depth": s["deep"], "tau": "1/sqrt(L)", "initial_loss": f0, "final_loss": fd,
                        "final_acc": deep.summary.get("train_acc"), "status": deep.status},
        "plain_shallow": [{"depth": r["depth"], "seed": r["seed"], "status": r.status, "final_loss": final_loss(r),
                           "final_acc": r.summary.get("train_acc")} for r in plain],
        "rules": [{"depth": r["depth"], "tau": r["tau_rule"], "status": r.status, "final_loss": final_loss(r),
                   "final_acc": r.summary.get("train_acc")} for r in runs if r["arch"] == "resnet"],
        "thresholds": {"clearly": CLEARLY, "worse": WORSE, "chance_loss": CHANCE},
        "budget": {"steps": s["steps"], "batch": s["batch"], "lr": s["lr"], "subset": s["subset"] or "all"},
    }
    qd = pick(runs, "resnet", s["deep"], "L^-1/4")[0]
    line = ("ResNet L=%d tau=1/sqrt(L) loss %s -> %s (acc %s) vs PlainNet L=%d best %s; L^-1/4: %s" %
            (s["deep"], fmt(f0), fmt(fd), fmt(deep.summary.get("train_acc"), 3), s["shallow"], fmt(best_plain),
             ", ".join("L=%d %s" % (r["depth"], "diverged" if r.diverged else fmt(final_loss(r)))
                       for r in runs if r["arch"] == "resnet" and r["tau_rule"] == "L^-1/4")))
    notes = ["Same budget for every configuration: %d SGD steps, batch %d, lr %g, %s training images, "
             "xent loss. A diverged run (loss NaN or > 1e4 x its initial loss) counts as final loss inf." %
             (s["steps"], s["batch"], s["lr"], s["subset"] or "all"),
             "1/L also trains (a tiny branch makes the net nearly shallow); the claim is about 1/sqrt(L) "
             "surviving depth and L^-1/4 not. %s" % ("L^-1/4 at L=%d: %s." % (s["deep"], qd.status))]
    return Verdict(checks, evidence, (header, rows), line, notes)


def plot(ctx, runs, v, plt, path):
    s = SETTINGS[ctx.scale]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    colors = {"plain": "tab:red", "1/sqrt(L)": "tab:green", "1/L": "tab:blue", "L^-1/4": "tab:orange"}
    labels = [name(r) for r in runs]
    col = [colors["plain"] if r["arch"] == "plain" else colors[r["tau_rule"]] for r in runs]
    losses = [final_loss(r) for r in runs]
    finite = [x for x in losses if math.isfinite(x)]
    top = max(finite + [CHANCE]) * 3
    ax = axes[0]
    y = list(range(len(runs)))
    ax.barh(y, [x if math.isfinite(x) else top for x in losses], color=col,
            hatch=None, edgecolor=["black" if not math.isfinite(x) else c for x, c in zip(losses, col)])
    for i, x in enumerate(losses):
        ax.text(x if math.isfinite(x) else top, i, "  " + (fmt(x, 3) if math.isfinite(x) else "diverged"),
                va="center", fontsize=8)
    ax.axvline(CHANCE, color="gray", ls=":", lw=1)
    ax.text(CHANCE, -0.6, "ln 10", color="gray", fontsize=8, ha="center")
    ax.set_xscale("log")
    ax.set_xlim(min(finite + [CHANCE]) / 2, top * 8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("final train loss (xent, log scale)")
    ax.set_title("final train loss after %d SGD steps" % s["steps"])
    ax = axes[1]
    acc = [r.summary.get("train_acc") or 0.0 for r in runs]
    ax.barh(y, acc, color=col)
    for i, (a, r) in enumerate(zip(acc, runs)):
        ax.text(a, i, "  %.2f%s" % (a, " (diverged)" if r.diverged else ""), va="center", fontsize=8)
    ax.axvline(0.1, color="gray", ls=":", lw=1)
    ax.set_xlim(0, 1.15)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("final train accuracy (0.1 = chance)")
    ax.set_title("final train accuracy")
    ax = axes[2]
    for r in runs:
        if r.diverged or (r["arch"] == "plain" and r["seed"] != 0):
            continue
        xs, ys = r.curve("train_loss")
        ls = "-" if r["depth"] >= s["deep"] else ("--" if r["depth"] > s["shallow"] else ":")
        c = colors["plain"] if r["arch"] == "plain" else colors[r["tau_rule"]]
        ax.plot(xs, ys, ls=ls, color=c, label=name(r).replace(" seed 0", ""))
    ax.axhline(CHANCE, color="gray", ls=":", lw=1, label="ln 10 (chance)")
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("train loss (log scale)")
    ax.set_title("training curves (diverged runs omitted)\nline style: depth; color: arch / tau rule")
    ax.legend(fontsize=7)
    fig.suptitle("E2 tau-depth: width %d, Fashion-MNIST (%s images), batch %d, lr %g" %
                 (s["width"], s["subset"] or "all", s["batch"], s["lr"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
