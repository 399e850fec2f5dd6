from pathlib import Path

import anndata as ad
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.figures import best_run_ids, compute_umaps, read_best_settings, read_summary, umap_grid
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    summary = read_summary(snakemake.input.summary)
    chosen = best_run_ids(summary, read_best_settings(snakemake.input.best_settings))
    pre = ad.read_h5ad(snakemake.input.preprocessed)
    obs = pre.obs[[C.SYSTEM, C.LABEL]].astype(str)
    obs[C.LABEL] = obs[C.LABEL].where(pre.obs[C.LABEL].notna().to_numpy(), "(unlabelled)")
    embeddings, subtitles = {}, {}
    kinds = summary.set_index("run_id")["kind"].to_dict()
    if "pca" not in {kinds.get(r) for r in chosen.values()}:
        embeddings["unintegrated PCA"] = pre.obsm[C.PCA_KEY]  # the reference, when no PCA run is configured
        subtitles["unintegrated PCA"] = "preprocessed obsm['X_pca']"
    run_dir = {Path(p).parent.name: Path(p) for p in snakemake.input.embeddings}
    for model, run_id in chosen.items():
        emb = ad.read_h5ad(run_dir[run_id])
        embeddings[model] = pd.DataFrame(emb.obsm[C.EMBEDDING_KEY], index=emb.obs_names).loc[obs.index].to_numpy()
        subtitles[model] = run_id
    print(f"UMAP of {len(embeddings)} embeddings: {subtitles}")
    idx, coords = compute_umaps(embeddings, max_cells=snakemake.params.max_cells, seed=snakemake.params.seed)
    note = f" ({len(idx):,} of {len(obs):,} cells)" if len(idx) < len(obs) else f" ({len(obs):,} cells)"
    umap_grid(coords, obs.iloc[idx], [snakemake.output.png, snakemake.output.pdf], subtitles=subtitles,
              title=f"{dataset}: UMAP of the best run per model{note}")
