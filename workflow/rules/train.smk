rule plan_runs:
    output:
        "results/{dataset}/runs.tsv",
    params:
        code=code_param("plan_runs.py"),
        runs=lambda wc: manifest_rows(wc.dataset),
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/{dataset}/plan_runs.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/plan_runs.py"


rule train:
    input:
        preprocessed="results/{dataset}/preprocessed.h5ad",
        # an external embedding's file (none for other kinds)
        external=external_inputs,
    output:
        embedding=f"{RUN_DIR}/embedding.h5ad",
        history=f"{RUN_DIR}/history.tsv",
        info=f"{RUN_DIR}/run_info.json",
        # the saved model (save_model: true; empty otherwise): declared, so a rerun replaces it
        model=directory(f"{RUN_DIR}/model"),
    params:
        code=train_code,  # what the run's model kind runs (sysvi_bench.fingerprint)
        # the run (kind, seed, parameters) as canonical JSON: a change retrains exactly this run
        run=run_param,
        obs_keys=lambda wc: dataset_keys_of(wc.dataset),
        accelerator=config["accelerator"],
        checkpoints=checkpoints_of,
    threads: config["threads"]["train"]
    # the longest training first: a long run started last would leave the other cores idle at the end
    priority: train_priority
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
