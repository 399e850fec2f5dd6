from sysvi_bench.report.figures import batch_bio_scatter, read_best_settings, read_summary
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    batch_bio_scatter(
        read_summary(snakemake.input.summary),
        [snakemake.output.png, snakemake.output.pdf],
        best=read_best_settings(snakemake.input.best_settings),
        title=f"{dataset}: batch correction vs bio conservation (one point per run)",
        bio_weight=snakemake.params.bio_weight,
    )
