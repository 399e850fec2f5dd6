"""How much Harmony mixes the systems: the pipeline's Harmony fitter against plain harmonypy on the same PCA.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/harmony_mixing.py [PREPROCESSED] [--config C] [--dataset D]

PREPROCESSED: a preprocessed dataset (default: the demo's ``results/pancreas_human_mouse/preprocessed.h5ad``);
its keys (system, covariates, label) come from the dataset's entry in ``--config`` (default: the demo's
``config/config.yaml``). For each embedding it prints, over every cell's ``--k`` (90, the paper's) nearest
neighbours (self excluded), the mean share from another system and the mean share with the cell's own label
(labelled cells); the paper's ``ilisi_system`` and ``ilisi_sample_within_system`` (the project's scoring
functions, on all cells); and the fit time:

* ``unintegrated PCA``: the preprocessing PCA (``n_comps`` 15);
* ``pipeline Harmony (defaults)``: the ``harmony`` model kind's fitter with its defaults (lamb 1, the system and the
  dataset's ``covariate_keys``);
* ``pipeline Harmony, system only`` (``categorical_covariate_keys: []``) and ``pipeline Harmony, lamb null,
  system only`` (harmonypy's own lambda estimation: what the pipeline ran before lamb became a parameter);
* ``harmonypy run_harmony(lamb=1)``: plain ``harmonypy.run_harmony`` on the same PCA, the system only, theta 2,
  20 iterations, lamb 1.

It ends with the check "the pipeline's Harmony mixes the systems at least as much as harmonypy with lamb=1 on the
same PCA". The neighbour shares are counted by hand (no library reports them); the graph is the project's
exact k-NN (:func:`sysvi_bench.score.neighbors.compute_neighbors`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

import anndata as ad  # noqa: E402
import yaml  # noqa: E402

from sysvi_bench import contracts as C  # noqa: E402
from sysvi_bench.config import dataset_keys  # noqa: E402
from sysvi_bench.score.neighbors import compute_neighbors  # noqa: E402
from sysvi_bench.score.paper import ILISI_SAMPLE, ilisi_sample_within_system, ilisi_system  # noqa: E402
from sysvi_bench.train.models import MODEL_SPECS, resolve_params  # noqa: E402
from sysvi_bench.train.models.base import FitContext  # noqa: E402


def neighbour_shares(embedding: np.ndarray, systems: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, float]:
    """Mean share of each cell's ``k`` nearest neighbours (self excluded) from another system, and mean share
    with the cell's own label over labelled cells (unlabelled neighbours count as another label)."""
    indices = compute_neighbors(embedding, k + 1).indices[:, 1:]
    other_system = (systems[indices] != systems[:, None]).mean(axis=1)
    labelled = labels >= 0
    same_label = (labels[indices] == labels[:, None]).mean(axis=1)
    return float(other_system.mean()), float(same_label[labelled].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preprocessed", nargs="?", default="results/pancreas_human_mouse/preprocessed.h5ad")
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--dataset", default="pancreas_human_mouse")
    parser.add_argument("--k", type=int, default=90)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import harmonypy

    keys = dataset_keys(yaml.safe_load(Path(args.config).read_text())["datasets"][args.dataset])
    adata = ad.read_h5ad(args.preprocessed)
    systems = adata.obs[C.SYSTEM].astype("category").cat.codes.to_numpy()
    labels = adata.obs[C.LABEL].astype("category").cat.codes.to_numpy()
    context = FitContext(keys=keys, accelerator="cpu")
    defaults = resolve_params("harmony", {}, where="harmony")
    n_comps = defaults["n_comps"]
    pca = np.asarray(adata.obsm[C.PCA_KEY][:, :n_comps], dtype=np.float32)
    print(f"{args.preprocessed}: {adata.n_obs} cells, systems {dict(adata.obs[C.SYSTEM].value_counts())}, "
          f"covariate_keys {list(keys.covariate_keys)}, {n_comps} PCs, k = {args.k}")
    print(f"pipeline Harmony defaults: {defaults}")

    def pipeline(**given):
        params = resolve_params("harmony", given, where="harmony")
        return MODEL_SPECS["harmony"].fitter(adata, params, args.seed, context).embedding

    def plain_lamb_1():
        result = harmonypy.run_harmony(pca, adata.obs[[C.SYSTEM]], [C.SYSTEM], theta=2.0, lamb=1.0,
                                       max_iter_harmony=20, random_state=args.seed, verbose=False)
        print(f"  (harmonypy lamb=1: {len(result.objective_harmony)} objective values, kmeans rounds per iteration "
              f"{list(result.kmeans_rounds)})")
        z = np.asarray(result.Z_corr)
        return z if z.shape[0] == adata.n_obs else z.T

    embeddings = {
        "unintegrated PCA": lambda: pca,
        "pipeline Harmony (defaults)": pipeline,
        "pipeline Harmony, system only": lambda: pipeline(categorical_covariate_keys=[]),
        "pipeline Harmony, lamb null, system only": lambda: pipeline(lamb=None, categorical_covariate_keys=[]),
        "harmonypy run_harmony(lamb=1)": plain_lamb_1,
    }
    shares = {}
    print(f"{'embedding':42s} {'other-system share':>18s} {'same-label share':>16s} {'ilisi_system':>12s} "
          f"{ILISI_SAMPLE:>26s} {'fit s':>6s}")
    for name, make in embeddings.items():
        start = time.perf_counter()
        embedding = make()
        seconds = time.perf_counter() - start
        shares[name] = neighbour_shares(embedding, systems, labels, args.k)
        system_mixing = ilisi_system(compute_neighbors(embedding, args.k), systems, labels)["ilisi_system"]
        sample_mixing = ilisi_sample_within_system(embedding, systems, adata.obs[C.SAMPLE], args.k)[ILISI_SAMPLE]
        print(f"{name:42s} {shares[name][0]:18.3f} {shares[name][1]:16.3f} {system_mixing:12.3f} "
              f"{sample_mixing:26.3f} {seconds:6.1f}")
    ours, plain = shares["pipeline Harmony (defaults)"][0], shares["harmonypy run_harmony(lamb=1)"][0]
    verdict = "yes" if ours >= plain else "NO"
    print(f"pipeline Harmony mixes the systems at least as much as harmonypy with lamb=1 on the same PCA: {verdict} "
          f"({ours:.3f} vs {plain:.3f})")


if __name__ == "__main__":
    main()
