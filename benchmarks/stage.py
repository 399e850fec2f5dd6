"""One benchmark stage in a fresh process; prints a JSON line with wall time and peak memory.

    python benchmarks/stage.py simulate N OUT.h5ad
    python benchmarks/stage.py preprocess IN.h5ad OUT.h5ad
    python benchmarks/stage.py train-pipeline PRE.h5ad EPOCHS RUN_DIR THREADS
    python benchmarks/stage.py train-plain PRE.h5ad EPOCHS THREADS
    python benchmarks/stage.py score PRE.h5ad VARIANTS CACHE_DIR RUN_DIR [THREADS]
    python benchmarks/stage.py scib-suite PRE.h5ad RUN_DIR
    python benchmarks/stage.py benchmarker PRE.h5ad RUN_DIR

``score`` is what the workflow's ``evaluation_reference`` and ``score`` jobs do for one run (the reference and
the run's scores timed apart: ``reference_s``, ``score_s``), with the demo's evaluation settings
(config/config.yaml, schema defaults filled in) and the given comma-separated embedding variants, on THREADS threads (default 1: XLA, BLAS and the Leiden
processes, as a ``score`` job with that many threads); ``scib-suite`` is the scib-metrics part of it alone (the raw
embedding, its kNN graph computed once); ``benchmarker`` is a plain scib-metrics ``Benchmarker`` call on
the run's raw embedding, on the same kNN graph (same suite: the demo's skipped functions left out).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

KEYS_ARGS = ("system", ("sample",), "cell_type", "sample")
SYSVI = {"n_latent": 15, "batch_size": 128, "z_distance_cycle_weight": 2.0, "prior": "vamp"}
# Simulated data of every size: 2,000 genes; 500 counts per cell gives 16% non-zero entries, close to
# the real demo (Baron pancreas: 12.5% of its highly variable genes' counts are non-zero).
SIMULATION = {"n_genes": 2000, "n_cell_types": 8, "n_samples_per_system": 3, "mean_library_size": 500.0, "seed": 0}


def demo_evaluation(variants: list[str]) -> dict:
    from sysvi_bench.score.suite import resolve_evaluation

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    return resolve_evaluation({**config.get("evaluation", {}), "variants": variants})


def main(argv: list[str]) -> dict:
    import anndata as ad

    from sysvi_bench.config import DatasetKeys
    from sysvi_bench.train.plan import expand_model
    from sysvi_bench.train.run import peak_memory_mb

    keys = DatasetKeys(*KEYS_ARGS)
    stage, args = argv[0], argv[1:]
    out: dict = {"stage": stage}
    start = time.perf_counter()
    if stage == "simulate":
        from sysvi_bench.data.simulate import SimulationParams, simulate
        from sysvi_bench.io import write_h5ad

        adata = simulate(SimulationParams(n_cells=int(args[0]), **SIMULATION))
        out["density"] = adata.X.nnz / (adata.n_obs * adata.n_vars)
        write_h5ad(adata, args[1])
    elif stage == "preprocess":
        from sysvi_bench.io import write_h5ad
        from sysvi_bench.data.preprocess import PreprocessParams, preprocess

        adata = preprocess(ad.read_h5ad(args[0]), keys, PreprocessParams(n_hvg=2000), where="bench", copy=False)
        out["n_cells"], out["n_genes"] = adata.n_obs, adata.n_vars
        write_h5ad(adata, args[1])
    elif stage == "train-pipeline":
        from sysvi_bench.train import execute_run

        run = expand_model("bench", "sysvi", {"params": {**SYSVI, "max_epochs": int(args[1])}}, [0])[0]
        info = execute_run(run, Path(args[0]), Path(args[2]), keys, accelerator="auto", threads=int(args[3]))
        out.update(fit_s=info["wall_time_s"], n_cells=info["n_cells"], epochs=int(args[1]), device=info["device"])
    elif stage == "train-plain":
        import scvi
        import torch
        from scvi.external import SysVI

        torch.set_num_threads(int(args[2]))
        adata = ad.read_h5ad(args[0])
        fit_start = time.perf_counter()
        scvi.settings.seed = 0
        SysVI.setup_anndata(adata, batch_key="system", categorical_covariate_keys=["sample"])
        model = SysVI(adata, prior="vamp", n_prior_components=5, n_latent=15)
        model.train(max_epochs=int(args[1]), batch_size=128, accelerator="auto", enable_progress_bar=False,
                    plan_kwargs={"z_distance_cycle_weight": 2.0})
        model.get_latent_representation()
        out.update(fit_s=time.perf_counter() - fit_start, n_cells=adata.n_obs, epochs=int(args[1]), device=str(model.device))
    elif stage == "score":
        from sysvi_bench.smk import limit_threads

        threads = int(args[4]) if len(args) > 4 else 1
        limit_threads(threads)  # before JAX starts (its import is below)
        from sysvi_bench.io import read_json
        from sysvi_bench.jit_cache import enable_compile_cache
        from sysvi_bench.score.suite import dataset_reference, score_run

        enable_compile_cache(args[2])
        pre = ad.read_h5ad(args[0])
        evaluation = demo_evaluation(args[1].split(","))
        reference = dataset_reference(pre, evaluation)
        out["reference_s"] = round(time.perf_counter() - start, 2)
        run_dir = Path(args[3])
        run = expand_model("bench", "sysvi", {"params": SYSVI}, [0])[0]
        table = score_run(run, read_json(run_dir / "run_info.json"), run_dir / "embedding.h5ad", reference, evaluation,
                          n_jobs=threads)
        out["threads"] = threads
        out["score_s"] = round(time.perf_counter() - start - out["reference_s"], 2)
        out["n_values"] = int(table["value"].notna().sum())
        raw = table[table["embedding_variant"] == "raw"]
        out["values"] = {m: v for m, v in zip(raw["metric"], raw["value"]) if isinstance(v, float)}
    elif stage == "scib-suite":
        from sysvi_bench import contracts as C
        from sysvi_bench.score.scib import scib_metrics_long

        pre = ad.read_h5ad(args[0])
        emb = ad.read_h5ad(Path(args[1]) / "embedding.h5ad").obsm[C.EMBEDDING_KEY]
        table = scib_metrics_long({"raw": emb}, pre.obsm[C.PCA_KEY], pre.obs[C.SYSTEM], pre.obs[C.LABEL],
                                  skip=demo_evaluation(["raw"])["skip_scib_metrics"])
        out["values"] = dict(zip(table["metric"], table["value"].astype(float)))
    elif stage == "benchmarker":
        from functools import partial

        from scib_metrics.benchmark import BatchCorrection, Benchmarker, BioConservation

        from sysvi_bench.score.neighbors import compute_neighbors

        pre = ad.read_h5ad(args[0])
        pre.obsm["raw"] = ad.read_h5ad(Path(args[1]) / "embedding.h5ad").obsm["X_emb"]
        # the same suite as the metrics stage: the demo's skipped functions switched off
        skip = demo_evaluation(["raw"])["skip_scib_metrics"]
        bio = {name: False for name in skip if hasattr(BioConservation(), name)}
        batch = {name: False for name in skip if hasattr(BatchCorrection(), name)}
        bench = Benchmarker(pre, batch_key="system", label_key="cell_type", embedding_obsm_keys=["raw"],
                            pre_integrated_embedding_obsm_key="X_pca", n_jobs=1, progress_bar=False,
                            bio_conservation_metrics=BioConservation(**bio), batch_correction_metrics=BatchCorrection(**batch))
        bench.prepare(neighbor_computer=partial(compute_neighbors, backend="exact"))
        bench.benchmark()
        out["values"] = {k: float(v) for k, v in bench._results["raw"].items()}
    else:
        raise SystemExit(__doc__)
    out["wall_s"] = round(time.perf_counter() - start, 2)
    out["peak_mb"] = round(peak_memory_mb(), 1)
    out["worker_peak_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return out


if __name__ == "__main__":
    print("STAGE " + json.dumps(main(sys.argv[1:]), default=float), flush=True)
