# Downloads are jobs of their own (declared outputs), so prepare_dataset's inputs are files on disk.
# They take no `code` param: the sha256 is a download's identity (prepare_dataset reads it as ancient, common.smk).
rule download_came:
    output:
        "resources/came/{wheel}",
    wildcard_constraints:
        wheel=r"came-[^/]+\.whl",
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        "logs/downloads/{wheel}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/download_came.py"


rule download_url:
    output:
        "resources/downloads/{filename}",
    wildcard_constraints:
        filename="|".join(map(re.escape, URL_FILENAMES)) or "(?!)",
    params:
        source=lambda wc: canonical_json(url_source(wc.filename)),
    resources:
        mem_mb=small_mem_mb,
        runtime=lambda wc, attempt: 120 * attempt,
    log:
        "logs/downloads/{filename}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/download_url.py"


rule prepare_dataset:
    input:
        # the user's files (or the downloads) the source reads: replacing one re-prepares the dataset
        source_inputs,
    output:
        "resources/{dataset}/raw.h5ad",
    params:
        code=code_param("prepare_dataset.py"),
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
        code=code_param("preprocess.py"),
        dataset_cfg=lambda wc: dataset_config(wc.dataset),
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
