from sysvi_bench import contracts as C
from sysvi_bench.report.figures import batch_bio_scatter
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    batch_bio_scatter(
        C.read_table(snakemake.input.summary, C.SUMMARY),
        [snakemake.output.png, snakemake.output.pdf],
        best=C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS),
        title=f"{dataset}: batch correction vs bio conservation (one point per run)",
        bio_weight=snakemake.params.bio_weight,
        best_by=snakemake.params.best_by,
        variant=snakemake.params.variant,
    )
