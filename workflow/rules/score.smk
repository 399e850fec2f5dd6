rule evaluation_reference:
    input:
        "results/{dataset}/preprocessed.h5ad",
    output:
        reference="results/{dataset}/evaluation_reference.h5ad",
        info="results/{dataset}/metrics_info.json",
    params:
        code=code_param("evaluation_reference.py"),
        # the settings that change scores (aggregation-only ones go to the aggregate job)
        evaluation=scoring_config(),
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
    output:
        metrics=f"{RUN_DIR}/metrics.tsv",
        cell_type_mixing=f"{RUN_DIR}/cell_type_mixing.tsv",
        label_transfer=f"{RUN_DIR}/label_transfer.tsv",
        info=f"{RUN_DIR}/score_info.json",
        by_epoch=f"{RUN_DIR}/metrics_by_epoch.tsv",
    params:
        code=code_param("score.py"),
        run=run_param,
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
