"""GPU check: SysVI trains on a GPU through the project's own training path; throughput vs the CPU.

One prepared script for a machine with an NVIDIA GPU (issue 6). It
  1. simulates a cross-system dataset and preprocesses it with the pipeline's code (sysvi_bench);
  2. runs one training job exactly as the `train` rule does (sysvi_bench.train.execute_run) with
     accelerator="gpu" and checks that it succeeded on a CUDA device (run_info.json: status, device);
  3. times SysVI training (model.train only, after a 1-epoch warm-up) on the GPU and on the CPU and prints
     the device names and the throughput in cells x epochs / s;
and writes everything to a JSON file (--out). Exit status: 0 ok, 1 the GPU run failed, 2 no GPU.

    python benchmarks/gpu_check.py                       # 20,000 cells x 2,000 genes, GPU 20 epochs, CPU 2
    python benchmarks/gpu_check.py --cpu-only --n-cells 600 --n-genes 400 --epochs 1   # smoke check, no GPU

Needs what the train rule needs: torch (with CUDA), scvi-tools 1.4.2, anndata, scanpy, scipy, pandas. On a
machine whose image holds torch and lightning only, these are the packages to add (wheels for its Python):
anndata docrep donfig google-crc32c legacy-api-wrap ml_collections mudata natsort numcodecs pyro-ppl
pyro-api pytz scanpy scverse-misc scvi-tools sparse zarr session-info2 array-api-compat (versions:
requirements.lock).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_dataset(n_cells: int, n_genes: int, n_hvg: int, seed: int):
    """Simulated raw counts -> the pipeline's preprocessing; returns (AnnData, DatasetKeys)."""
    from sysvi_bench.data.simulate import SimulationParams, simulate
    from sysvi_bench.config import dataset_keys
    from sysvi_bench.data.preprocess import PreprocessParams, preprocess

    cfg = {"source": {"kind": "simulate", "n_cells": n_cells, "n_genes": n_genes, "seed": seed}}
    keys = dataset_keys(cfg)
    raw = simulate(SimulationParams(n_cells=n_cells, n_genes=n_genes, seed=seed))
    params = PreprocessParams(n_hvg=n_hvg, min_cells_per_gene=5, min_genes_per_cell=20)
    return preprocess(raw, keys, params, where="gpu_check"), keys


def sysvi_run(epochs: int, batch_size: int, seed: int = 0):
    """A Run of the benchmark's grid machinery: SysVI with the paper's sysVI preset (VampPrior + cycle)."""
    from sysvi_bench.train.plan import expand_runs

    config = {
        "seeds": [seed],
        "datasets": {"sim": {"source": {"kind": "simulate"}}},
        "models": {"sysvi": {"kind": "sysvi", "preset": "sysvi",
                             "params": {"max_epochs": epochs, "batch_size": batch_size}}},
    }
    (run,) = expand_runs(config)
    return run


