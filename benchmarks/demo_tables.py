"""The demo's tables of docs/performance.md, written from a results folder (no number typed by hand).

    python benchmarks/demo_tables.py                                  # print the tables of results/
    python benchmarks/demo_tables.py --doc docs/performance.md        # replace them in the doc, in place
    python benchmarks/demo_tables.py --results /other/results --snakemake-log .snakemake/log/<run>.log \
        --note "other jobs shared the cores" --doc docs/performance.md

Reads ``results/{dataset}/``: ``summary.tsv`` (scores, raw metrics, convergence, and each run's
``run_info.json`` outcome: epochs, early stopping, fit time, peak memory), ``best_settings.tsv`` (the
report's recommendation), ``runs/*/metrics_by_epoch.tsv`` (embeddings scored per run) and Snakemake's benchmark files
(``runs/*/benchmark_{train,score}.tsv``, ``benchmarks/*.tsv``: each job's wall and CPU time and peak RSS). With
``--snakemake-log`` (the log of the invocation that ran the demo, under ``.snakemake/log/``) it adds the
end-to-end wall time: from the log's start to its last job's end, only when every step was done. The block is
stamped with the machine this script runs on (CPU model from /proc/cpuinfo, cores, memory): run it where the
demo ran. In ``--doc`` it replaces what lies between :data:`BEGIN` and :data:`END`. With ``--baseline`` (another
version's demo results, run on the same machine, and ``--baseline-log``) it adds the two side by side: end to
end, per run and per stage.

    python benchmarks/demo_tables.py --snakemake-log .snakemake/log/<new>.log --label 8ee2408 \
        --baseline /old/results --baseline-log /old/.snakemake/log/<old>.log --baseline-label 1571d70
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "workflow"))

from gpu_check import cpu_name  # noqa: E402
from sysvi_bench import contracts as C  # noqa: E402
from sysvi_bench.aggregate.selection import recommendation  # noqa: E402

BEGIN = "<!-- demo-tables:begin -->"
END = "<!-- demo-tables:end -->"
# raw metrics shown per run (summary.tsv's columns, of its evaluation.summary_variant); absent ones are skipped
KEY_METRICS = ("ilisi_system", "nmi_leiden", "moransi_preservation", "bras", "jaccard_neighbors",
               "cross_system_same_type", "label_transfer_f1")
# Snakemake's benchmark file columns used here: wall seconds, CPU seconds, peak resident memory (MB)
WALL, CPU, RSS = "s", "cpu_time", "max_rss"


def machine() -> str:
    """This machine in words: CPU model, cores, memory, Python."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu_name()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def find_dataset(results: Path, dataset: str | None) -> str:
    """``dataset`` if given, else the one dataset of ``results`` with a ``summary.tsv``."""
    found = sorted(p.parent.name for p in results.glob("*/summary.tsv"))
    if dataset is not None:
        if dataset not in found:
            raise SystemExit(f"{results / dataset / 'summary.tsv'} is missing (datasets with a summary: {found})")
        return dataset
    if len(found) != 1:
        raise SystemExit(f"{results}: {len(found)} datasets with a summary.tsv ({found}); name one with --dataset")
    return found[0]


def read_benchmark(path: Path) -> dict[str, float]:
    """One Snakemake benchmark file (one repeat): wall s, CPU s, peak RSS MB; {} when absent."""
    if not path.is_file():
        return {}
    row = pd.read_csv(path, sep="\t").iloc[0]
    return {k: float(row[k]) for k in (WALL, CPU, RSS) if k in row.index and pd.notna(row[k])}


def n_checkpoints(run_dir: Path) -> int:
    """Embeddings scored before the final one (``metrics_by_epoch.tsv``'s epochs but the last)."""
    path = run_dir / "metrics_by_epoch.tsv"
    if not path.is_file():
        return 0
    return max(0, pd.read_csv(path, sep="\t", usecols=["epoch"])["epoch"].nunique() - 1)


