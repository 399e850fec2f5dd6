# Which cell types each model mixes with which (per dataset), and the paper's figures across every completed
# dataset (report category "Benchmark"). Logic: sysvi_bench.mixing_figure and sysvi_bench.benchmark_figures.

BENCHMARK_FIGURES = "results/figures/benchmark"
# columns of the benchmark figures and of results/benchmark_tests.tsv (figures.benchmark_metrics; the schema's
# default: the paper's selection metrics)
BENCHMARK_METRICS = config["figures"]["benchmark_metrics"]

BENCHMARK_TARGETS = [
    *expand("results/figures/{dataset}/cell_type_mixing.png", dataset=DATASETS),
    f"{BENCHMARK_FIGURES}/top_settings.png",
    "results/benchmark_tests.tsv",
]


rule cell_type_mixing_figure:
    input:
        reference="results/{dataset}/evaluation_reference.h5ad",
        summary="results/{dataset}/summary.tsv",
        best_settings="results/{dataset}/best_settings.tsv",
        tables=mixing_tables,
    output:
        png=report(
            "results/figures/{dataset}/cell_type_mixing.png",
            caption="../report/cell_type_mixing.rst",
            category="{dataset}",
            subcategory="2 Results",
            labels={"entry": "figure: which cell types are mixed across systems"},
        ),
        pdf="results/figures/{dataset}/cell_type_mixing.pdf",
    params:
        variant=config["evaluation"]["summary_variant"],
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/cell_type_mixing.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_cell_type_mixing.py"


rule benchmark_figures:
    input:
        summary="results/summary.tsv",
        best_settings="results/best_settings.tsv",
        datasets="results/datasets.tsv",
    output:
        top_png=report(
            f"{BENCHMARK_FIGURES}/top_settings.png",
            caption="../report/benchmark_top_settings.rst",
            category="Benchmark",
            subcategory="Figures across datasets",
            labels={"entry": "figure: best setting per model (the paper's main figure)"},
        ),
        top_pdf=f"{BENCHMARK_FIGURES}/top_settings.pdf",
        all_png=report(
            f"{BENCHMARK_FIGURES}/all_settings.png",
            caption="../report/benchmark_all_settings.rst",
            category="Benchmark",
            subcategory="Figures across datasets",
            labels={"entry": "figure: every setting of every model"},
        ),
        all_pdf=f"{BENCHMARK_FIGURES}/all_settings.pdf",
        corr_png=report(
            f"{BENCHMARK_FIGURES}/parameter_correlation.png",
            caption="../report/benchmark_parameter_correlation.rst",
            category="Benchmark",
            subcategory="Figures across datasets",
            labels={"entry": "figure: parameter-metric correlation"},
        ),
        corr_pdf=f"{BENCHMARK_FIGURES}/parameter_correlation.pdf",
        tests=report(
            "results/benchmark_tests.tsv",
            caption="../report/benchmark_tests.rst",
            category="Benchmark",
            subcategory="Tables (TSV downloads)",
            labels={"entry": "benchmark_tests.tsv"},
        ),
    params:
        metrics=BENCHMARK_METRICS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/benchmark_figures.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/benchmark_figures.py"
