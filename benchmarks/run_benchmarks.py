"""Performance harness: each stage side by side with plain library calls; writes TSVs and a plot.

    python benchmarks/run_benchmarks.py [--sizes 10000 50000 100000] [--epochs 20] [--compare-epochs 5]
        [--repeats 3] [--threads 2] [--preprocess-only 1000000] [--out benchmarks/out]

1. training throughput (cells x epochs / s) at the first size: the pipeline's SysVI step vs a plain
   ``SysVI.train`` call, same data and settings, ``--repeats`` alternating fresh processes (median);
2. the metrics stage's scib-metrics suite vs a plain scib-metrics ``Benchmarker`` call at the first size
   (same kNN graph: the values must be identical); the whole metrics stage (scib-metrics and the paper's
   metrics, raw and standardised embedding) vs the training time of the run it scores at every size;
3. the demo end to end: wall time per stage from Snakemake's benchmark files under results/ and the
   newest complete Snakemake log (run ``make demo`` first);
4. scaling on simulated data (every size): wall time and peak memory of preprocess, train (``--epochs``),
   metrics; the full pipeline's time over its training time; ``--preprocess-only`` sizes run
   simulate + preprocess only (peak memory of preprocessing large data).
Each stage runs in a fresh process (benchmarks/stage.py), so peak memory is the stage's own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def stage(*args: object) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "stage.py"), *map(str, args)], capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("STAGE ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"stage {args} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][6:])
    extra = f"  fit {result['fit_s']:.1f} s" if "fit_s" in result else ""
    print(f"  {args[0]:<15} {result['wall_s']:>8.1f} s  {result['peak_mb']:>8.0f} MB{extra}", flush=True)
    return result


def machine() -> str:
    from gpu_check import cpu_name  # benchmarks/ is on sys.path when this script runs

    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu_name()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, python {platform.python_version()}"


def training_comparison(pre: Path, work: Path, epochs: int, repeats: int, threads: int) -> dict:
    """Pipeline vs plain SysVI.train, alternating fresh processes; medians of the fit times."""
    pipeline, plain = [], []
    for i in range(repeats):
        result = stage("train-pipeline", pre, epochs, work / f"compare_{i}", threads)
        pipeline.append(result["fit_s"])
        plain.append(stage("train-plain", pre, epochs, threads)["fit_s"])
    n = result["n_cells"]  # after QC
    row = {
        "n_cells": n, "epochs": epochs, "repeats": repeats,
        "pipeline_fit_s": pipeline, "plain_fit_s": plain,
        "pipeline_cells_epochs_per_s": n * epochs / statistics.median(pipeline),
        "plain_cells_epochs_per_s": n * epochs / statistics.median(plain),
    }
    row["throughput_ratio"] = row["pipeline_cells_epochs_per_s"] / row["plain_cells_epochs_per_s"]
    return row


def demo_summary(results: Path) -> tuple[pd.DataFrame, dict]:
    """Per-stage wall time of the demo (Snakemake benchmark files) and its end-to-end time (log)."""
    rows = [{"dataset": p.parts[-3], "stage": p.stem, "wall_s": pd.read_csv(p, sep="\t")["s"].iloc[0]}
            for p in results.glob("*/benchmarks/*.tsv")]
    rows += [{"dataset": p.parts[-4], "stage": p.stem.removeprefix("benchmark_"),
              "wall_s": pd.read_csv(p, sep="\t")["s"].iloc[0]}
             for p in results.glob("*/runs/*/benchmark_*.tsv")]
    if not rows:
        return pd.DataFrame(), {}
    table = pd.DataFrame(rows).groupby(["dataset", "stage"], as_index=False)["wall_s"].agg(["sum", "count"])
    summary: dict = {}
    per_stage = table.set_index("stage")["sum"]
    if {"evaluation_reference", "score", "train"} <= set(per_stage.index):
        summary["metrics_over_train"] = (per_stage["evaluation_reference"] + per_stage["score"]) / per_stage["train"]
    logs = sorted((ROOT / ".snakemake" / "log").glob("*.snakemake.log"))
    for log in reversed(logs):
        text = log.read_text(errors="replace")
        done = re.search(r"(\d+) of \1 steps \(100%\) done", text)
        elapsed = re.search(r"Elapsed time: (\d+):(\d\d):(\d\d)", text)
        if done and elapsed and int(done.group(1)) > 10:  # a full demo run, not a rerun of a few jobs
            h, m, s = map(int, elapsed.groups())
            summary.update(end_to_end_s=3600 * h + 60 * m + s, log=log.name, jobs=int(done.group(1)))
            break
    return table, summary


def plot(table: pd.DataFrame, epochs: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for prefix, label in [("preprocess", "preprocess"), ("train", f"train ({epochs} epochs)"), ("metrics", "metrics")]:
        part = table.dropna(subset=[f"{prefix}_s"])
        axes[0].plot(part["n_cells"], part[f"{prefix}_s"], marker="o", label=label)
        axes[1].plot(part["n_cells"], part[f"{prefix}_peak_mb"], marker="o", label=label)
    axes[0].set(xlabel="cells", ylabel="wall time (s)", title="time per stage", xscale="log", yscale="log")
    axes[1].set(xlabel="cells", ylabel="peak memory (MB)", title="peak memory per stage", xscale="log")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs of the scaling runs")
    parser.add_argument("--compare-epochs", type=int, default=5, help="epochs of the pipeline-vs-plain comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preprocess-only", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "jax_cache"
    print(f"machine: {machine()}", flush=True)

    rows = []
    for i, n in enumerate([*args.sizes, *args.preprocess_only]):
        print(f"{n} cells", flush=True)
        work = args.out / f"n{n}"
        work.mkdir(exist_ok=True)
        raw, pre = work / "raw.h5ad", work / "pre.h5ad"
        sim = stage("simulate", n, raw)
        prep = stage("preprocess", raw, pre)
        row = {"n_cells": n, "n_cells_after_qc": prep["n_cells"], "density": sim["density"], "simulate_peak_mb": sim["peak_mb"],
               "preprocess_s": prep["wall_s"], "preprocess_peak_mb": prep["peak_mb"]}
        if n in args.sizes:
            if i == 0:
                compare = training_comparison(pre, work, args.compare_epochs, args.repeats, args.threads)
                pd.DataFrame([compare]).to_csv(args.out / "training_comparison.tsv", sep="\t", index=False)
            train = stage("train-pipeline", pre, args.epochs, work / "run", args.threads)
            metrics = stage("score", pre, "raw,standardized", cache, work / "run")
            row.update({
                "epochs": args.epochs, "device": train["device"],
                "train_s": train["wall_s"], "train_fit_s": train["fit_s"], "train_peak_mb": train["peak_mb"],
                "cells_epochs_per_s": train["n_cells"] * args.epochs / train["fit_s"],
                "metrics_s": metrics["wall_s"], "reference_s": metrics["reference_s"], "score_s": metrics["score_s"],
                "metrics_peak_mb": metrics["peak_mb"],
            })
            # over the model's fit time: stricter than over the train job (which also imports and reads)
            row["metrics_over_fit"] = row["metrics_s"] / row["train_fit_s"]
            row["pipeline_over_fit"] = (row["preprocess_s"] + row["train_s"] + row["metrics_s"]) / row["train_fit_s"]
            if i == 0:
                ours = stage("scib-suite", pre, work / "run")
                reference = stage("benchmarker", pre, work / "run")
                shared = sorted(set(ours["values"]) & set(reference["values"]))
                row.update(scib_suite_s=ours["wall_s"], benchmarker_s=reference["wall_s"], n_metrics_compared=len(shared),
                           max_abs_diff_vs_benchmarker=max(abs(ours["values"][m] - reference["values"][m]) for m in shared))
        rows.append(row)
        for path in (raw, pre):  # large inputs are not kept
            path.unlink(missing_ok=True)

    table = pd.DataFrame(rows)
    table.to_csv(args.out / "scaling.tsv", sep="\t", index=False)
    pd.set_option("display.width", 200)
    print("\ntraining, pipeline vs plain SysVI.train:\n" + pd.read_csv(args.out / "training_comparison.tsv", sep="\t").T.to_string())
    print("\nscaling:\n" + table.T.to_string())
    demo, summary = demo_summary(ROOT / "results")
    if len(demo):
        demo.to_csv(args.out / "demo_stages.tsv", sep="\t", index=False)
        print("\ndemo stages (Snakemake benchmark files):\n" + demo.to_string(index=False))
        print("demo: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))
    plot(table, args.epochs, args.out / "scaling.png")
    print(f"\nwrote {args.out}/scaling.tsv, training_comparison.tsv, scaling.png")


if __name__ == "__main__":
    main()