def job_times(results: Path, dataset: str, run_ids: Sequence[str]) -> pd.DataFrame:
    """Per run of ``run_ids``: its train and score jobs' wall and CPU seconds (Snakemake's benchmark files), the
    checkpoints its score job scored and when its training finished (``run_info.json``'s time)."""
    rows = []
    for run_id in run_ids:
        run_dir = results / dataset / "runs" / run_id
        train, score = read_benchmark(run_dir / "benchmark_train.tsv"), read_benchmark(run_dir / "benchmark_score.tsv")
        info = run_dir / "run_info.json"
        rows.append({
            "run_id": run_id, "train_job_s": train.get(WALL), "train_job_cpu_s": train.get(CPU),
            "score_job_s": score.get(WALL), "score_job_cpu_s": score.get(CPU), "checkpoints": n_checkpoints(run_dir),
            "finished": info.stat().st_mtime if info.is_file() else float("nan"),
        })
    return pd.DataFrame(rows, columns=["run_id", "train_job_s", "train_job_cpu_s", "score_job_s", "score_job_cpu_s",
                                       "checkpoints", "finished"])


def run_rows(results: Path, dataset: str) -> pd.DataFrame:
    """One row per run of ``dataset``: ``summary.tsv`` (scores, metrics, and the runs' ``run_info.json`` outcome:
    fit time, peak memory, epochs, ``max_epochs``, ``stopped_early``) with :func:`job_times`."""
    summary = C.read_table(results / dataset / "summary.tsv", C.SUMMARY)
    table = summary.merge(job_times(results, dataset, summary["run_id"]), on="run_id", how="left",
                          validate="one_to_one")
    # ranked runs by total (best first), then the controls, then failed runs
    table["_order"] = table["control"].fillna(False).astype(int) + 2 * (table["status"] != C.STATUS_OK)
    return table.sort_values(["_order", "total"], ascending=[True, False], kind="stable").drop(columns="_order")


def _num(value, digits: int = 3) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):,.{digits}f}"


def _epochs(row) -> str:
    if pd.isna(row.get("max_epochs")) or row.get("max_epochs") is None:
        return "—"
    epochs = f"{int(row['n_epochs'])} / {int(row['max_epochs'])}"
    return epochs + (" (stopped early)" if C.flag(row.get("stopped_early")) else "")


def _wall_cpu(wall, cpu) -> str:
    return "" if wall is None or pd.isna(wall) else _num(wall, 0) + (f" ({_num(cpu, 0)})" if pd.notna(cpu) else "")


def _converged(value) -> str:
    flag = C.flag(value)
    return "—" if flag is None else ("yes" if flag else "**no**")


def markdown(table: pd.DataFrame) -> str:
    """A plain markdown table of ``table``'s cells (as text)."""
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def runs_table(runs: pd.DataFrame) -> str:
    """Per run: epochs, convergence, times, memory, scores and the key raw metrics."""
    metrics = [m for m in KEY_METRICS if m in runs.columns]
    shown = pd.DataFrame({
        "run": "`" + runs["run_id"] + "`" + runs["control"].map(lambda c: " (control)" if C.flag(c) else ""),
        "epochs trained / max": [_epochs(r) for _, r in runs.iterrows()],
        "converged": runs["converged"].map(_converged),
        "fit s": runs["wall_time_s"].map(lambda v: _num(v, 0)),
        "train job s (CPU s)": [_wall_cpu(s, c) for s, c in zip(runs["train_job_s"], runs["train_job_cpu_s"])],
        "score job s (CPU s)": [_wall_cpu(s, c) for s, c in zip(runs["score_job_s"], runs["score_job_cpu_s"])],
        "checkpoints scored": runs["checkpoints"].astype(int),
        "peak MB (fit)": runs["peak_memory_mb"].map(lambda v: _num(v, 0)),
        "total": [_num(t) if s == C.STATUS_OK else "failed" for t, s in zip(runs["total"], runs["status"])],
        "selection": runs["selection_score"].map(_num),
        **{f"`{m}`": runs[m].map(_num) for m in metrics},
    })
    return markdown(shown)


