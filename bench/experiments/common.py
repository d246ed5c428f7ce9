"""Shared machinery of the named experiments (bench/experiments.py, docs/EXPERIMENTS.md).

An experiment module defines:
  NAME, CLAIM (one sentence), PAPER (where the claim comes from),
  sweeps(ctx) -> list of Sweep     what to run (each becomes one `taunet sweep` into DIR/sweep)
  evaluate(ctx, runs) -> Verdict   the check, from the finished runs
  plot(ctx, runs, verdict, plt, path)   the figure (matplotlib, Agg)
Everything here is standard-library Python, so the check runs without numpy/matplotlib.
"""
import json
import math
import os
import re
import shlex
import subprocess


class Failure(Exception):
    """A run or the harness failed: exit code 1 (not a verdict on the claim)."""


class Sweep:
    """One `taunet sweep` invocation: its flags (without --out/--threads/--backend) and a label
    saying what part of the experiment it is."""

    def __init__(self, label, flags):
        self.label = label
        self.flags = [str(f) for f in flags]
        self.ids = []  # the grid's run ids, from --dry-run


class Check:
    def __init__(self, name, passed, detail):
        self.name, self.passed, self.detail = name, bool(passed), detail

    def as_json(self):
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


class Verdict:
    """supported: all checks passed. evidence: the numbers (JSON). table: (header, rows) for
    REPORT.md. line: the key numbers in one line. notes: extra paragraphs for REPORT.md."""

    def __init__(self, checks, evidence, table, line, notes=()):
        self.checks = checks
        self.supported = all(c.passed for c in checks)
        self.evidence, self.table, self.line, self.notes = evidence, table, line, list(notes)


class Context:
    def __init__(self, taunet, name, scale, out, threads, backend, data, root):
        self.taunet, self.name, self.scale, self.out = taunet, name, scale, out
        self.threads, self.backend, self.root = threads, backend, root
        self.data = data or os.path.join(root, "data", "fashion-sample")
        self.sweep_dir = os.path.join(out, "sweep")
        self.commands = []  # exact commands run, for REPORT.md

    @property
    def ci(self):
        return self.scale == "ci"

    def fashion(self):
        return "fashion:" + self.data

    def engine_flags(self):
        f = []
        if self.threads:
            f += ["--threads", str(self.threads)]
        if self.backend:
            f += ["--backend", self.backend]
        return f

    def sweep_argv(self, sw, dry=False):
        argv = [self.taunet, "sweep"] + sw.flags + self.engine_flags() + ["--out", self.sweep_dir]
        return argv + (["--dry-run"] if dry else [])


def shell(argv):
    return " ".join(shlex.quote(a) for a in argv)


def child_env():
    """The runs' environment. OpenMP waiting, measured on 2 cores with a 1000-layer ResNet (thousands
    of tiny parallel regions per step): libgomp's default spin (300k) costs 2.4x when the cores are
    busy with other work; fully passive waiting (what CTest sets) costs 3.5x on an idle machine; a
    short spin before sleeping is within 20% of the best in both cases. Set either variable to
    override."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    env.setdefault("GOMP_SPINCOUNT", "30000")
    return env


_DRY_ROW = re.compile(r"^\s*(\d+)\s+([0-9a-f]{16})\s")


def dry_run(ctx, sw):
    """Validates the grid (`taunet sweep --dry-run`) and records its run ids."""
    argv = ctx.sweep_argv(sw, dry=True)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    if p.returncode != 0:
        msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
        raise Failure("sweep '%s' is invalid (exit %d): %s\n  command: %s" %
                      (sw.label, p.returncode, msg[-1] if msg else "", shell(argv)))
    sw.ids = [m.group(2) for m in map(_DRY_ROW.match, p.stdout.splitlines()) if m]
    if not sw.ids:
        raise Failure("sweep '%s': no grid points in the dry run:\n%s" % (sw.label, p.stdout))
    return p.stdout


def run_sweep(ctx, sw):
    argv = ctx.sweep_argv(sw)
    ctx.commands.append(shell(argv))
    print("== %s: %s" % (sw.label, shell(argv)), flush=True)
    p = subprocess.run(argv, env=child_env())
    if p.returncode != 0:
        raise Failure("sweep '%s' failed with exit code %d: %s" % (sw.label, p.returncode, shell(argv)))


def load_results(path):
    """id -> record of results.jsonl (the last complete line of an id wins)."""
    recs = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and "id" in r:
                    recs[r["id"]] = r
    except OSError as e:
        raise Failure("cannot read %s: %s" % (path, e))
    return recs


class Run:
    """One finished run: its summary, resolved config and (lazily) metrics.jsonl."""

    def __init__(self, rec, base, label):
        self.id = rec["id"]
        self.label = label
        self.summary = rec.get("summary", {})
        self.config = self.summary.get("config", {})
        self.dir = os.path.join(base, rec.get("run_dir", os.path.join("runs", self.id)))
        self._metrics = None

    def __getitem__(self, key):
        return self.config.get(key)

    @property
    def status(self):
        return self.summary.get("status")

    @property
    def diverged(self):
        return self.status == "diverged"

    @property
    def metrics(self):
        if self._metrics is None:
            self._metrics = []
            try:
                with open(os.path.join(self.dir, "metrics.jsonl"), encoding="utf-8") as f:
                    for line in f:
                        try:
                            self._metrics.append(json.loads(line))
                        except ValueError:
                            pass
            except OSError:
                pass
        return self._metrics

    def at_step(self, step):
        for m in self.metrics:
            if m.get("step") == step:
                return m
        return None

    def last(self):
        return self.metrics[-1] if self.metrics else None

    def curve(self, key="train_loss"):
        """(steps, values) of finite values of key over the evaluations."""
        xs, ys = [], []
        for m in self.metrics:
            v = m.get(key)
            if isinstance(v, (int, float)) and math.isfinite(v):
                xs.append(m.get("step", 0))
                ys.append(v)
        return xs, ys


def collect(ctx, sweeps):
    """The runs of these sweeps (by the ids of their dry runs), in grid order. A missing or failed
    run is a Failure: the claim cannot be judged without it."""
    path = os.path.join(ctx.sweep_dir, "results.jsonl")
    recs = load_results(path)
    runs = []
    for sw in sweeps:
        for rid in sw.ids:
            r = recs.get(rid)
            if r is None:
                raise Failure("run %s of sweep '%s' has no line in %s" % (rid, sw.label, path))
            st = r.get("summary", {}).get("status")
            if st == "failed":
                raise Failure("run %s of sweep '%s' failed: %s" % (rid, sw.label, r["summary"].get("reason", "?")))
            runs.append(Run(r, ctx.sweep_dir, sw.label))
    return runs


# ------------------------------------------------------------------ numbers

def fin(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def median(xs):
    """Median where None/NaN/inf count as +inf (a run that never got there)."""
    v = sorted(x if fin(x) else math.inf for x in xs)
    if not v:
        return math.inf
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def ranks(xs):
    """Average ranks (ties share), 1-based."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(xs, ys):
    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def fmt(x, digits=4):
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        if math.isnan(x):
            return "nan"
        return "%.*g" % (digits, x)
    return str(x)


def jsonable(x):
    """Evidence as strict JSON: inf/nan become strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x
