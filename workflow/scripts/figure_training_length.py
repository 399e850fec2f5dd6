from sysvi_bench import contracts as C
from sysvi_bench.report.figures import training_length
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    training_length(C.read_table(snakemake.input.scores, C.SCORES_BY_EPOCH),
                    C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS),
                    [snakemake.output.png, snakemake.output.pdf],
                    title=f"{dataset}: each model's best setting over its training (median run)",
                    best_by=snakemake.params.best_by, variant=snakemake.params.variant)
