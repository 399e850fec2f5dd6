rule aggregate:
    input:
        metrics=expand("results/{dataset}/metrics.tsv", dataset=DATASETS),
        infos=[f"{d}/run_info.json" for d in run_dirs()],
        infos_metrics=expand("results/{dataset}/metrics_info.json", dataset=DATASETS),
    output:
        metrics="results/metrics.tsv",
        summary="results/summary.tsv",
        best_settings="results/best_settings.tsv",
        completeness="results/completeness.tsv",
    params:
        run_dirs=run_dirs(),
        evaluation=config["evaluation"],
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/aggregate.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/aggregate.py"


rule results_table:
    input:
        metrics="results/metrics.tsv",
        summary="results/summary.tsv",
    output:
        png=report(
            "results/figures/{dataset}/results_table.png",
            caption="../report/results_table.rst",
            category="{dataset}",
            subcategory="2 Results",
            labels={"entry": "figure: scIB-style results table"},
        ),
        pdf="results/figures/{dataset}/results_table.pdf",
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/results_table.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/results_table.py"