def time_training(adata, keys, run, accelerator: str, epochs: int) -> dict:
    """Seconds of model.train for ``epochs`` epochs, after a 1-epoch warm-up (CUDA init, kernels)."""
    import torch

    from sysvi_bench.train.models.base import FitContext
    from sysvi_bench.train.models.sysvi import build_sysvi, train_kwargs

    context = FitContext(keys=keys, accelerator=accelerator, model_dir=None)
    params = dict(run.params)
    warm, _ = build_sysvi(adata, {**params, "max_epochs": 1}, run.seed, context)
    warm.train(**train_kwargs({**params, "max_epochs": 1}, accelerator, adata.n_obs))
    model, _ = build_sysvi(adata, {**params, "max_epochs": epochs}, run.seed, context)
    kwargs = train_kwargs({**params, "max_epochs": epochs}, accelerator, adata.n_obs)
    if accelerator == "gpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.train(**kwargs)
    if accelerator == "gpu":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "accelerator": accelerator,
        "device": str(model.device),
        "epochs": epochs,
        "train_seconds": round(seconds, 3),
        "cells_x_epochs_per_s": round(adata.n_obs * epochs / seconds, 1),
        "s_per_epoch": round(seconds / epochs, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-cells", type=int, default=20000)
    parser.add_argument("--n-genes", type=int, default=2000)
    parser.add_argument("--n-hvg", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=20, help="timed GPU epochs")
    parser.add_argument("--cpu-epochs", type=int, default=2, help="timed CPU epochs (CPU is slow)")
    parser.add_argument("--batch-size", type=int, default=128, help="the project's default is 128")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    parser.add_argument("--cpu-only", action="store_true", help="smoke check without a GPU")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ROOT / "benchmarks" / "out")) / "gpu_check.json")
    args = parser.parse_args()

    import torch

    from sysvi_bench import contracts as C
    from sysvi_bench.io import write_h5ad
    from sysvi_bench.train import execute_run

    torch.set_num_threads(args.threads)
    gpu = torch.cuda.is_available()
    report: dict = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpu_name": torch.cuda.get_device_name(0) if gpu else None,
        "cpu_name": cpu_name(),
        "cpu_threads": args.threads,
        "n_cells": args.n_cells,
        "n_genes": args.n_genes,
        "batch_size": args.batch_size,
    }
    try:
        import scvi

        report["scvi_tools"] = scvi.__version__
    except ImportError as exc:
        print(f"scvi-tools is missing: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    if not gpu and not args.cpu_only:
        print("no CUDA GPU visible to torch (use --cpu-only for a smoke check)", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    adata, keys = make_dataset(args.n_cells, args.n_genes, args.n_hvg, seed=0)
    report["n_cells_after_qc"], report["n_hvg_after_preprocessing"] = int(adata.n_obs), int(adata.n_vars)
    report["preprocess_s"] = round(time.perf_counter() - t0, 2)
    print(f"dataset: {adata.n_obs} cells x {adata.n_vars} genes ({report['preprocess_s']} s)")

    # 1. the train rule's own code path, on the GPU
    accelerator = "cpu" if args.cpu_only else "gpu"
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "preprocessed.h5ad"
        write_h5ad(adata, pre)
        run = sysvi_run(min(args.epochs, 5), args.batch_size)
        info = execute_run(run, pre, Path(tmp) / "run", keys, accelerator=accelerator, threads=args.threads)
    report["train_rule_path"] = {k: info[k] for k in ("status", "reason", "device", "wall_time_s", "n_epochs")}
    print("train rule path:", report["train_rule_path"])
    ok = info["status"] == C.STATUS_OK and (args.cpu_only or str(info["device"]).startswith("cuda"))

    # 2. throughput, GPU vs CPU
    run = sysvi_run(args.epochs, args.batch_size)
    timings = []
    if not args.cpu_only:
        timings.append(time_training(adata, keys, run, "gpu", args.epochs))
        print("gpu:", timings[-1])
    timings.append(time_training(adata, keys, run, "cpu", args.cpu_epochs))
    print("cpu:", timings[-1])
    report["timings"] = timings
    if not args.cpu_only:
        report["gpu_speedup_vs_cpu"] = round(timings[0]["cells_x_epochs_per_s"] / timings[1]["cells_x_epochs_per_s"], 2)
    report["ok"] = bool(ok)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{'device':<45} {'cells x epochs / s':>20} {'s / epoch':>10}")
    for t in timings:
        name = report["gpu_name"] if t["accelerator"] == "gpu" else f"{report['cpu_name']} ({args.threads} threads)"
        print(f"{name[:45]:<45} {t['cells_x_epochs_per_s']:>20,.0f} {t['s_per_epoch']:>10.3f}")
    if "gpu_speedup_vs_cpu" in report:
        print(f"GPU speed-up over the CPU: {report['gpu_speedup_vs_cpu']}x")
    print(f"written: {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
