rule prepare_dataset:
    output:
        "resources/{dataset}/raw.h5ad",
    params:
        dataset_cfg=lambda wc: config["datasets"][wc.dataset],
    log:
        "logs/{dataset}/prepare_dataset.log",
    conda:
        "../../envs/sysvi-bench.yaml"
    script:
        "../scripts/prepare_dataset.py"


rule preprocess:
    input:
        "resources/{dataset}/raw.h5ad",
    output:
        "results/{dataset}/preprocessed.h5ad",
    params:
        dataset_cfg=lambda wc: config["datasets"][wc.dataset],
    threads: config["threads"]["preprocess"]
    log:
        "logs/{dataset}/preprocess.log",
    benchmark:
        "results/{dataset}/benchmarks/preprocess.tsv"
    conda:
        "../../envs/sysvi-bench.yaml"
    script:
        "../scripts/preprocess.py"
