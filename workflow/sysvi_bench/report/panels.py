"""Which runs a figure draws: each model's best setting's median run, as the aggregate step chose it
(``best_settings.tsv``). Light (numpy/pandas): the Snakefile's input functions call it to ask for the drawn runs'
files once the aggregate checkpoint has run."""

from __future__ import annotations

import numpy as np
import pandas as pd


def best_runs(best: pd.DataFrame) -> dict[str, str]:
    """model -> the run drawn for it: its best setting's median run (``best_settings.tsv``, where the aggregate
    step chose it; a model without a scored run has no row and is not drawn)."""
    named = best[best["median_run_id"].notna() & (best["median_run_id"].astype(str).str.len() > 0)]
    return dict(zip(named["model"].astype(str), named["median_run_id"].astype(str)))


UNINTEGRATED_PANEL = "unintegrated PCA"


def umap_panels(summary: pd.DataFrame, best: pd.DataFrame) -> dict[str, str | None]:
    """Panels of the UMAP figure: name -> the run drawn (:func:`best_runs`, in the summary's model order), led
    by the preprocessed data's PCA (``None``: no run) when no PCA run is among them."""
    chosen = best_runs(best)
    order = [m for m in dict.fromkeys(summary["model"].astype(str)) if m in chosen]
    kinds = summary.set_index("run_id")["kind"].to_dict()
    reference = {} if "pca" in {kinds.get(chosen[m]) for m in order} else {UNINTEGRATED_PANEL: None}
    return {**reference, **{m: chosen[m] for m in order}}


UNINTEGRATED = "unintegrated (PCA)"


def mixing_panels(best: pd.DataFrame) -> dict[str, str | None]:
    """Panel name -> run drawn: the unintegrated data first (a ``pca`` run if one is a best run, else
    ``None``: the evaluation reference's unintegrated graph), then the sysVI model (the model named
    ``sysvi``, else the best-ranked SysVI-kind model), then every other model by rank; each model's run is its
    best setting's median run (``best_settings.tsv``)."""
    run_of = best_runs(best)
    kind = best.set_index("model")["kind"].astype(str).to_dict()
    rank = pd.to_numeric(best.set_index("model")["model_rank"], errors="coerce").to_dict()
    pca = [m for m in run_of if kind[m] == "pca"]
    panels: dict[str, str | None] = {UNINTEGRATED: run_of[pca[0]] if pca else None}
    # the model named "sysvi" (the full sysVI preset) leads the SysVI-kind models (the paper's ablation
    # presets cvae/vamp/cyc are SysVI models too), then the rest of them by rank
    sysvi = sorted((m for m in run_of if kind[m] == "sysvi"),
                   key=lambda m: (m != "sysvi", np.nan_to_num(rank[m], nan=1e9), m))
    rest = sorted((m for m in run_of if m not in sysvi[:1] and m not in pca),
                  key=lambda m: (np.nan_to_num(rank[m], nan=1e9), m))
    for model in [*sysvi[:1], *rest]:
        panels[model] = run_of[model]
    return panels
