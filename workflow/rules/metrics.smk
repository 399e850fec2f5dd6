rule metrics:
    input:
        preprocessed="results/{dataset}/preprocessed.h5ad",
        embeddings=lambda wc: [f"{d}/embedding.h5ad" for d in run_dirs(wc.dataset)],
        infos=lambda wc: [f"{d}/run_info.json" for d in run_dirs(wc.dataset)],
    output:
        table="results/{dataset}/metrics.tsv",
        info="results/{dataset}/metrics_info.json",
    params:
        runs=lambda wc: runs_of(wc.dataset),
        run_dirs=lambda wc: run_dirs(wc.dataset),
        evaluation=config["evaluation"],
    threads: config["threads"]["metrics"]
    resources:
        mem_mb=metrics_mem_mb,
        runtime=metrics_runtime,
    log:
        "logs/{dataset}/metrics.log",
    benchmark:
        "results/{dataset}/benchmarks/metrics.tsv"
    conda:
        "../../envs/metrics.yaml"
    script:
        "../scripts/metrics.py"