def stage_rows(results: Path, dataset: str) -> pd.DataFrame:
    """Per rule: jobs, summed wall and CPU time, longest job, peak RSS (Snakemake's benchmark files)."""
    rows = [{"stage": p.stem, **read_benchmark(p)} for p in sorted((results / dataset / "benchmarks").glob("*.tsv"))]
    for run_dir in sorted((results / dataset / "runs").iterdir()):
        for path in sorted(run_dir.glob("benchmark_*.tsv")):
            rows.append({"stage": path.stem.removeprefix("benchmark_"), **read_benchmark(path)})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    grouped = table.groupby("stage", sort=False)
    out = pd.DataFrame({"jobs": grouped.size(), "wall s (sum)": grouped[WALL].sum(),
                        "longest job s": grouped[WALL].max()})
    if CPU in table:
        out["CPU s (sum)"] = grouped[CPU].sum()
    if RSS in table:
        out["peak RSS MB (largest job)"] = grouped[RSS].max()
    return out.reset_index()


def stage_table(stages: pd.DataFrame) -> str:
    shown = stages.copy()
    shown["stage"] = "`" + shown["stage"] + "`"
    for col in shown.columns[2:]:
        shown[col] = shown[col].map(lambda v: _num(v, 0))
    return markdown(shown)


def checkpoint_cost(runs: pd.DataFrame) -> str:
    """What one more scored embedding costs, estimated: the score jobs of runs with checkpoints against those of
    runs without (every score job scores the same cells; CPU time, which the machine's load inflates less than
    wall time), next to what a train job of a neural run costs."""
    ok = runs[(runs["status"] == C.STATUS_OK) & runs["score_job_cpu_s"].notna()]
    with_k, without = ok[ok["checkpoints"] > 0], ok[ok["checkpoints"] == 0]
    if with_k.empty or without.empty:
        return ""
    k = with_k["checkpoints"].mean()
    cpu = (with_k["score_job_cpu_s"].mean() - without["score_job_cpu_s"].mean()) / k
    wall = (with_k["score_job_s"].mean() - without["score_job_s"].mean()) / k
    if cpu <= 0:  # other differences (e.g. the first job compiling the JIT cache) outweigh the checkpoints
        return (f"One checkpoint's cost is not measurable from these score jobs: those with {k:g} checkpoint(s) "
                f"used {with_k['score_job_cpu_s'].mean():.0f} CPU-s on average, those without "
                f"{without['score_job_cpu_s'].mean():.0f}.")
    text = (f"Score jobs scoring the final embedding and {k:g} checkpoint(s) used {with_k['score_job_cpu_s'].mean():.0f} "
            f"CPU-s on average ({len(with_k)} run(s)), those scoring the final embedding only "
            f"{without['score_job_cpu_s'].mean():.0f} CPU-s ({len(without)} run(s)): one checkpoint costs about "
            f"{cpu:.0f} CPU-s ({wall:.0f} s of wall time) per neural run")
    neural = ok[ok["max_epochs"].notna() & ok["train_job_cpu_s"].notna()]  # models that train over epochs
    if len(neural):
        text += (f", a neural run's train job {neural['train_job_cpu_s'].mean():.0f} CPU-s on average "
                 f"({neural['train_job_cpu_s'].min():.0f}–{neural['train_job_cpu_s'].max():.0f}; wall "
                 f"{neural['train_job_s'].min():.0f}–{neural['train_job_s'].max():.0f} s)")
    return text + "."


