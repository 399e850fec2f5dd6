# a checkpoint: the UMAP figure's inputs (the best runs) are known from its tables
checkpoint aggregate:
    input:
        manifest="results/{dataset}/runs.tsv",
        metrics_info="results/{dataset}/metrics_info.json",
        # in manifest order (the script checks that each file belongs to its run)
        metrics=lambda wc: run_files(wc.dataset, "metrics.tsv"),
        infos=lambda wc: run_files(wc.dataset, "run_info.json"),
        score_infos=lambda wc: run_files(wc.dataset, "score_info.json"),
        histories=lambda wc: run_files(wc.dataset, "history.tsv"),
        by_epoch=lambda wc: run_files(wc.dataset, "metrics_by_epoch.tsv"),
    output:
        metrics="results/{dataset}/metrics.tsv",
        summary="results/{dataset}/summary.tsv",
        best_settings="results/{dataset}/best_settings.tsv",
        completeness="results/{dataset}/completeness.tsv",
        scores_by_epoch="results/{dataset}/scores_by_epoch.tsv",
        ranking_by_variant="results/{dataset}/ranking_by_variant.tsv",
        aggregated_metrics="results/{dataset}/aggregated_metrics.tsv",
    params:
        code=code_param("aggregate.py"),
        # aggregation-only evaluation settings: changing one re-aggregates without rescoring
        aggregation=aggregation_config(),
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/aggregate.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/aggregate.py"


rule benchmark_tables:
    input:
        metrics=expand("results/{dataset}/metrics.tsv", dataset=DATASETS),
        summary=expand("results/{dataset}/summary.tsv", dataset=DATASETS),
        best_settings=expand("results/{dataset}/best_settings.tsv", dataset=DATASETS),
        completeness=expand("results/{dataset}/completeness.tsv", dataset=DATASETS),
    output:
        metrics="results/metrics.tsv",
        summary="results/summary.tsv",
        best_settings="results/best_settings.tsv",
        completeness="results/completeness.tsv",
        datasets="results/datasets.tsv",
    params:
        code=code_param("benchmark_tables.py"),
        datasets=DATASETS,  # the order of the inputs
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/benchmark_tables.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/benchmark_tables.py"
