"""Each metric's range on one dataset's results: the controls' values and the spread over the compared models.

    nice -n 10 python benchmarks/metric_ranges.py results/DATASET [--variant raw] [--rescore]

Reads ``runs.tsv``, ``metrics_info.json`` and every run's ``metrics.tsv`` of ``results/DATASET`` and prints a
markdown table: metric, type, whether it is in the bio/batch aggregates, the ``celltype`` control (every
label metric's ceiling), the ``shuffled`` control (the floor), and the lowest and highest value over the
compared runs (controls left out) with the run that sets each. ``--rescore`` first recomputes the cell-type
metrics (``cross_system_same_type``, ``label_transfer_f1``) of every finished run with the installed code,
from its ``embedding.h5ad`` and the dataset's ``evaluation_reference.h5ad`` on the evaluation settings in
``metrics_info.json`` (no retraining), prints their before/after values and uses the new ones in the table.
docs/metrics.md's table of ranges was made with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from sysvi_bench import contracts as C  # noqa: E402
from sysvi_bench.score.catalogue import CELL_TYPE_METRICS  # noqa: E402

CONTROLS = ("celltype", "shuffled")


def rescore_cell_type_metrics(folder: Path, runs: pd.DataFrame, variant: str) -> pd.DataFrame:
    """``run_id, metric, value`` of the cell-type metrics recomputed for every run with an ``embedding.h5ad``:
    the variant's k-NN graph on the labelled evaluation cells, as the ``score`` step builds it."""
    import anndata as ad

    from sysvi_bench.score.cell_types import cell_type_metrics
    from sysvi_bench.score.neighbors import compute_neighbors
    from sysvi_bench.score.suite import embedding_variants, reference_from_adata

    evaluation = json.loads((folder / "metrics_info.json").read_text())["evaluation"]
    reference = reference_from_adata(ad.read_h5ad(folder / "evaluation_reference.h5ad"))
    obs = reference.obs[reference.labelled]
    rows = []
    for run_id in runs["run_id"]:
        path = folder / "runs" / run_id / "embedding.h5ad"
        if not path.exists():
            continue
        emb = np.asarray(ad.read_h5ad(path).obsm[C.EMBEDDING_KEY])[reference.cells]
        x = np.ascontiguousarray(embedding_variants(emb, [variant])[variant][reference.labelled], dtype=np.float32)
        nn = compute_neighbors(x, evaluation["n_neighbors"], evaluation["neighbor_backend"], evaluation["seed"])
        result = cell_type_metrics(x, np.asarray(nn.indices), obs[C.SYSTEM], obs[C.LABEL],
                                   distances=np.asarray(nn.distances))
        rows += [{"run_id": run_id, "metric": m, "value": v} for m, v in result.values.items()]
    return pd.DataFrame(rows, columns=["run_id", "metric", "value"])


def ranges_table(values: pd.DataFrame, runs: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """One row per metric of ``catalogue``: type, in_aggregate, the two controls, min/max over the other runs."""
    wide = values.pivot_table(index="run_id", columns="metric", values="value", aggfunc="first")
    model_of = runs.set_index("run_id")["model"]
    control_ids = set(runs.loc[C.is_control(runs), "run_id"])  # the manifest's control column
    compared = [r for r in wide.index if r not in control_ids]
    control_run = {c: next((r for r in wide.index if model_of.get(r) == c), None) for c in CONTROLS}
    rows = []
    for m in catalogue.itertuples():
        if m.metric not in wide:
            continue
        col = wide[m.metric]
        spread = col.loc[compared].dropna()
        row = {"metric": m.metric, "type": m.type, "in aggregate": "yes" if m.in_aggregate else "no"}
        for c in CONTROLS:
            row[f"{c} control"] = col.get(control_run[c], np.nan)
        for end, idx in (("min", spread.idxmin), ("max", spread.idxmax)):
            value = getattr(spread, end)() if len(spread) else np.nan
            # the run that sets it; "all" when every compared run has this value
            who = "all" if len(spread) > 1 and spread.min() == spread.max() else idx() if len(spread) else ""
            row[f"{end} over models"] = f"{value:.3f} ({who})" if len(spread) else "NA"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="results/DATASET")
    parser.add_argument("--variant", default="raw", help="embedding_variant (raw or standardized)")
    parser.add_argument("--rescore", action="store_true", help="recompute the cell-type metrics first")
    args = parser.parse_args()
    runs = C.read_table(args.folder / "runs.tsv", C.MANIFEST)
    catalogue = pd.DataFrame(json.loads((args.folder / "metrics_info.json").read_text())["metrics"])
    paths = [args.folder / "runs" / r / "metrics.tsv" for r in runs["run_id"]]
    metrics = pd.concat([pd.read_csv(p, sep="\t") for p in paths if p.exists()], ignore_index=True)
    values = metrics.loc[metrics["embedding_variant"] == args.variant, ["run_id", "metric", "value"]]
    if args.rescore:
        new = rescore_cell_type_metrics(args.folder, runs, args.variant)
        names = [m.name for m in CELL_TYPE_METRICS]
        before = values[values["metric"].isin(names)].merge(new, on=["run_id", "metric"], how="outer",
                                                            suffixes=("_before", "_after"))
        print(f"## Cell-type metrics before/after rescoring ({args.variant})\n")
        print(before.pivot(index="run_id", columns="metric", values=["value_before", "value_after"])
              .round(3).to_markdown())
        print()
        values = pd.concat([values[~values["metric"].isin(names)], new], ignore_index=True)
    print(f"## Metric ranges on {args.folder.name} ({args.variant})\n")
    print(ranges_table(values, runs, catalogue).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
