from sysvi_bench.aggregate import best_settings, collect_metrics, completeness, run_table, summarize
from sysvi_bench.io import read_json, write_tsv
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    evaluation = snakemake.params.evaluation
    metrics = collect_metrics(snakemake.input.metrics)
    runs = run_table(snakemake.params.run_dirs)
    summary = summarize(
        metrics,
        runs,
        variant=evaluation["summary_variant"],
        bio_weight=evaluation["bio_weight"],
    )
    write_tsv(metrics, snakemake.output.metrics)
    write_tsv(summary, snakemake.output.summary)
    write_tsv(best_settings(summary), snakemake.output.best_settings)
    gaps = completeness(metrics, runs, {p.split("/")[-2]: read_json(p) for p in snakemake.input.infos_metrics})
    write_tsv(gaps, snakemake.output.completeness)
    if len(gaps):
        print(f"INCOMPLETE: {len(gaps)} expected metric values are missing or NA (see {snakemake.output.completeness}):")
        print(gaps.groupby(["dataset", "run_id", "problem"]).size().to_string())
