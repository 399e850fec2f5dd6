from sysvi_bench import contracts as C
from sysvi_bench.report.figures import AGGREGATES, parameter_sweep
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    summary = C.read_table(snakemake.input.summary, C.SUMMARY)
    best = C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS)
    types = C.read_metric_types(snakemake.input.metrics_info)
    parameter_sweep(summary, best, AGGREGATES, [snakemake.output.scores_png, snakemake.output.scores_pdf],
                    title=f"{dataset}: aggregate scores vs SysVI parameters", best_by=snakemake.params.best_by,
                    variant=snakemake.params.variant)
    metrics = [m for t in ("bio", "batch") for m in sorted(k for k, v in types.items() if v == t)]
    parameter_sweep(summary, best, metrics, [snakemake.output.metrics_png, snakemake.output.metrics_pdf],
                    title=f"{dataset}: metrics (raw values) vs SysVI parameters",
                    labels={m: f"{m.replace('_', ' ')} ({types[m]})" for m in metrics}, best_by=snakemake.params.best_by,
                    variant=snakemake.params.variant)
