"""Do the per-dataset and benchmark figures stay cheap as systems, models and cell types grow?

Builds simulated inputs shaped like a dataset's real files (``summary.tsv``, ``best_settings.tsv``,
``scores_by_epoch.tsv``, ``metrics_info.json``, each drawn run's ``history.tsv``, ``cell_type_mixing.tsv`` and
``umap.tsv``, the evaluation reference's k-NN graph; columns as in :mod:`sysvi_bench.contracts`) for a dataset of
``--systems`` systems, ``--models`` models (controls included) and ``--cell-types`` cell types, then runs each
figure as its job would (read the tables, draw PNG + PDF) in a fresh Python process and reports the job's wall
time, the drawing's time and the job's peak memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole
process, Python and libraries included, as Snakemake's ``mem_mb`` would have to allow) and its CPU time (user +
system: on a shared machine the wall time also counts the waiting).

    .venv/bin/python benchmarks/figure_scaling.py                  # 20 systems x 10 models x 20 cell types
    .venv/bin/python benchmarks/figure_scaling.py --systems 5 --models 9 --out /tmp/figscale5

Goal (issue 28): every figure job under a minute and 2 GB at 20 systems x 10 models.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from sysvi_bench import contracts as C  # noqa: E402
from sysvi_bench.score.catalogue import CELL_TYPE_METRICS, PAPER_METRICS, SCIB_DESCRIPTIONS  # noqa: E402

# ten models as the demo and the paper configure them: (model, kind, control, swept values of the axis)
MODELS = [
    ("sysvi", "sysvi", False, {"z_distance_cycle_weight": [2.0, 5.0, 10.0, 50.0]}),
    ("cvae", "sysvi", False, {"z_distance_cycle_weight": [0.0]}),
    ("vamp", "sysvi", False, {"z_distance_cycle_weight": [0.0]}),
    ("cyc", "sysvi", False, {"z_distance_cycle_weight": [2.0]}),
    ("scvi", "scvi", False, {"kl_weight": [0.5, 1.0, 1.5, 2.0]}),
    ("harmony", "harmony", False, {"theta": [2.0]}),
    ("unintegrated", "pca", False, {}),
    ("combat_external", "external", False, {}),
    ("shuffled", "shuffled", True, {}),
    ("celltype", "celltype", True, {}),
]
SCIB_TYPES = {"bras": "batch", "ilisi_knn": "batch", "kbet_per_label": "batch", "graph_connectivity": "batch",
              "pcr_comparison": "batch"}


def metric_types() -> dict[str, str]:
    """Every metric of the catalogue with its type (as a dataset's metrics_info.json lists them)."""
    types = {m.name: m.type for m in (*PAPER_METRICS, *CELL_TYPE_METRICS)}
    types.update({m: SCIB_TYPES.get(m, "bio") for m in SCIB_DESCRIPTIONS})
    return types


def build(out: Path, n_systems: int, n_models: int, n_types: int, cells_per_system: int, seeds: int,
          epochs: int) -> None:
    """Write the simulated inputs under ``out`` (seeded)."""
    rng = np.random.default_rng(0)
    out.mkdir(parents=True, exist_ok=True)
    models = MODELS[:n_models] if n_models <= len(MODELS) else MODELS + [
        (f"external_{i}", "external", False, {}) for i in range(n_models - len(MODELS))]
    types = metric_types()
    rows = []
    for model, kind, control, grid in models:
        (axis, values), = grid.items() if grid else [(None, [None])]
        for value in values:
            setting = model if axis is None else f"{model}__{axis}={value:g}"
            for seed in range(seeds if kind in ("sysvi", "scvi", "harmony") else 1):
                row = {"dataset": "sim", "run_id": f"{setting}__seed={seed}", "model": model, "kind": kind,
                       "seed": seed, "status": C.STATUS_OK, "reason": "", "wall_time_s": rng.uniform(5, 900),
                       "peak_memory_mb": rng.uniform(300, 3000), "device": "cpu",
                       "n_epochs": epochs if kind in ("sysvi", "scvi") else 0, "setting": setting,
                       "control": control, "train_versions": "sim", "score_versions": "sim",
                       "param_prior": "vamp" if model in ("sysvi", "vamp") else "standard_normal",
                       "param_embed_categorical_covariates": False,
                       "param_z_distance_cycle_weight": value if axis == "z_distance_cycle_weight" else np.nan,
                       "param_kl_weight": value if axis == "kl_weight" else 1.0,
                       "param_n_prior_components": 5, "param_theta": value if axis == "theta" else np.nan}
                for metric in types:
                    row[metric] = rng.uniform(0.3, 1.0)
                    row[f"scaled_{metric}"] = rng.uniform(0, 1)
                rows.append(row)
    summary = pd.DataFrame(rows)
    summary["bio"] = summary[[f"scaled_{m}" for m, t in types.items() if t == "bio"]].mean(axis=1)
    summary["batch"] = summary[[f"scaled_{m}" for m, t in types.items() if t == "batch"]].mean(axis=1)
    summary["total"] = 0.6 * summary["bio"] + 0.4 * summary["batch"]
    summary["selection_score"] = summary["total"] + rng.normal(0, 0.02, len(summary))
    summary["n_seeds"] = summary.groupby("setting")["run_id"].transform("count")
    neural = summary["kind"].isin(["sysvi", "scvi"])
    summary["convergence"] = np.where(neural, 0.001, np.nan)
    summary["converged"] = pd.array(np.where(neural, True, None), dtype="boolean")
    C.write_table(summary, out / "summary.tsv", C.SUMMARY)
    best = []
    for rank, ((model, kind, control), sub) in enumerate(summary.groupby(["model", "kind", "control"], sort=False)):
        means = sub.groupby("setting")["selection_score"].mean()
        setting = means.idxmax()
        runs = sub[sub["setting"] == setting]
        best.append({"dataset": "sim", "model": model, "kind": kind, "control": control, "setting": setting,
                     "best_by": "selection_score", "n_seeds": len(runs), "mean_total": runs["total"].mean(),
                     "sd_total": runs["total"].std(), "mean_selection_score": means.max(),
                     "sd_selection_score": runs["selection_score"].std(), "median_run_id": runs["run_id"].iloc[0],
                     "model_rank": np.nan if control else rank + 1})
    best = pd.DataFrame(best).reindex(columns=C.BEST_SETTINGS_COLUMNS)
    C.write_table(best, out / "best_settings.tsv", C.BEST_SETTINGS)
    (out / "metrics_info.json").write_text(json.dumps(
        {"metrics": [{"metric": m, "type": t} for m, t in types.items()]}))
    # scores at three checkpoints of every neural run (final = stage 0)
    stages = []
    for _, r in summary.iterrows():
        for stage, frac in enumerate([1.0, 0.5, 0.25] if r["n_epochs"] else [1.0]):
            stages.append({"dataset": "sim", "run_id": r["run_id"], "model": r["model"], "setting": r["setting"],
                           "seed": r["seed"], "stage": stage, "epoch": int(r["n_epochs"] * frac),
                           "total": r["total"] * frac, "selection_score": r["selection_score"] * frac})
    C.write_table(pd.DataFrame(stages), out / "scores_by_epoch.tsv", C.SCORES_BY_EPOCH)
    # histories of the neural runs
    (out / "runs").mkdir(exist_ok=True)
    e = np.arange(epochs)
    for _, r in summary.iterrows():
        folder = out / "runs" / r["run_id"]
        folder.mkdir(exist_ok=True)
        if r["n_epochs"]:
            pd.DataFrame({"epoch": e, "reconstruction_loss_train": 500 / (e + 1) + 100,
                          "reconstruction_loss_validation": 520 / (e + 1) + 105, "kl_local_train": np.log1p(e),
                          "kl_local_validation": np.log1p(e) + 0.1, "cycle_loss_train": 5 / (e + 1),
                          "kl_weight": np.minimum(1.0, e / 100)}).to_csv(folder / "history.tsv", sep="\t",
                                                                        index=False)
        else:
            (folder / "history.tsv").write_text("")
    # cells: systems x cells_per_system, cell types unevenly present; the reference's 90-NN graph, mixing
    # tables of every drawn run (from a graph that mixes systems more or less), UMAP coordinates
    n = n_systems * cells_per_system
    systems = np.repeat([f"system{i:02d}" for i in range(n_systems)], cells_per_system)
    labels = np.array([f"type{j:02d}" for j in rng.integers(0, n_types, n)])
    pd.DataFrame({C.SYSTEM: systems, C.LABEL: labels}, index=[f"c{i}" for i in range(n)]).to_csv(
        out / "obs.tsv", sep="\t")
    from sysvi_bench.score.cell_types import cross_system_mixing

    order = np.argsort(labels, kind="stable")  # neighbours: mostly cells of the same type, any system
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    def graph(mix: float) -> np.ndarray:
        near = order[np.clip(position[:, None] + rng.integers(-40, 40, (n, 90)), 0, n - 1)]
        return np.where(rng.uniform(size=(n, 90)) < mix, near, rng.integers(0, n, (n, 90)))
    np.save(out / "knn_indices.npy", graph(0.3))
    for _, r in best.iterrows():
        folder = out / "runs" / r["median_run_id"]
        table = cross_system_mixing(graph(rng.uniform(0.3, 0.95)), systems, labels)
        table = table.assign(dataset="sim", run_id=r["median_run_id"], model=r["model"], kind=r["kind"], seed=0,
                             embedding_variant="raw")
        C.write_table(table, folder / "cell_type_mixing.tsv", C.CELL_TYPE_MIXING)
        cells = np.sort(rng.choice(n, min(n, 5000), replace=False))
        C.write_table(pd.DataFrame({"cell": [f"c{i}" for i in cells],
                                    "umap1": rng.normal(size=len(cells)) + (labels[cells] < "type05"),
                                    "umap2": rng.normal(size=len(cells))}), folder / "umap.tsv", C.UMAP)


# ------------------------------------------------------------------------------------ the figure jobs


def _read(d: Path):
    return C.read_table(d / "summary.tsv", C.SUMMARY), C.read_table(d / "best_settings.tsv", C.BEST_SETTINGS)


def job_results_table(d, out):
    from sysvi_bench.report.figures import results_table

    summary, _ = _read(d)
    yield lambda: results_table(summary, C.read_metric_types(d / "metrics_info.json"), out, title="sim",
                                best_by="selection_score", variant="raw")


def job_batch_vs_bio(d, out):
    from sysvi_bench.report.figures import batch_bio_scatter

    summary, best = _read(d)
    yield lambda: batch_bio_scatter(summary, out, best=best, title="sim", variant="raw", best_by="selection_score")


def job_parameter_sweep(d, out):
    from sysvi_bench.report.figures import AGGREGATES, parameter_sweep

    summary, best = _read(d)
    types = C.read_metric_types(d / "metrics_info.json")
    metrics = [m for t in ("bio", "batch") for m in sorted(k for k, v in types.items() if v == t)]
    yield lambda: (parameter_sweep(summary, best, AGGREGATES, out, title="sim", variant="raw"),
                   parameter_sweep(summary, best, metrics, [p.with_name(p.stem + "_metrics" + p.suffix) for p in out],
                                   title="sim", variant="raw"))


def job_umap(d, out):
    from sysvi_bench.report.panels import umap_panels
    from sysvi_bench.report.plotting import controls_of
    from sysvi_bench.report.umap import umap_grid

    summary, best = _read(d)
    panels = umap_panels(summary, best)
    obs = pd.read_csv(d / "obs.tsv", sep="\t", index_col=0)
    tables = {name: C.read_table(d / "runs" / (run or best["median_run_id"].iloc[0]) / "umap.tsv", C.UMAP)
              for name, run in panels.items()}
    cells = next(iter(tables.values()))["cell"]
    coords = {name: t[["umap1", "umap2"]].to_numpy() for name, t in tables.items()}
    yield lambda: umap_grid(coords, obs.loc[cells], out, title="sim", controls=controls_of(best))


def job_cell_type_mixing(d, out):
    from sysvi_bench.report.mixing_figure import cell_type_mixing_figure
    from sysvi_bench.report.panels import mixing_panels
    from sysvi_bench.report.plotting import controls_of
    from sysvi_bench.score.cell_types import cross_system_mixing

    _, best = _read(d)
    panels = mixing_panels(best)
    obs = pd.read_csv(d / "obs.tsv", sep="\t", index_col=0)
    types = {s: sorted(set(g[C.LABEL])) for s, g in obs.groupby(C.SYSTEM)}

    def draw():
        tables = {}
        for name, run in panels.items():  # as the job: the reference's graph for the unintegrated panel
            tables[name] = (cross_system_mixing(np.load(d / "knn_indices.npy"), obs[C.SYSTEM], obs[C.LABEL])
                            if run is None else C.read_table(d / "runs" / run / "cell_type_mixing.tsv",
                                                              C.CELL_TYPE_MIXING))
        cell_type_mixing_figure(tables, types, out, title="sim", controls=controls_of(best))
    yield draw


def job_training_curves(d, out):
    from sysvi_bench.io import read_history
    from sysvi_bench.report.figures import training_curves

    summary, _ = _read(d)
    histories = {r: read_history(d / "runs" / r / "history.tsv") for r in summary["run_id"]}
    yield lambda: training_curves(histories, out, title="sim", convergence=summary)


def job_training_length(d, out):
    from sysvi_bench.report.figures import training_length

    _, best = _read(d)
    scores = C.read_table(d / "scores_by_epoch.tsv", C.SCORES_BY_EPOCH)
    yield lambda: training_length(scores, best, out, title="sim", variant="raw")


def job_runtime_memory(d, out):
    from sysvi_bench.report.figures import runtime_memory

    summary, _ = _read(d)
    yield lambda: runtime_memory(summary, out, title="sim")


def job_benchmark_figures(d, out):
    from sysvi_bench.report.benchmark_figures import (
        all_settings_figure,
        best_setting_runs,
        parameter_correlation_figure,
        top_settings_figure,
    )

    summary, best = _read(d)
    runs = best_setting_runs(summary, best)
    named = {k: [p.with_name(p.stem + f"_{k}" + p.suffix) for p in out] for k in ("top", "all", "corr")}
    yield lambda: (top_settings_figure(runs, named["top"], best_by="selection_score", variant="raw"),
                   all_settings_figure(summary, named["all"], variant="raw"),
                   parameter_correlation_figure(summary, named["corr"], variant="raw"))


JOBS = {name.removeprefix("job_"): fn for name, fn in list(globals().items()) if name.startswith("job_")}


def run_one(name: str, d: Path, out_dir: Path) -> dict:
    """One figure job in this process: read its inputs, draw PNG + PDF; times and this process's peak RSS."""
    start = time.perf_counter()
    out = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    draw = next(JOBS[name](d, out))
    read_s = time.perf_counter() - start
    t0 = time.perf_counter()
    draw()
    draw_s = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pngs = sorted(out_dir.glob(f"{name}*.png"))
    return {"figure": name, "read_s": round(read_s, 2), "draw_s": round(draw_s, 2),
            "job_s": round(time.perf_counter() - start, 2), "job_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "png_px": " ".join(map(png_size, pngs))}


def png_size(path: Path) -> str:
    """Width x height of a PNG, from its header."""
    head = path.read_bytes()[16:24]
    return f"{int.from_bytes(head[:4], 'big')}x{int.from_bytes(head[4:], 'big')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", type=int, default=20)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--cell-types", type=int, default=20)
    parser.add_argument("--cells-per-system", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("/tmp/figure_scaling"))
    parser.add_argument("--only", nargs="*", default=list(JOBS), choices=list(JOBS))
    parser.add_argument("--job", help=argparse.SUPPRESS)  # internal: run one job in this (fresh) process
    args = parser.parse_args()
    data, figures = args.out / "inputs", args.out / "figures"
    if args.job:
        print(json.dumps(run_one(args.job, data, figures)))
        return
    t0 = time.perf_counter()
    build(data, args.systems, args.models, args.cell_types, args.cells_per_system, args.seeds, args.epochs)
    figures.mkdir(parents=True, exist_ok=True)
    n_runs = len(pd.read_csv(data / "summary.tsv", sep="\t"))
    print(f"inputs: {args.systems} systems x {args.models} models x {args.cell_types} cell types, "
          f"{args.systems * args.cells_per_system:,} cells, {n_runs} runs (built in {time.perf_counter() - t0:.0f} s)")
    rows = []
    for name in args.only:
        done = subprocess.run([sys.executable, __file__, "--job", name, "--out", str(args.out)], capture_output=True,
                              text=True)
        if done.returncode:
            print(done.stderr[-3000:])
            rows.append({"figure": name, "error": done.returncode})
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
