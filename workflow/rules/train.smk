rule train:
    input:
        "results/{dataset}/preprocessed.h5ad",
    output:
        embedding=f"{RUN_DIR}/embedding.h5ad",
        history=f"{RUN_DIR}/history.tsv",
        params=f"{RUN_DIR}/params.json",
        info=f"{RUN_DIR}/run_info.json",
    params:
        run=run_of,
        dataset_cfg=lambda wc: config["datasets"][wc.dataset],
        accelerator=config["accelerator"],
    threads: config["threads"]["train"]
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    log:
        "logs/{dataset}/train/{run_id}.log",
    benchmark:
        f"{RUN_DIR}/benchmark_train.tsv"
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/train.py"
