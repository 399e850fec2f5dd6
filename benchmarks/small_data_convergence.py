"""Does ``max_epochs: auto`` let every SysVI run of the demo's model list converge on small data?

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/small_data_convergence.py OUT_DIR [--n-cells 1000] [--jobs 1]

Simulates a two-system dataset of ``--n-cells`` cells (:mod:`sysvi_bench.data.simulate`), preprocesses it as the
pipeline does, and trains the demo's SysVI runs (the presets cvae, vamp, cyc, sysvi at cycle weights 2 and 10;
``max_epochs: auto``, early stopping, the demo's parameters, seed 0) through the train rule's own code
(:func:`sysvi_bench.train.execute_run`, one torch thread each, ``--jobs`` runs at a time). Prints the calibration
of the data (share of each cell's 15 nearest neighbours in the unintegrated PCA, and in each run's embedding,
that come from the other system: ~0.5 is fully mixed) and for every run: whether it converged (early stopping
ended it, or the convergence verdict of :mod:`sysvi_bench.aggregate.convergence`), the epochs and gradient steps
it trained, ``max_epochs``, ``best_epoch`` (the state scored) and the fit time. While a run trains,
``OUT_DIR/<run>.progress.tsv`` says every 25 epochs its epoch and best epoch so far.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sysvi_bench import contracts as C  # noqa: E402
from sysvi_bench.config import DatasetKeys  # noqa: E402

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")
DATASET = "small_sim"
# the demo's SysVI model list (config/config.yaml): the paper's four presets, sysVI also at cycle weight 10
DEMO_PARAMS = {"n_latent": 15, "n_prior_components": 5, "kl_weight": 1.0, "early_stopping": True}
MODELS = {
    "cvae": {"kind": "sysvi", "preset": "cvae", "params": DEMO_PARAMS},
    "vamp": {"kind": "sysvi", "preset": "vamp", "params": DEMO_PARAMS},
    "cyc": {"kind": "sysvi", "preset": "cyc", "params": DEMO_PARAMS},
    "sysvi_cycle2": {"kind": "sysvi", "preset": "sysvi", "params": {**DEMO_PARAMS, "z_distance_cycle_weight": 2}},
    "sysvi_cycle10": {"kind": "sysvi", "preset": "sysvi", "params": {**DEMO_PARAMS, "z_distance_cycle_weight": 10}},
}


def other_system_share(embedding: np.ndarray, systems: pd.Series, k: int = 15) -> float:
    """Mean share of each cell's ``k`` nearest neighbours (scikit-learn) from another system."""
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(embedding).kneighbors(embedding)
    codes = systems.astype("category").cat.codes.to_numpy()
    return float((codes[idx[:, 1:]] != codes[:, None]).mean())


def make_data(out: Path, n_cells: int, n_genes: int) -> Path:
    """The simulated dataset, preprocessed (``out/preprocessed.h5ad``)."""
    from sysvi_bench.data.preprocess import PreprocessParams, preprocess
    from sysvi_bench.data.simulate import SimulationParams, simulate

    raw = simulate(SimulationParams(n_cells=n_cells, n_genes=n_genes, n_cell_types=6, n_samples_per_system=3, seed=0))
    pre = preprocess(raw, KEYS, PreprocessParams(n_hvg=n_genes), where=DATASET)
    path = out / "preprocessed.h5ad"
    pre.write_h5ad(path)
    print(f"data: {pre.n_obs} cells x {pre.n_vars} genes after preprocessing; unintegrated PCA: "
          f"{other_system_share(pre.obsm[C.PCA_KEY], pre.obs[C.SYSTEM]):.3f} of the 15 nearest neighbours "
          "from the other system (0.5 = fully mixed)", flush=True)
    return path


def log_progress(path: Path, every: int = 25) -> None:
    """Append ``epoch, best_epoch, best validation ELBO`` to ``path`` every ``every`` epochs of this process's
    training (benchmark instrumentation: wraps the best-state callback the fit uses)."""
    import sysvi_bench.train.models.neural as neural
    from sysvi_bench.train.checkpoints import best_state_callback

    path.write_text("epoch\tbest_epoch\tbest_elbo_validation\n")

    def with_progress(monitor: str):
        callback = best_state_callback(monitor)
        keep_best = callback.on_train_epoch_end

        def on_train_epoch_end(trainer, pl_module) -> None:
            keep_best(trainer, pl_module)
            epoch = trainer.current_epoch + 1
            if epoch % every == 0:
                with path.open("a") as f:
                    f.write(f"{epoch}\t{callback.best_epoch}\t{callback.best_score:.3f}\n")

        callback.on_train_epoch_end = on_train_epoch_end
        return callback

    neural.best_state_callback = with_progress


def train_one(name: str, preprocessed: str, out: str) -> dict:
    """Train one model of :data:`MODELS` as the train rule does; its row of the report."""
    import anndata as ad

    from sysvi_bench.aggregate.convergence import run_convergence
    from sysvi_bench.train.plan import expand_model
    from sysvi_bench.train import execute_run
    from sysvi_bench.train.budget import steps_per_epoch

    run = expand_model(DATASET, name, MODELS[name], [0])[0]
    run_dir = Path(out) / name
    log_progress(Path(out) / f"{name}.progress.tsv")
    info = execute_run(run, Path(preprocessed), run_dir, KEYS, accelerator="cpu", threads=1)
    history = pd.read_csv(run_dir / "history.tsv", sep="\t")
    change, verdict = run_convergence(history, stopped_early=info.get("stopped_early", False))
    per_epoch = steps_per_epoch(info["n_cells"], run.params["batch_size"], run.params["train_size"])
    obs = ad.read_h5ad(preprocessed, backed="r").obs
    embedding = ad.read_h5ad(run_dir / "embedding.h5ad").obsm[C.EMBEDDING_KEY]
    return {"run": name, "status": info["status"], "converged": verdict, "stopped_early": info.get("stopped_early"),
            "convergence": round(change, 4), "n_epochs": info["n_epochs"], "steps": info["n_epochs"] * per_epoch,
            "max_epochs": info.get("max_epochs"), "best_epoch": info.get("best_epoch"),
            "best_step": (info.get("best_epoch") or 0) * per_epoch, "wall_time_s": info["wall_time_s"],
            "other_system_share": round(other_system_share(embedding, obs[C.SYSTEM]), 3) if embedding.size else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n-cells", type=int, default=1000)
    parser.add_argument("--n-genes", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    preprocessed = make_data(args.out, args.n_cells, args.n_genes)
    rows = []
    # spawn: each run in a fresh process (its own torch thread setting and RNG state)
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(train_one, name, str(preprocessed), str(args.out)) for name in args.models]
        for future in futures:
            rows.append(future.result())
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "small_data_convergence.tsv", sep="\t", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.to_string(index=False))
    print(f"{int(table['converged'].fillna(False).sum())} of {len(table)} runs converged")


if __name__ == "__main__":
    main()
