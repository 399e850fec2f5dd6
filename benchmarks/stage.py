"""One benchmark stage in a fresh process; prints a JSON line with wall time and peak memory.

    python benchmarks/stage.py simulate N OUT.h5ad
    python benchmarks/stage.py preprocess IN.h5ad OUT.h5ad
    python benchmarks/stage.py train-pipeline PRE.h5ad EPOCHS RUN_DIR
    python benchmarks/stage.py train-plain PRE.h5ad EPOCHS
    python benchmarks/stage.py metrics PRE.h5ad RUN_DIR [RUN_DIR ...]
    python benchmarks/stage.py benchmarker PRE.h5ad RUN_DIR
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

KEYS_ARGS = ("system", ("sample",), "cell_type", "sample")
SYSVI = {"max_epochs": 1, "n_latent": 15, "batch_size": 128, "z_distance_cycle_weight": 2.0, "prior": "vamp"}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> dict:
    import anndata as ad

    from sysvi_bench.grid import DatasetKeys, expand_model

    keys = DatasetKeys(*KEYS_ARGS)
    stage, args = argv[0], argv[1:]
    out: dict = {"stage": stage}
    start = time.perf_counter()
    if stage == "simulate":
        from sysvi_bench.data.simulate import SimulationParams, simulate
        from sysvi_bench.io import write_h5ad

        write_h5ad(simulate(SimulationParams(n_cells=int(args[0]), n_genes=2000, n_cell_types=8, n_samples_per_system=3, seed=0)), args[1])
    elif stage == "preprocess":
        from sysvi_bench.io import write_h5ad
        from sysvi_bench.preprocess import PreprocessParams, preprocess

        adata = preprocess(ad.read_h5ad(args[0]), keys, PreprocessParams(n_hvg=2000), where="bench")
        out["n_cells"], out["n_genes"] = adata.n_obs, adata.n_vars
        write_h5ad(adata, args[1])
    elif stage == "train-pipeline":
        from sysvi_bench.train import execute_run

        run = expand_model("bench", "sysvi", {"params": {**SYSVI, "max_epochs": int(args[1])}}, [0])[0]
        info = execute_run(run, Path(args[0]), Path(args[2]), keys, accelerator="auto", threads=int(args[3]) if len(args) > 3 else 2)
        out.update(fit_s=info["wall_time_s"], n_cells=info["n_cells"], epochs=int(args[1]), device=info["device"])
    elif stage == "train-plain":
        import scvi
        import torch
        from scvi.external import SysVI

        torch.set_num_threads(int(args[2]) if len(args) > 2 else 2)
        adata = ad.read_h5ad(args[0])
        fit_start = time.perf_counter()
        scvi.settings.seed = 0
        SysVI.setup_anndata(adata, batch_key="system", categorical_covariate_keys=["sample"])
        model = SysVI(adata, prior="vamp", n_prior_components=5, n_latent=15)
        model.train(max_epochs=int(args[1]), batch_size=128, accelerator="auto", enable_progress_bar=False,
                    plan_kwargs={"z_distance_cycle_weight": 2.0})
        model.get_latent_representation()
        out.update(fit_s=time.perf_counter() - fit_start, n_cells=adata.n_obs, epochs=int(args[1]), device=str(model.device))
    elif stage == "metrics":
        from sysvi_bench.metrics.score import score_dataset

        pre = ad.read_h5ad(args[0])
        runs = [expand_model("bench", "sysvi", {"params": SYSVI}, [0])[0] for _ in args[1:]]
        table = score_dataset(runs, pre, [Path(d) for d in args[1:]], {"variants": ["raw"], "subsample": None})
        out["n_values"] = int(table["value"].notna().sum())
        out["values"] = {m: v for m, v in zip(table["metric"], table["value"]) if isinstance(v, float)}
    elif stage == "benchmarker":
        from functools import partial

        from scib_metrics.benchmark import Benchmarker

        from sysvi_bench.metrics.neighbors import compute_neighbors

        pre = ad.read_h5ad(args[0])
        pre.obsm["raw"] = ad.read_h5ad(Path(args[1]) / "embedding.h5ad").obsm["X_emb"]
        bench = Benchmarker(pre, batch_key="system", label_key="cell_type", embedding_obsm_keys=["raw"],
                            pre_integrated_embedding_obsm_key="X_pca", n_jobs=1, progress_bar=False)
        bench.prepare(neighbor_computer=partial(compute_neighbors, backend="exact"))
        bench.benchmark()
        out["values"] = {k: float(v) for k, v in bench._results["raw"].items()}
    else:
        raise SystemExit(__doc__)
    out["wall_s"] = round(time.perf_counter() - start, 2)
    out["peak_mb"] = round(peak_mb(), 1)
    return out


if __name__ == "__main__":
    print("STAGE " + json.dumps(main(sys.argv[1:]), default=float), flush=True)
