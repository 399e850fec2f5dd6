"""What the aggregate weighs on a finished dataset: the summary recomputed with the current code, next to the one
on disk (made by whichever code wrote it).

    python benchmarks/aggregate_weights.py results/pancreas_human_mouse [--bio-weight 0.6] [--variant raw]

Reads the dataset's ``runs.tsv`` and ``metrics.tsv`` (while the dataset is still running: the ``metrics.tsv``
of each run scored so far) and prints, for its ``summary.tsv`` on disk (when there is one) and the recomputed one: the span of ``bio`` and ``batch`` over the compared
runs (controls left out), the effective weights (each term's share of the variance of ``total``:
:func:`sysvi_bench.aggregate.selection.effective_weights`), each model's best setting ranked by
``selection_score`` and by ``total`` with the controls placed where they would land, and the metrics left out
of the aggregates (``aggregated_metrics``). Nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from sysvi_bench import contracts as C  # noqa: E402
from sysvi_bench.aggregate.selection import (  # noqa: E402
    aggregated_metrics, best_settings, compared_scored, control_runs, effective_weights, summarize,
)

def describe(summary: pd.DataFrame, bio_weight: float, label: str) -> None:
    compared = compared_scored(summary)
    spans = {t: compared[t].max() - compared[t].min() for t in ("bio", "batch", "total")}
    weights = effective_weights(summary, bio_weight).iloc[0]
    print(f"\n== {label}: {len(compared)} compared runs; span bio {spans['bio']:.3f}, batch {spans['batch']:.3f}, "
          f"total {spans['total']:.3f}; effective weight bio {weights['effective_weight_bio']:.3f}, "
          f"batch {weights['effective_weight_batch']:.3f} (nominal {bio_weight}, {1 - bio_weight:.1f})")
    for score in ("selection_score", "total"):
        best = best_settings(summary, score).sort_values(f"mean_{score}", ascending=False)
        rows = [f"{r.model}{' (control)' if C.flag(r.control) else ''} {getattr(r, f'mean_{score}'):.3f}"
                for r in best.itertuples()]
        print(f"  by {score}: " + " > ".join(rows))
    cols = ["model", "bio", "batch", "total", "selection_score"]
    print(summary.sort_values("total", ascending=False)[cols].to_string(index=False, float_format="%.3f"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results/{dataset}")
    parser.add_argument("--bio-weight", type=float, default=0.6)
    parser.add_argument("--variant", default="raw")
    args = parser.parse_args()
    manifest = C.read_table(args.results / "runs.tsv", C.MANIFEST)
    if (args.results / "metrics.tsv").is_file():
        metrics = C.read_table(args.results / "metrics.tsv", C.METRICS)
    else:
        scored = [p for p in (args.results / "runs" / r / "metrics.tsv" for r in manifest["run_id"]) if p.is_file()]
        print(f"no metrics.tsv yet: the {len(scored)} of {len(manifest)} runs scored so far")
        metrics = C.read_tables(scored, C.METRICS)
    runs = manifest[manifest["run_id"].isin(set(metrics["run_id"]))].drop(columns=["params", "grid_values"])
    runs = runs.assign(control=C.is_control(runs))
    if (args.results / "summary.tsv").is_file():
        before = pd.read_csv(args.results / "summary.tsv", sep="\t")
        describe(before.assign(control=C.is_control(before)), args.bio_weight,
                 f"on disk ({args.results / 'summary.tsv'})")
    after = summarize(metrics, runs, variant=args.variant, bio_weight=args.bio_weight)
    describe(after, args.bio_weight, "recomputed with this code")
    table = aggregated_metrics(metrics, control_runs(runs))
    left = table[(table["embedding_variant"] == args.variant) & ~table["in_aggregate"]]
    print(f"\n== left out of bio/batch/total ({args.variant}):")
    print(left[["metric", "type", "reason"]].to_string(index=False))


if __name__ == "__main__":
    main()
