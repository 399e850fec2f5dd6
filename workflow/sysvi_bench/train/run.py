"""Execute one run: fit its model, record embedding, losses, timing and status in the run folder.

A run that raises, or whose losses or embedding become non-finite, is *recorded* as failed
(``run_info.json``: status and reason) instead of crashing the workflow, so the rest of the
benchmark completes and the failure shows up in the tables and report.
"""

from __future__ import annotations

import importlib
import platform
import resource
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.config import DatasetKeys
from sysvi_bench.io import write_json, write_tsv
from sysvi_bench.train.models import MODEL_SPECS
from sysvi_bench.train.models.base import FitContext
from sysvi_bench.provenance import versions

if TYPE_CHECKING:  # the run plan imports the model registry, which is part of this package
    from sysvi_bench.grid import Run


class TrainingDiverged(RuntimeError):
    """Loss or embedding became NaN/inf."""


class EmptyResult(RuntimeError):
    """The fit produced nothing to score: zero epochs of training or an embedding without dimensions."""


def check_result(embedding: np.ndarray, history: pd.DataFrame, trained: bool) -> None:
    """Refuse a result that must not be scored as ``ok`` (``trained``: the model learns over epochs)."""
    if trained and len(history) == 0:
        raise EmptyResult("the model was trained for zero epochs (check max_epochs)")
    if embedding.ndim != 2 or embedding.shape[1] == 0:
        raise EmptyResult(f"the embedding has no dimensions (shape {embedding.shape})")
    check_finite(embedding, history)


def check_finite(embedding: np.ndarray, history: pd.DataFrame) -> None:
    train_losses = history[[c for c in history.columns if c.endswith("_train")]] if len(history) else history
    if len(train_losses.columns) and not np.isfinite(train_losses.to_numpy(dtype=float)).all():
        bad = [c for c in train_losses if not np.isfinite(train_losses[c].to_numpy(dtype=float)).all()]
        raise TrainingDiverged(f"training loss became NaN/inf in {bad}")
    if not np.isfinite(embedding).all():
        raise TrainingDiverged("the embedding contains NaN/inf values")


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def execute_run(
    run: Run,
    preprocessed: Path,
    out_dir: Path,
    keys: DatasetKeys,
    *,
    accelerator: str = "auto",
    threads: int = 1,
    checkpoints: tuple[float, ...] = (),
) -> dict:
    """Fit ``run`` on the preprocessed dataset and write the run folder (see :mod:`sysvi_bench.contracts`).

    ``checkpoints``: fractions of ``max_epochs`` at which a neural model's embedding is also kept
    (:mod:`sysvi_bench.train.checkpoints`; extra ``obsm`` keys of ``embedding.h5ad``). Returns the ``run_info`` dict.
    """
    import torch

    torch.set_num_threads(max(1, threads))
    out_dir = Path(out_dir)
    adata = ad.read_h5ad(preprocessed)
    context = FitContext(keys=keys, accelerator=accelerator, model_dir=out_dir / "model",
                         checkpoints=tuple(checkpoints))
    context.model_dir.mkdir(parents=True, exist_ok=True)  # a declared output: empty unless save_model
    # the outcome and what made it (identity is in runs.tsv)
    info: dict = {"threads": threads, "host": platform.node(), "versions": versions()}
    embedding = np.zeros((adata.n_obs, 0), dtype=np.float32)
    history = pd.DataFrame()
    latents: dict[int, np.ndarray] = {}
    start = time.perf_counter()
    try:
        # importing the model's libraries (scvi-tools: seconds) is not part of the fit time
        spec = MODEL_SPECS[run.kind]
        for library in spec.libraries:
            importlib.import_module(library)
        info["import_time_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        result = spec.fitter(adata, run.params, run.seed, context)
        history = result.history
        check_result(result.embedding, history, trained=spec.trains_over_epochs)
        embedding = result.embedding
        latents = result.checkpoints
        info.update(status=C.STATUS_OK, reason="", device=result.device, **result.record)
    except Exception as exc:  # recorded, not raised: see module docstring
        traceback.print_exc()
        info.update(status=C.STATUS_FAILED, reason=f"{type(exc).__name__}: {exc}", device="unknown")
    info["wall_time_s"] = round(time.perf_counter() - start, 3)
    info["peak_memory_mb"] = round(peak_memory_mb(), 1)
    if torch.cuda.is_available():
        info["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    info["n_cells"] = int(adata.n_obs)
    info["n_epochs"] = int(len(history))

    out = ad.AnnData(obs=pd.DataFrame(index=adata.obs_names.copy()))
    out.obsm[C.EMBEDDING_KEY] = embedding
    for epoch, latent in latents.items():
        out.obsm[C.checkpoint_key(epoch)] = latent
    C.write_h5ad_checked(out, out_dir / "embedding.h5ad", C.EMBEDDING)
    write_tsv(history, out_dir / "history.tsv")
    C.check_run_info(info, str(out_dir / "run_info.json"))
    write_json(info, out_dir / "run_info.json")
    return info
