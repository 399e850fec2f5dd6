import anndata as ad

from sysvi_bench import contracts as C
from sysvi_bench.report.umap import umap_grid
from sysvi_bench.report.panels import umap_panels
from sysvi_bench.report.plotting import controls_of, shows
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    best = C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS)
    # the same panels, in the same order, as the rule's input function asked the UMAP tables for
    panels = umap_panels(C.read_table(snakemake.input.summary, C.SUMMARY), best)
    pre = ad.read_h5ad(snakemake.input.preprocessed, backed="r")
    obs = pre.obs[[C.SYSTEM, C.LABEL]].astype(str)
    obs[C.LABEL] = obs[C.LABEL].where(pre.obs[C.LABEL].notna().to_numpy(), "(unlabelled)")
    tables = [C.read_table(path, C.UMAP) for path in snakemake.input.umaps]
    cells = tables[0]["cell"] if tables else obs.index[:0]
    for path, table in zip(snakemake.input.umaps, tables):
        if not table["cell"].equals(cells):
            raise C.ContractError(f"{path}: its cells differ from those of {snakemake.input.umaps[0]}")
    coords = {name: table[["umap1", "umap2"]].to_numpy() for name, table in zip(panels, tables)}
    subtitles = {name: run_id or "preprocessed obsm['X_pca']" for name, run_id in panels.items()}
    print(f"UMAP of {len(coords)} embeddings: {subtitles}")
    note = f" ({len(cells):,} of {len(obs):,} cells)" if len(cells) < len(obs) else f" ({len(obs):,} cells)"
    # the UMAP is of each run's raw embedding (rule umap: obsm X_emb); the runs are chosen on the metrics of
    # the summary's variant by best_by
    chosen = shows(snakemake.params.variant, snakemake.params.best_by)
    umap_grid(coords, obs.loc[cells], [snakemake.output.png, snakemake.output.pdf], subtitles=subtitles,
              controls=controls_of(best),
              title=f"{dataset}: UMAP of the raw embedding of the best run per model{note}\n"
                    f"runs chosen on {chosen}")