def invocation(log: Path) -> tuple[int, str, dt.datetime, dt.datetime]:
    """``(wall seconds, jobs, start, last job's end)`` of the invocation a Snakemake log records: Snakemake's own
    ``Elapsed time`` (else from the log's start, header ``Date:``, to its last job's end); only for an invocation
    that did every step."""
    text = log.read_text(errors="replace")
    start = re.search(r"^\s*Date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text, flags=re.M)
    done = re.findall(r"^(\d+) of \1 steps \(100%\) done", text, flags=re.M)
    stamps = re.findall(r"^\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\]", text, flags=re.M)
    if not (start and done and stamps):
        raise SystemExit(f"{log}: not the log of a complete Snakemake invocation (no start date, last timestamp "
                         "or 'N of N steps (100%) done' line)")
    begin = dt.datetime.strptime(start.group(1), "%Y-%m-%d %H:%M:%S")
    finish = dt.datetime.strptime(re.sub(r"\s+", " ", stamps[-1]), "%a %b %d %H:%M:%S %Y")
    elapsed = re.search(r"^Elapsed time: (\d+):(\d\d):(\d\d)", text, flags=re.M)
    seconds = (3600 * int(elapsed[1]) + 60 * int(elapsed[2]) + int(elapsed[3]) if elapsed
               else int((finish - begin).total_seconds()))
    return seconds, done[-1], begin, finish


def end_to_end(log: Path) -> str:
    """The sentence on the invocation's wall time (:func:`invocation`)."""
    seconds, jobs, begin, finish = invocation(log)
    return (f"End to end: **{_minutes(seconds)}** for {jobs} jobs (Snakemake log `{log.name}`: "
            f"started {begin:%Y-%m-%d %H:%M:%S}, last job finished {finish:%H:%M:%S}).")


def _minutes(seconds: float) -> str:
    return f"{int(seconds) // 60} min {int(seconds) % 60} s"


def side_by_side(results: Path, dataset: str, log: Path, baseline: Path, baseline_log: Path,
                 labels: tuple[str, str]) -> str:
    """This demo against another version's (``baseline``: its results folder and Snakemake log), both run on this
    machine: end to end, per run (epochs and the train job) and per stage. The baseline's ``summary.tsv`` is read
    as plain TSV (an older version's columns may differ); runs of one demo only are listed with a dash."""
    new_label, old_label = labels
    seconds = {new_label: invocation(log)[0], old_label: invocation(baseline_log)[0]}
    change = seconds[new_label] / seconds[old_label] - 1
    lines = [f"#### Side by side: {new_label} against {old_label}",
             f"Both demos on this machine, one after the other, nothing else running: {old_label} "
             f"**{_minutes(seconds[old_label])}**, {new_label} **{_minutes(seconds[new_label])}** ({change:+.1%})."]
    demos = ((old_label, baseline), (new_label, results))
    per_run, per_stage = {}, {}
    for label, folder in demos:
        summary = pd.read_csv(folder / dataset / "summary.tsv", sep="\t")
        times = job_times(folder, dataset, summary["run_id"]).set_index("run_id")
        epochs = summary.set_index("run_id").get("n_epochs", pd.Series(dtype=float)).reindex(times.index)
        per_run[label] = pd.DataFrame({
            "epochs": [str(int(e)) if pd.notna(e) and e > 0 else "" for e in epochs],
            "train job s (CPU s)": [_wall_cpu(s, c) for s, c in zip(times["train_job_s"], times["train_job_cpu_s"])],
        }, index=times.index)
        stages = stage_rows(folder, dataset).set_index("stage")
        per_stage[label] = pd.DataFrame({"jobs": stages["jobs"].astype(int).astype(str),
                                         **{c: stages[c].map(lambda v: _num(v, 0))
                                            for c in ("wall s (sum)", "CPU s (sum)") if c in stages}})
    for name, frames, first in (("Per run (— : not in that demo)", per_run, "run"),
                                ("Per stage (Snakemake's benchmark files, summed)", per_stage, "stage")):
        table = pd.concat(frames, axis=1, sort=False).fillna("—")  # a row of one demo only: a dash in the other's
        table.columns = [f"{label}: {column}" for label, column in table.columns]
        table.index = [f"`{i}`" for i in table.index]
        lines.append(f"{name}:\n\n" + markdown(table.rename_axis(first).reset_index()))
    return "\n\n".join(lines)


def build(results: Path, dataset: str | None = None, snakemake_log: Path | None = None, note: str = "",
          today: dt.date | None = None, baseline: Path | None = None, baseline_log: Path | None = None,
          labels: tuple[str, str] = ("this version", "baseline")) -> str:
    """The markdown block (without the markers) for ``results``."""
    dataset = find_dataset(results, dataset)
    runs = run_rows(results, dataset)
    best = C.read_table(results / dataset / "best_settings.tsv", C.BEST_SETTINGS)
    finished = pd.to_datetime(runs["finished"], unit="s")
    devices = ", ".join(sorted(runs.loc[runs["status"] == C.STATUS_OK, "device"].dropna().astype(str).unique()))
    stamp = (f"{machine()}; training devices: {devices}; training jobs finished {finished.min():%Y-%m-%d %H:%M}–"
             f"{finished.max():%H:%M} (UTC). Tables written by `benchmarks/demo_tables.py` on "
             f"{(today or dt.date.today()).isoformat()} from `{dataset}`'s results.")
    parts = [stamp + (f" {note}" if note else "")]
    if snakemake_log is not None:
        parts.append(end_to_end(snakemake_log))
    parts.append("#### Runs\n\nFrom `summary.tsv` (raw metrics; scores scaled over the dataset's runs; from the "
                 "runs' `run_info.json`: epochs, fit time = model set-up, training and embedding, peak memory of the "
                 "fit) and Snakemake's benchmark files (whole jobs, imports included).\n\n" + runs_table(runs))
    failed = runs[runs["status"] != C.STATUS_OK]
    if len(failed):
        parts.append("\n".join(f"- `{r.run_id}` failed: {r.reason}" for r in failed.itertuples()))
    stages = stage_rows(results, dataset)
    if len(stages):
        parts.append("#### Stages\n\nSnakemake's benchmark files, summed per rule (jobs ran side by side, so the "
                     "sums exceed the wall time).\n\n" + stage_table(stages))
    cost = checkpoint_cost(runs)
    if cost:
        parts.append(cost)
    parts.append(f"Recommendation (`best_settings.tsv`): {recommendation(best, dataset)}")
    if baseline is not None:
        if snakemake_log is None or baseline_log is None:
            raise SystemExit("--baseline needs --snakemake-log and --baseline-log (the two invocations' logs)")
        parts.append(side_by_side(results, dataset, snakemake_log, baseline, baseline_log, labels))
    return "\n\n".join(parts)


def replace_block(doc: Path, block: str) -> None:
    """Put ``block`` between :data:`BEGIN` and :data:`END` of ``doc`` (both must be there, once each)."""
    text = doc.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{doc}: needs exactly one {BEGIN} followed by one {END}")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    doc.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=HERE.parent / "results")
    parser.add_argument("--dataset", help="the dataset to tabulate (default: the only one with a summary.tsv)")
    parser.add_argument("--doc", type=Path, help=f"replace the block between {BEGIN} and {END} of this file")
    parser.add_argument("--snakemake-log", type=Path, help="the Snakemake log of the demo's invocation")
    parser.add_argument("--note", default="", help="a sentence added to the stamp (e.g. the machine's load)")
    parser.add_argument("--label", default="this version", help="this demo's name in the side-by-side tables")
    parser.add_argument("--baseline", type=Path,
                        help="another version's demo results folder, run on this machine: adds a side-by-side section")
    parser.add_argument("--baseline-log", type=Path, help="the Snakemake log of the baseline's invocation")
    parser.add_argument("--baseline-label", default="baseline", help="the baseline's name (e.g. its commit)")
    args = parser.parse_args(argv)
    block = build(args.results, args.dataset, args.snakemake_log, args.note, baseline=args.baseline,
                  baseline_log=args.baseline_log, labels=(args.label, args.baseline_label))
    if args.doc:
        replace_block(args.doc, block)
        print(f"updated {args.doc}")
    else:
        print(block)


if __name__ == "__main__":
    main()
