"""Training speed of SysVI on CPU: plain ``SysVI.train`` vs ways to train the same model faster (issue 19, item 7).

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/training_speed.py RESULTS/preprocessed.h5ad [EPOCHS] [REPEATS]

Variants, each trained from the same seed on the demo's preprocessed data (sysVI preset: VampPrior, cycle
weight 2; batch 128; one torch thread), run alternately (plain, dense, compiled, plain, ...) because the
machine's load is noisy:

* ``plain``: ``SysVI.setup_anndata`` on the sparse CSR ``X`` and ``SysVI.train``, as the pipeline does;
* ``dense``: ``X`` held as a dense float32 array (the data loader slices rows without sparse-to-dense copies);
* ``compiled``: ``dense`` plus ``torch.compile`` of the encoder and decoder (inductor, CPU).

Prints each fit's time (s), the ratio plain / variant (median over repeats) and the largest absolute
difference of each variant's final embedding from the plain one (0: the same model learned).
"""

from __future__ import annotations

import statistics
import sys
import time

import anndata as ad
import numpy as np
import scvi
import torch
from scvi.external import SysVI

torch.set_num_threads(1)


def fit(adata: ad.AnnData, variant: str, epochs: int) -> tuple[float, np.ndarray]:
    adata = adata.copy()
    if variant in ("dense", "compiled"):
        adata.X = np.asarray(adata.X.toarray(), dtype=np.float32)
    scvi.settings.seed = 0
    SysVI.setup_anndata(adata, batch_key="system", categorical_covariate_keys=["sample"])
    model = SysVI(adata, prior="vamp", n_prior_components=5, n_latent=15)
    if variant == "compiled":
        model.module.encoder = torch.compile(model.module.encoder)
        model.module.decoder = torch.compile(model.module.decoder)
    start = time.perf_counter()
    model.train(max_epochs=epochs, batch_size=128, accelerator="cpu", enable_progress_bar=False,
                plan_kwargs={"max_kl_weight": 1.0, "z_distance_cycle_weight": 2.0})
    seconds = time.perf_counter() - start
    return seconds, model.get_latent_representation()


def main(path: str, epochs: str = "20", repeats: str = "2", variants: str = "plain,dense,compiled") -> None:
    adata = ad.read_h5ad(path)
    names = variants.split(",")
    times: dict[str, list[float]] = {v: [] for v in names}
    latents: dict[str, np.ndarray] = {}
    for r in range(int(repeats)):
        for v in list(names):
            try:
                seconds, latent = fit(adata, v, int(epochs))
            except Exception as exc:  # a variant that cannot train this model is a result, reported
                print(f"repeat {r} {v}: FAILED {type(exc).__name__}: {str(exc)[:300]}", flush=True)
                names.remove(v)
                continue
            times[v].append(seconds)
            latents.setdefault(v, latent)
            print(f"repeat {r} {v}: {seconds:.1f} s", flush=True)
    plain = statistics.median(times["plain"])
    for v in names:
        if not times[v]:
            continue
        diff = float(np.abs(latents[v] - latents["plain"]).max())
        print(f"{v}: median {statistics.median(times[v]):.1f} s, plain/{v} = {plain / statistics.median(times[v]):.2f}x, "
              f"max |embedding - plain| = {diff:.2e}")


if __name__ == "__main__":
    main(*sys.argv[1:])
