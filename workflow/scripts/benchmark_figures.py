from sysvi_bench import contracts as C
from sysvi_bench.report.benchmark_figures import (
    all_settings_figure,
    best_setting_runs,
    failed_datasets,
    pairwise_tests,
    parameter_correlation_figure,
    top_settings_figure,
)

from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    out, metrics = snakemake.output, list(snakemake.params.metrics)
    failed = failed_datasets(C.read_table(snakemake.input.datasets, C.DATASETS))
    summary = C.read_table(snakemake.input.summary, C.SUMMARY)
    summary = summary[~summary["dataset"].astype(str).isin(failed)]
    runs = best_setting_runs(summary, C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS))
    print(f"datasets: {sorted(set(summary['dataset']))}; left out (failed): {failed}")
    C.write_table(pairwise_tests(runs, metrics), out.tests, C.BENCHMARK_TESTS)
    shows = {"variant": snakemake.params.variant}
    top_settings_figure(runs, [out.top_png, out.top_pdf], metrics, failed, best_by=snakemake.params.best_by, **shows)
    all_settings_figure(summary, [out.all_png, out.all_pdf], metrics, failed, **shows)
    parameter_correlation_figure(summary, [out.corr_png, out.corr_pdf], metrics, failed, **shows)
