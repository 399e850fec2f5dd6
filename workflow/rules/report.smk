# Figures, the pre-integration diagnostic and the pages of `snakemake --report` (docs/report.md).
# One rule per figure family (per dataset, then across datasets); the logic is in the sysvi_bench.report package.
# Report layout: one category per dataset, subcategories numbered in reading order, plus a "Benchmark" category
# with the configuration, package versions and the benchmark-wide tables.

FIGURES = "results/figures/{dataset}"
PAGES = "results/report"
SUBCAT_DIAGNOSTIC = "1 Diagnostic (before training)"
SUBCAT_RESULTS = "2 Results"
SUBCAT_SWEEPS = "3 Parameter sweeps"
SUBCAT_EMBEDDINGS = "4 Embeddings"
SUBCAT_TRAINING = "5 Training and resources"
BENCHMARK_CATEGORY = "Benchmark"
# Every figure and page of a dataset reads only that dataset's files (rule aggregate), declared as inputs.
SUMMARY = "results/{dataset}/summary.tsv"
BEST_SETTINGS = "results/{dataset}/best_settings.tsv"
METRICS_INFO = "results/{dataset}/metrics_info.json"
# The UMAP figure's subsample and seed (every drawn run and the unintegrated PCA alike)
UMAP_PARAMS = {"max_cells": 5000, "seed": 0}
# The paper's figures across every completed dataset (report category "Benchmark")
BENCHMARK_FIGURES = "results/figures/benchmark"
# columns of the benchmark figures and of results/benchmark_tests.tsv (figures.benchmark_metrics; the schema's
# default: the paper's selection metrics)
BENCHMARK_METRICS = config["figures"]["benchmark_metrics"]
# What a figure shows, named in its title: the embedding variant its metrics are of and the score that picks
# each model's best setting and ranks the runs
SHOWS = {"variant": config["evaluation"]["summary_variant"], "best_by": config["evaluation"]["best_by"]}


# Every output of this file (all_outputs() in common.smk includes them)
REPORT_TARGETS = [
    *expand(
        [
            "results/{dataset}/diagnostic.tsv",
            "results/{dataset}/diagnostic.txt",
            f"{FIGURES}/diagnostic.png",
            f"{FIGURES}/results_table.png",
            f"{FIGURES}/cell_type_mixing.png",
            f"{FIGURES}/batch_vs_bio.png",
            f"{FIGURES}/sweep_scores.png",
            f"{FIGURES}/umap_best_runs.png",
            f"{FIGURES}/training_curves.png",
            f"{FIGURES}/training_length.png",
            f"{FIGURES}/runtime_memory.png",
            f"{PAGES}/{{dataset}}/tables.html",
        ],
        dataset=DATASETS,
    ),
    f"{PAGES}/config_versions.html",
    f"{BENCHMARK_FIGURES}/top_settings.png",
    "results/benchmark_tests.tsv",
]


rule diagnostic:
    input:
        "results/{dataset}/preprocessed.h5ad",
    output:
        table=report(
            "results/{dataset}/diagnostic.tsv",
            caption="../report/diagnostic_tables.rst",
            category="{dataset}",
            subcategory=SUBCAT_DIAGNOSTIC,
            labels={"entry": "per-cell-type tests (TSV download)"},
        ),
        summary=report(
            "results/{dataset}/diagnostic_summary.tsv",
            caption="../report/diagnostic_tables.rst",
            category="{dataset}",
            subcategory=SUBCAT_DIAGNOSTIC,
            labels={"entry": "summary and verdict (TSV download)"},
        ),
        text="results/{dataset}/diagnostic.txt",
        page=report(
            f"{PAGES}/{{dataset}}/diagnostic.html",
            caption="../report/diagnostic_page.rst",
            category="{dataset}",
            subcategory=SUBCAT_DIAGNOSTIC,
            labels={"entry": "verdict and tests"},
        ),
        png=report(
            f"{FIGURES}/diagnostic.png",
            caption="../report/diagnostic.rst",
            category="{dataset}",
            subcategory=SUBCAT_DIAGNOSTIC,
            labels={"entry": "figure: pseudobulk distances"},
        ),
        pdf=f"{FIGURES}/diagnostic.pdf",
    params:
        code=code_param("diagnostic.py"),
    resources:
        mem_mb=lambda wc, input, attempt: int((1000 + 5 * input.size_mb) * attempt),
        runtime=small_runtime,
    log:
        "logs/{dataset}/diagnostic.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/diagnostic.py"


