#!/usr/bin/env python3
"""The seed's claims as named experiments (docs/EXPERIMENTS.md). Called by `taunet experiment`:

    python3 bench/experiments.py TAUNET_BIN NAME|list [--scale ci|full] [--out DIR]
                                 [--threads T] [--backend B] [--data DIR] [--dry-run]

runs the experiment's sweeps with that taunet (`taunet sweep ... --out DIR/sweep`, which resumes
itself when rerun), checks the claim on DIR/sweep/results.jsonl and the runs' metrics.jsonl,
writes DIR/claim.json and DIR/REPORT.md, draws DIR/NAME.png (matplotlib, when importable), and
prints `CLAIM NAME: SUPPORTED|NOT SUPPORTED — key numbers`.
Exit codes: 0 supported, 3 not supported by the data, 2 bad usage, 1 failure.
"""
import argparse
import json
import os
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "experiments"))

import common  # noqa: E402
import e1_width_depth  # noqa: E402
import e2_tau_depth  # noqa: E402
import e3_output_norm  # noqa: E402
import e4_layer_norms  # noqa: E402
import e5_random_labels  # noqa: E402

EXPERIMENTS = {m.NAME: m for m in (e1_width_depth, e2_tau_depth, e3_output_norm, e4_layer_norms, e5_random_labels)}


