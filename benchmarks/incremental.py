"""Adding one SysVI setting to a finished demo: which jobs run, and how long it takes beyond their training.

    make demo                              # first: the demo's results/ complete
    python benchmarks/incremental.py [--cores 2] [--value 5]

Writes ``benchmarks/out/incremental.yaml`` (the demo config with one more cycle weight for the ``sysvi`` model:
two new runs, embedding off and on), plans it (dry run: the jobs per rule), runs it with ``--cores`` and
prints the wall time, the new runs' train and score job times (Snakemake benchmark files) and the time
beyond training. Prints and writes ``benchmarks/out/incremental.tsv``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def job_counts(stdout: str) -> dict[str, int]:
    stats = stdout.split("Job stats:")[1] if "Job stats:" in stdout else ""
    return {name: int(n) for name, n in re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M) if name != "total"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--value", type=float, default=5.0, help="the cycle weight to add")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    grid = config["models"]["sysvi"]["grid"]
    grid["z_distance_cycle_weight"] = sorted({*grid["z_distance_cycle_weight"], args.value})
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "incremental.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake = [sys.executable, "-m", "snakemake", "--configfile", str(path)]

    plan = subprocess.run([*snakemake, "-n"], cwd=ROOT, capture_output=True, text=True, check=True)
    jobs = job_counts(plan.stdout)
    print(f"planned: {jobs}")
    start = time.perf_counter()
    subprocess.run([*snakemake, "--cores", str(args.cores)], cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start

    tag = f"cyc={args.value:g}"
    runs = sorted(p for p in (ROOT / "results" / "pancreas_human_mouse" / "runs").iterdir() if tag in p.name)
    per_run = pd.DataFrame([{
        "run_id": p.name,
        "train_s": pd.read_csv(p / "benchmark_train.tsv", sep="\t")["s"].iloc[0],
        "score_s": pd.read_csv(p / "benchmark_score.tsv", sep="\t")["s"].iloc[0],
    } for p in runs])
    parallel = min(args.cores, len(per_run))
    # the new runs train side by side (one core each): their training takes about sum / parallel of wall time
    training = per_run["train_s"].sum() / parallel
    row = {"wall_s": round(wall, 1), "new_runs": len(per_run), "train_jobs": jobs.get("train", 0),
           "score_jobs": jobs.get("score", 0), "preprocess_jobs": jobs.get("preprocess", 0),
           "reference_jobs": jobs.get("evaluation_reference", 0), "train_sum_s": round(per_run["train_s"].sum(), 1),
           "training_wall_s": round(training, 1), "score_sum_s": round(per_run["score_s"].sum(), 1),
           "beyond_training_s": round(wall - training, 1), "cores": args.cores}
    print(per_run.to_string(index=False))
    print(pd.Series(row).to_string())
    pd.DataFrame([row]).to_csv(args.out / "incremental.tsv", sep="\t", index=False)


if __name__ == "__main__":
    main()
