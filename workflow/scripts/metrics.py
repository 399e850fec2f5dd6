import anndata as ad

from sysvi_bench.io import write_json, write_tsv
from sysvi_bench.metrics.score import metrics_info, score_dataset
from sysvi_bench.smk import logged

# guarded: the scoring workers are spawned processes, which re-import this script
if __name__ == "__main__":
    with logged(snakemake.log[0]):
        table = score_dataset(
            snakemake.params.runs,
            ad.read_h5ad(snakemake.input.preprocessed),
            snakemake.params.run_dirs,
            snakemake.params.evaluation,
            workers=snakemake.threads,
            # not a param: a new cache folder must not make the metrics rerun
            cache_dir=snakemake.config["compile_cache"],
        )
        write_tsv(table, snakemake.output.table)
        write_json(metrics_info(snakemake.params.evaluation), snakemake.output.info)