class Usage(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def parse(argv):
    p = Parser(prog="taunet experiment", add_help=False)
    p.add_argument("taunet")
    p.add_argument("name")
    p.add_argument("--scale", default="ci", choices=["ci", "full"])
    p.add_argument("--out")
    p.add_argument("--threads", type=int)
    p.add_argument("--backend", choices=["auto", "cpu", "cuda"])
    p.add_argument("--data")
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    if a.name != "list" and a.name not in EXPERIMENTS:
        raise Usage("unknown experiment '%s'; experiments: %s" % (a.name, ", ".join(EXPERIMENTS)))
    if a.threads is not None and a.threads < 1:
        raise Usage("--threads must be >= 1")
    if a.data:
        need = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        miss = [f for f in need if not any(os.path.isfile(os.path.join(a.data, f + z)) for z in ("", ".gz"))]
        if miss:
            raise Usage("--data %s lacks %s (a Fashion-MNIST folder: data/fetch.sh fashion DIR)" % (a.data, ", ".join(miss)))
    return a


def list_experiments():
    for name, m in EXPERIMENTS.items():
        print("%-17s %s" % (name, m.CLAIM))
    return 0


def write_report(ctx, mod, v, runtime, fig_note):
    L = []
    L.append("# Experiment `%s` (%s scale): %s\n" % (ctx.name, ctx.scale, "SUPPORTED" if v.supported else "NOT SUPPORTED"))
    L.append("**Claim.** %s\n" % mod.CLAIM)
    L.append("**Source.** %s\n" % mod.PAPER)
    L.append("**Verdict.** %s — %s\n" % ("SUPPORTED" if v.supported else "NOT SUPPORTED", v.line))
    L.append("## Checks\n")
    for c in v.checks:
        L.append("- [%s] **%s**: %s" % ("x" if c.passed else " ", c.name, c.detail))
    L.append("")
    header, rows = v.table
    cell = lambda x: common.fmt(x).replace("|", "\\|")  # norms like ||h_L|| inside a table
    L.append("## Numbers\n")
    L.append("| " + " | ".join(cell(h) for h in header) + " |")
    L.append("|" + "---|" * len(header))
    for r in rows:
        L.append("| " + " | ".join(cell(x) for x in r) + " |")
    L.append("")
    if v.notes:
        L.append("## Notes\n")
        for n in v.notes:
            L.append(n + "\n")
    L.append("## Figure\n")
    L.append(fig_note + "\n")
    L.append("## Commands\n")
    L.append("Reproduce (sweeps resume; finished runs are skipped):\n")
    again = ["taunet", "experiment", ctx.name, "--scale", ctx.scale, "--out", ctx.out] + ctx.engine_flags()
    L.append("```sh\n" + common.shell(again) + "\n```\n")
    L.append("The sweeps it ran (then `taunet report %s` tabulates them):\n" % ctx.sweep_dir)
    L.append("```sh\n" + "\n".join(ctx.commands) + "\n```\n")
    L.append("Runtime of this invocation (runs already done are skipped, not counted): %.1f s wall, "
             "%.1f s CPU (user %.1f + sys %.1f) in the runs.\n" %
             (runtime["wall_s"], runtime["user_s"] + runtime["sys_s"], runtime["user_s"], runtime["sys_s"]))
    with open(os.path.join(ctx.out, "REPORT.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


def figure(ctx, mod, runs, v):
    """Draws DIR/NAME.png; returns the REPORT.md line about it. Raises on a plotting bug."""
    path = os.path.join(ctx.out, ctx.name + ".png")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("figure skipped: no matplotlib for %s; install it with: apt-get install python3-matplotlib" % sys.executable,
              flush=True)
        return "Skipped: matplotlib is not installed (`apt-get install python3-matplotlib`)."
    mod.plot(ctx, runs, v, plt, path)
    plt.close("all")
    print("figure: %s" % path, flush=True)
    return "![%s](%s)" % (ctx.name, os.path.basename(path))


def main(argv):
    try:
        a = parse(argv)
    except Usage as e:
        print("taunet: experiment: %s\nusage: taunet experiment NAME|list [--scale ci|full] [--out DIR] "
              "[--threads T] [--backend B] [--data DIR] [--dry-run]" % e, file=sys.stderr)
        return 2
    if a.name == "list":
        return list_experiments()
    mod = EXPERIMENTS[a.name]
    out = os.path.abspath(a.out or os.path.join("runs", "exp-%s-%s" % (a.name, a.scale)))
    ctx = common.Context(os.path.abspath(a.taunet), a.name, a.scale, out, a.threads, a.backend,
                         os.path.abspath(a.data) if a.data else None, os.path.dirname(HERE))
    t0 = time.time()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        sweeps = mod.sweeps(ctx)
        for sw in sweeps:
            text = common.dry_run(ctx, sw)
            if a.dry_run:
                print("== %s: %s\n%s" % (sw.label, common.shell(ctx.sweep_argv(sw)), text), end="", flush=True)
        if a.dry_run:
            print("experiment %s (%s): %d sweeps, %d runs; nothing run (--dry-run)" %
                  (a.name, a.scale, len(sweeps), sum(len(s.ids) for s in sweeps)))
            return 0
        os.makedirs(out, exist_ok=True)
        for sw in sweeps:
            common.run_sweep(ctx, sw)
        runs = common.collect(ctx, sweeps)
        v = mod.evaluate(ctx, runs)
    except common.Failure as e:
        print("taunet: experiment %s: %s" % (a.name, e), file=sys.stderr)
        return 1
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    runtime = {"wall_s": round(time.time() - t0, 2), "user_s": round(ru1.ru_utime - ru0.ru_utime, 2),
               "sys_s": round(ru1.ru_stime - ru0.ru_stime, 2)}
    claim = {"experiment": a.name, "scale": a.scale, "claim": mod.CLAIM, "supported": v.supported,
             "evidence": common.jsonable(v.evidence), "checks": [c.as_json() for c in v.checks],
             "runtime": runtime, "commands": ctx.commands}
    with open(os.path.join(out, "claim.json"), "w", encoding="utf-8") as f:
        json.dump(claim, f, indent=1)
        f.write("\n")
    fig_ok = True
    try:
        fig_note = figure(ctx, mod, runs, v)
    except Exception:  # a plotting bug must not pass silently; the verdict is still written
        traceback.print_exc()
        fig_note, fig_ok = "Failed: see the traceback of the run.", False
    write_report(ctx, mod, v, runtime, fig_note)
    for c in v.checks:
        print("  [%s] %s: %s" % ("ok" if c.passed else "FAIL", c.name, c.detail))
    print("CLAIM %s: %s — %s" % (a.name, "SUPPORTED" if v.supported else "NOT SUPPORTED", v.line), flush=True)
    print("report: %s" % os.path.join(out, "REPORT.md"))
    if not fig_ok:
        return 1
    return 0 if v.supported else 3


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("taunet: experiment: interrupted; rerun the same command to continue", file=sys.stderr)
        sys.exit(130)
