rule prepare_dataset:
    output:
        "resources/{dataset}/raw.h5ad",
    params:
        dataset_cfg=lambda wc: fetch_config(wc.dataset),
    resources:
        mem_mb=prepare_mem_mb,
        runtime=prepare_runtime,
    log:
        "logs/{dataset}/prepare_dataset.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/prepare_dataset.py"


rule preprocess:
    input:
        "resources/{dataset}/raw.h5ad",
    output:
        h5ad="results/{dataset}/preprocessed.h5ad",
        report="results/{dataset}/preprocess_report.tsv",
    params:
        dataset_cfg=lambda wc: config["datasets"][wc.dataset],
    threads: config["threads"]["preprocess"]
    resources:
        mem_mb=preprocess_mem_mb,
        runtime=preprocess_runtime,
    log:
        "logs/{dataset}/preprocess.log",
    benchmark:
        "results/{dataset}/benchmarks/preprocess.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/preprocess.py"
