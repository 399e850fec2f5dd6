import numpy as np

from sysvi_bench import contracts as C
from sysvi_bench.score.cell_types import cross_system_mixing
from sysvi_bench.report.mixing_figure import cell_type_mixing_figure
from sysvi_bench.report.panels import mixing_panels
from sysvi_bench.report.plotting import controls_of, with_shows
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    variant = snakemake.params.variant
    best = C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS)
    panels = mixing_panels(best)
    # read as a file, not through sysvi_bench.score.suite (whose libraries the report env does not hold)
    reference = C.read_h5ad_checked(snakemake.input.reference, C.REFERENCE)
    labelled = np.asarray(reference.obs["labelled"], dtype=bool)
    obs = reference.obs.loc[labelled, [C.SYSTEM, C.LABEL]].astype(str)
    types = {s: sorted(set(g[C.LABEL])) for s, g in obs.groupby(C.SYSTEM)}
    paths = iter(snakemake.input.tables)
    tables, subtitles = {}, {}
    for name, run_id in panels.items():
        if run_id is None:  # the reference's unintegrated PCA graph (of the labelled cells): what every run is compared with
            tables[name] = cross_system_mixing(np.asarray(reference.uns["knn_indices"]), obs[C.SYSTEM], obs[C.LABEL])
            subtitles[name] = "evaluation reference: k-NN graph of the preprocessed PCA"
            continue
        table = C.read_table(next(paths), C.CELL_TYPE_MIXING)
        tables[name] = table[table["embedding_variant"] == variant]
        subtitles[name] = f"{run_id} ({variant})"
    print(f"mixing heatmaps of {list(panels)}")
    cell_type_mixing_figure(tables, types, [snakemake.output.png, snakemake.output.pdf], subtitles=subtitles,
                            controls=controls_of(best),
                            title=with_shows(f"{dataset}: which cell types are mixed across systems (best run per "
                                             "model)", variant, snakemake.params.best_by))
