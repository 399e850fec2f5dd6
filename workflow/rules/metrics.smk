rule metrics:
    input:
        preprocessed="results/{dataset}/preprocessed.h5ad",
        embedding=f"{RUN_DIR}/embedding.h5ad",
        info=f"{RUN_DIR}/run_info.json",
    output:
        f"{RUN_DIR}/metrics.tsv",
    params:
        run=run_of,
        evaluation=config["evaluation"],
    threads: config["threads"]["metrics"]
    log:
        "logs/{dataset}/metrics/{run_id}.log",
    benchmark:
        f"{RUN_DIR}/benchmark_metrics.tsv"
    conda:
        "../../envs/sysvi-bench.yaml"
    script:
        "../scripts/metrics.py"