rule batch_vs_bio:
    input:
        summary=SUMMARY,
        best_settings=BEST_SETTINGS,
    output:
        png=report(
            f"{FIGURES}/batch_vs_bio.png",
            caption="../report/batch_vs_bio.rst",
            category="{dataset}",
            subcategory=SUBCAT_RESULTS,
            labels={"entry": "figure: batch correction vs bio conservation"},
        ),
        pdf=f"{FIGURES}/batch_vs_bio.pdf",
    params:
        code=code_param("figure_batch_vs_bio.py"),
        bio_weight=config["evaluation"]["bio_weight"],
        **SHOWS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/batch_vs_bio.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_batch_vs_bio.py"


rule parameter_sweep:
    input:
        summary=SUMMARY,
        best_settings=BEST_SETTINGS,
        metrics_info=METRICS_INFO,
    output:
        scores_png=report(
            f"{FIGURES}/sweep_scores.png",
            caption="../report/sweep_scores.rst",
            category="{dataset}",
            subcategory=SUBCAT_SWEEPS,
            labels={"entry": "figure: aggregate scores vs parameters"},
        ),
        scores_pdf=f"{FIGURES}/sweep_scores.pdf",
        metrics_png=report(
            f"{FIGURES}/sweep_metrics.png",
            caption="../report/sweep_metrics.rst",
            category="{dataset}",
            subcategory=SUBCAT_SWEEPS,
            labels={"entry": "figure: every metric vs parameters"},
        ),
        metrics_pdf=f"{FIGURES}/sweep_metrics.pdf",
    params:
        code=code_param("figure_parameter_sweep.py"),
        **SHOWS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/parameter_sweep.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_parameter_sweep.py"


rule umap:
    input:
        f"{RUN_DIR}/embedding.h5ad",
    output:
        f"{RUN_DIR}/umap.tsv",
    params:
        code=code_param("umap.py"),
        obsm="X_emb",
        **UMAP_PARAMS,
    resources:
        mem_mb=lambda wc, input, attempt: int((1000 + 5 * input.size_mb) * attempt),
        runtime=small_runtime,
    log:
        "logs/{dataset}/umap/{run_id}.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/umap.py"


use rule umap as umap_unintegrated with:
    input:
        "results/{dataset}/preprocessed.h5ad",
    output:
        "results/{dataset}/umap_unintegrated.tsv",
    params:
        code=code_param("umap.py"),
        obsm="X_pca",
        **UMAP_PARAMS,
    log:
        "logs/{dataset}/umap/unintegrated.log",


rule umap_best_runs:
    input:
        preprocessed="results/{dataset}/preprocessed.h5ad",
        summary=SUMMARY,
        best_settings=BEST_SETTINGS,
        # known once the dataset is aggregated (checkpoint): only the drawn runs get a UMAP
        umaps=umap_tables,
    output:
        png=report(
            f"{FIGURES}/umap_best_runs.png",
            caption="../report/umap_best_runs.rst",
            category="{dataset}",
            subcategory=SUBCAT_EMBEDDINGS,
            labels={"entry": "figure: UMAP of the best run per model"},
        ),
        pdf=f"{FIGURES}/umap_best_runs.pdf",
    params:
        code=code_param("figure_umap.py"),
        **SHOWS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/umap_best_runs.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_umap.py"


rule training_length:
    input:
        scores="results/{dataset}/scores_by_epoch.tsv",
        best_settings="results/{dataset}/best_settings.tsv",
    output:
        png=report(
            f"{FIGURES}/training_length.png",
            caption="../report/training_length.rst",
            category="{dataset}",
            subcategory=SUBCAT_TRAINING,
            labels={"entry": "figure: scores over training length"},
        ),
        pdf=f"{FIGURES}/training_length.pdf",
    params:
        code=code_param("figure_training_length.py"),
        **SHOWS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/training_length.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_training_length.py"


rule training_curves:
    input:
        summary=SUMMARY,
        histories=lambda wc: run_files(wc.dataset, "history.tsv"),
    output:
        png=report(
            f"{FIGURES}/training_curves.png",
            caption="../report/training_curves.rst",
            category="{dataset}",
            subcategory=SUBCAT_TRAINING,
            labels={"entry": "figure: training curves per run"},
        ),
        pdf=f"{FIGURES}/training_curves.pdf",
    params:
        code=code_param("figure_training_curves.py"),
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/training_curves.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_training_curves.py"


rule runtime_memory:
    input:
        summary=SUMMARY,
    output:
        png=report(
            f"{FIGURES}/runtime_memory.png",
            caption="../report/runtime_memory.rst",
            category="{dataset}",
            subcategory=SUBCAT_TRAINING,
            labels={"entry": "figure: runtime and peak memory per run"},
        ),
        pdf=f"{FIGURES}/runtime_memory.pdf",
    params:
        code=code_param("figure_runtime_memory.py"),
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/figures/runtime_memory.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/figure_runtime_memory.py"


