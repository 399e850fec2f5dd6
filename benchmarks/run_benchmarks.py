"""Performance harness: measures each stage side by side with plain library calls, writes a TSV and a plot.

    python benchmarks/run_benchmarks.py [--sizes 10000 50000 100000] [--epochs 5] [--threads 2] [--out benchmarks/out]

1. training throughput (cells x epochs / s): the pipeline's SysVI step vs a plain ``SysVI.train`` call;
2. metrics stage: time to score a run vs its training time, and vs a plain scib-metrics ``Benchmarker`` call
   (values must be identical: same kNN graph);
3. the demo end to end: wall time per stage from Snakemake's benchmark files under results/ (if present);
4. scaling on simulated data: wall time and peak memory of preprocess, train, metrics per size.
Each stage runs in a fresh process (benchmarks/stage.py) so peak memory is the stage's own.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def stage(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "stage.py"), *map(str, args)], capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("STAGE ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"stage {args} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][6:])
    print(f"  {args[0]:<15} {result['wall_s']:>8.1f} s  {result['peak_mb']:>8.0f} MB", flush=True)
    return result


def demo_stage_times(results: Path) -> pd.DataFrame:
    rows = []
    for path in results.glob("*/benchmarks/*.tsv"):
        rows.append({"dataset": path.parts[-3], "stage": path.stem, "wall_s": pd.read_csv(path, sep="\t")["s"].iloc[0]})
    for path in results.glob("*/runs/*/benchmark_train.tsv"):
        rows.append({"dataset": path.parts[-4], "stage": "train", "wall_s": pd.read_csv(path, sep="\t")["s"].iloc[0]})
    table = pd.DataFrame(rows)
    return table.groupby(["dataset", "stage"], as_index=False)["wall_s"].agg(["sum", "count"]) if len(table) else table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, python {platform.python_version()}")
    for n in args.sizes:
        print(f"{n} cells")
        work = args.out / f"n{n}"
        work.mkdir(exist_ok=True)
        raw, pre = work / "raw.h5ad", work / "pre.h5ad"
        stage("simulate", n, raw)
        prep = stage("preprocess", raw, pre)
        train = stage("train-pipeline", pre, args.epochs, work / "run", args.threads)
        plain = stage("train-plain", pre, args.epochs, args.threads)
        metrics = stage("metrics", pre, work / "run")
        row = {
            "n_cells": n, "epochs": args.epochs, "device": train["device"],
            "preprocess_s": prep["wall_s"], "preprocess_peak_mb": prep["peak_mb"],
            "train_job_s": train["wall_s"], "train_peak_mb": train["peak_mb"],
            "pipeline_cells_epochs_per_s": n * args.epochs / train["fit_s"],
            "plain_cells_epochs_per_s": n * args.epochs / plain["fit_s"],
            "metrics_s": metrics["wall_s"], "metrics_peak_mb": metrics["peak_mb"],
        }
        row["throughput_ratio"] = row["pipeline_cells_epochs_per_s"] / row["plain_cells_epochs_per_s"]
        row["metrics_over_train"] = row["metrics_s"] / row["train_job_s"]
        row["pipeline_over_train"] = (prep["wall_s"] + train["wall_s"] + metrics["wall_s"]) / train["wall_s"]
        if n == args.sizes[0]:
            reference = stage("benchmarker", pre, work / "run")
            ours = metrics["values"]
            shared = sorted(set(ours) & set(reference["values"]))
            diffs = {m: abs(ours[m] - reference["values"][m]) for m in shared}
            row["benchmarker_s"] = reference["wall_s"]
            row["max_abs_diff_vs_benchmarker"] = max(diffs.values()) if diffs else float("nan")
            row["n_metrics_compared"] = len(shared)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "scaling.tsv", sep="\t", index=False)
    print(table.T.to_string())
    demo = demo_stage_times(ROOT / "results")
    if len(demo):
        demo.to_csv(args.out / "demo_stages.tsv", sep="\t", index=False)
        print("\ndemo stages (from Snakemake benchmark files):\n" + demo.to_string(index=False))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for col, label in [("preprocess_s", "preprocess"), ("train_job_s", f"train ({args.epochs} epochs)"), ("metrics_s", "metrics")]:
        axes[0].plot(table["n_cells"], table[col], marker="o", label=label)
        axes[1].plot(table["n_cells"], table[col.replace("_s", "_peak_mb").replace("train_job", "train")], marker="o", label=label)
    axes[0].set(xlabel="cells", ylabel="wall time (s)", title="time per stage")
    axes[1].set(xlabel="cells", ylabel="peak memory (MB)", title="peak memory per stage")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "scaling.png", dpi=120)
    print(f"\nwrote {args.out / 'scaling.tsv'} and {args.out / 'scaling.png'}")


if __name__ == "__main__":
    main()
