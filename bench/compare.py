#!/usr/bin/env python3
"""Side-by-side benchmark: taunet vs the PyTorch peer on the same configurations, in one run,
alternating (taunet, torch, taunet, torch, ...) so that machine noise hits both alike. Prints a
markdown table with the ratio torch_s_per_step / taunet_s_per_step (> 1: taunet is faster) and
writes everything as JSON.

    python3 bench/compare.py --threads 2 --rounds 2 --out bench/out/cpu.json [--presets a,b]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name -> (torch_fc.py flags); the taunet side uses `taunet bench --preset name`
PRESETS = {
    "plain-m128-L10": ["--arch", "plain", "--width", "128", "--depth", "10"],
    "resnet-m128-L100": ["--arch", "resnet", "--width", "128", "--depth", "100"],
    "resnet-m128-L1202": ["--arch", "resnet", "--width", "128", "--depth", "1202"],
    "resnet-bn-m128-L1202": ["--arch", "resnet", "--width", "128", "--depth", "1202", "--bn"],
    "plain-m1024-L10": ["--arch", "plain", "--width", "1024", "--depth", "10"],
    "plain-m4096-L4": ["--arch", "plain", "--width", "4096", "--depth", "4"],
}


def run_taunet(binary, preset, a):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [binary, "bench", "--preset", preset, "--threads", str(a.threads), "--backend", a.backend,
           "--repeats", str(a.repeats), "--steps-per-repeat", str(a.steps), "--json", path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        res = json.load(f)[0]
    os.unlink(path)
    return res


def run_torch(python, preset, a, extra=()):
    slow = a.torch_device == "cpu" and "bn" in preset and "1202" in preset  # ~25 s/step on 2 cores
    cmd = [python, os.path.join(HERE, "peers", "torch_fc.py"), *PRESETS[preset], "--threads", str(a.threads),
           "--device", a.torch_device, "--repeats", "2" if slow else str(a.repeats),
           "--steps-per-repeat", "1" if slow else str(a.steps), "--warmup", "1" if slow else "2", *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=a.timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taunet", default=os.path.join(ROOT, "build", "taunet"))
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--torch-device", default="cpu")
    ap.add_argument("--cuda-graph", action="store_true", help="also time torch with CUDA graphs")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--out", help="JSON with every measurement")
    ap.add_argument("--md", help="also write the printed report (markdown) to this file")
    a = ap.parse_args()

    rows, raw = [], []
    for preset in a.presets.split(","):
        tn, th, tg = [], [], []
        for _ in range(a.rounds):
            tn.append(run_taunet(a.taunet, preset, a))
            th.append(run_torch(a.python, preset, a))
            if a.cuda_graph:
                tg.append(run_torch(a.python, preset, a, ["--cuda-graph"]))
        t_tn = statistics.median(r["s_per_step"] for r in tn)
        t_th = statistics.median(r["s_per_step"] for r in th)
        row = {"config": preset, "taunet_s": t_tn, "torch_s": t_th, "ratio": t_th / t_tn,
               "taunet_gflops": statistics.median(r["gflops"] for r in tn),
               "gemm_share": statistics.median(r["gemm_share"] for r in tn),
               "sgemm_gflops": statistics.median(r["sgemm_gflops"] for r in tn),
               "peak_gib": max(r["peak_gib"] for r in tn)}
        row["sgemm_fraction"] = row["taunet_gflops"] / row["sgemm_gflops"]
        if tg:
            row["torch_graph_s"] = statistics.median(r["s_per_step"] for r in tg)
            row["ratio_graph"] = row["torch_graph_s"] / t_tn
        rows.append(row)
        raw.append({"config": preset, "taunet": tn, "torch": th, "torch_graph": tg})
        print(f"{preset}: taunet {t_tn:.5f} s/step, torch {t_th:.5f} s/step, ratio {t_th / t_tn:.2f}x", file=sys.stderr)

    by = {r["config"]: r for r in rows}
    report = []

    def say(text=""):
        report.append(text)
        print(text)

    say(f"command: {' '.join(sys.argv)}")
    say(f"\n{datetime.date.today()} | {platform.node()} | {platform.processor() or platform.machine()} | "
          f"{os.cpu_count()} cpus | threads {a.threads} | backend {a.backend} | torch on {a.torch_device}\n")
    hdr = "| config | taunet s/step | torch s/step | torch/taunet | GFLOP/s | of sgemm | GEMM share | peak GiB |"
    if a.cuda_graph:
        hdr += " torch graph s/step | graph/taunet |"
    say(hdr)
    say("|" + "---|" * (hdr.count("|") - 1))
    for r in rows:
        line = (f"| {r['config']} | {r['taunet_s']:.5f} | {r['torch_s']:.5f} | {r['ratio']:.2f}x | "
                f"{r['taunet_gflops']:.1f} | {100 * r['sgemm_fraction']:.0f}% | {100 * r['gemm_share']:.0f}% | "
                f"{r['peak_gib']:.3f} |")
        if a.cuda_graph:
            line += f" {r['torch_graph_s']:.5f} | {r['ratio_graph']:.2f}x |"
        say(line)
    if "resnet-m128-L1202" in by and "resnet-bn-m128-L1202" in by:
        say(f"\nBN cost at depth 1202: {by['resnet-bn-m128-L1202']['taunet_s'] / by['resnet-m128-L1202']['taunet_s']:.2f}x "
              f"the step without BN (target <= 1.3x)")
    if a.md:
        with open(a.md, "w") as f:
            f.write("\n".join(report) + "\n")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump({"date": str(datetime.date.today()), "machine": platform.node(), "cpus": os.cpu_count(),
                       "threads": a.threads, "rows": rows, "raw": raw}, f, indent=1)


if __name__ == "__main__":
    main()
