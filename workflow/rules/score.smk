rule evaluation_reference:
    input:
        "results/{dataset}/preprocessed.h5ad",
    output:
        reference="results/{dataset}/evaluation_reference.h5ad",
        info="results/{dataset}/metrics_info.json",
    params:
        evaluation=config["evaluation"],
    threads: config["threads"]["score"]
    resources:
        mem_mb=score_mem_mb,
        runtime=score_runtime,
    log:
        "logs/{dataset}/evaluation_reference.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluation_reference.tsv"
    conda:
        "../../envs/metrics.yaml"
    script:
        "../scripts/evaluation_reference.py"


rule score:
    input:
        embedding=f"{RUN_DIR}/embedding.h5ad",
        info=f"{RUN_DIR}/run_info.json",
        reference="results/{dataset}/evaluation_reference.h5ad",
        metrics_info="results/{dataset}/metrics_info.json",
        # ancient: adding a run rewrites the manifest, which must not rescore the others
        manifest=ancient("results/{dataset}/runs.tsv"),
    output:
        f"{RUN_DIR}/metrics.tsv",
        by_epoch=f"{RUN_DIR}/metrics_by_epoch.tsv",
    threads: config["threads"]["score"]
    resources:
        mem_mb=score_mem_mb,
        runtime=score_runtime,
    log:
        "logs/{dataset}/score/{run_id}.log",
    benchmark:
        f"{RUN_DIR}/benchmark_score.tsv"
    conda:
        "../../envs/metrics.yaml"
    script:
        "../scripts/score.py"