rule report_tables:
    input:
        summary=SUMMARY,
        best_settings=BEST_SETTINGS,
        metrics_info=METRICS_INFO,
        preprocess_report="results/{dataset}/preprocess_report.tsv",
        ranking_by_variant="results/{dataset}/ranking_by_variant.tsv",
        aggregated_metrics="results/{dataset}/aggregated_metrics.tsv",
    output:
        report(
            f"{PAGES}/{{dataset}}/tables.html",
            caption="../report/tables.rst",
            category="{dataset}",
            subcategory=SUBCAT_RESULTS,
            labels={"entry": "tables: failed runs, best settings, all runs"},
        ),
    params:
        code=code_param("report_tables.py"),
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/report_tables.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/report_tables.py"


rule report_config:
    input:
        summary="results/summary.tsv",
        best_settings="results/best_settings.tsv",
        completeness="results/completeness.tsv",
        datasets="results/datasets.tsv",
        metrics_infos=expand(METRICS_INFO, dataset=DATASETS),
    output:
        page=report(
            f"{PAGES}/config_versions.html",
            caption="../report/config_versions.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Configuration",
            labels={"entry": "configuration and package versions"},
        ),
        versions=f"{PAGES}/versions.tsv",
        config=f"{PAGES}/config.yaml",
        summary=report(
            f"{PAGES}/tables/summary.tsv",
            caption="../report/downloads.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Tables (TSV downloads)",
            labels={"entry": "summary.tsv"},
        ),
        best_settings=report(
            f"{PAGES}/tables/best_settings.tsv",
            caption="../report/downloads.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Tables (TSV downloads)",
            labels={"entry": "best_settings.tsv"},
        ),
        completeness=report(
            f"{PAGES}/tables/completeness.tsv",
            caption="../report/downloads.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Tables (TSV downloads)",
            labels={"entry": "completeness.tsv"},
        ),
        datasets=report(
            f"{PAGES}/tables/datasets.tsv",
            caption="../report/downloads.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Tables (TSV downloads)",
            labels={"entry": "datasets.tsv"},
        ),
    params:
        code=code_param("report_config.py"),
        config=canonical_json(config),
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/report_config.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/report_config.py"


rule results_table:
    input:
        summary=SUMMARY,
        metrics_info=METRICS_INFO,
        # which metrics entered the dataset's aggregates (the others are drawn apart)
        aggregated_metrics="results/{dataset}/aggregated_metrics.tsv",
    output:
        png=report(
            f"{FIGURES}/results_table.png",
            caption="../report/results_table.rst",
            category="{dataset}",
            subcategory=SUBCAT_RESULTS,
            labels={"entry": "figure: scIB-style results table"},
        ),
        pdf=f"{FIGURES}/results_table.pdf",
    params:
        code=code_param("results_table.py"),
        **SHOWS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/results_table.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/results_table.py"


rule cell_type_mixing_figure:
    input:
        reference="results/{dataset}/evaluation_reference.h5ad",
        best_settings=BEST_SETTINGS,
        tables=mixing_tables,
    output:
        png=report(
            f"{FIGURES}/cell_type_mixing.png",
            caption="../report/cell_type_mixing.rst",
            category="{dataset}",
            subcategory=SUBCAT_RESULTS,
            labels={"entry": "figure: which cell types are mixed across systems"},
        ),
        pdf=f"{FIGURES}/cell_type_mixing.pdf",
    params:
        code=code_param("figure_cell_type_mixing.py"),
        **SHOWS,
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
            category=BENCHMARK_CATEGORY,
            subcategory="Figures across datasets",
            labels={"entry": "figure: best setting per model (the paper's main figure)"},
        ),
        top_pdf=f"{BENCHMARK_FIGURES}/top_settings.pdf",
        all_png=report(
            f"{BENCHMARK_FIGURES}/all_settings.png",
            caption="../report/benchmark_all_settings.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Figures across datasets",
            labels={"entry": "figure: every setting of every model"},
        ),
        all_pdf=f"{BENCHMARK_FIGURES}/all_settings.pdf",
        corr_png=report(
            f"{BENCHMARK_FIGURES}/parameter_correlation.png",
            caption="../report/benchmark_parameter_correlation.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Figures across datasets",
            labels={"entry": "figure: parameter-metric correlation"},
        ),
        corr_pdf=f"{BENCHMARK_FIGURES}/parameter_correlation.pdf",
        tests=report(
            "results/benchmark_tests.tsv",
            caption="../report/benchmark_tests.rst",
            category=BENCHMARK_CATEGORY,
            subcategory="Tables (TSV downloads)",
            labels={"entry": "benchmark_tests.tsv"},
        ),
    params:
        code=code_param("benchmark_figures.py"),
        metrics=BENCHMARK_METRICS,
        **SHOWS,
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/benchmark_figures.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/benchmark_figures.py"
