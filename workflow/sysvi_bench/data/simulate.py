"""A deterministic simulated cross-system count dataset.

Written by hand: no maintained library simulates *system* effects of the kind sysVI targets
(gene-specific log-fold shifts plus system-specific genes on top of cell types), and Splatter is R-only.

Generative model (log scale, per gene g and cell c of type t, system s, sample p):
    log mu_gc = base_g + type_tg + gradient_c * program_tg + system_sg + sample_pg
counts ~ NegativeBinomial(mean = library_c * softmax_g(log mu_gc), dispersion theta).
``gradient_c`` ~ U(-1, 1) is a within-cell-type programme (the biology sysVI should keep).
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse


CELLS_PER_BLOCK = 20_000  # ~320 MB of dense float64 means per block at 2,000 genes


@dataclass(frozen=True)
class SimulationParams:
    n_cells: int = 3000
    n_genes: int = 2000
    n_cell_types: int = 6
    n_systems: int = 2
    n_samples_per_system: int = 3
    system_effect: float = 1.0  # sd of the log-fold shift of affected genes between systems
    system_gene_fraction: float = 0.3  # fraction of genes shifted by the system
    system_specific_gene_fraction: float = 0.02  # fraction of genes expressed in one system only
    marker_fraction: float = 0.05  # fraction of genes that mark each cell type
    program_genes: int = 30  # genes of each type's within-type gradient
    sample_effect: float = 0.1
    mean_library_size: float = 3000.0
    dispersion: float = 10.0
    seed: int = 0


def simulate(params: SimulationParams) -> ad.AnnData:
    """Simulate raw counts with systems, samples, cell types and within-type gradients.

    Returns
    -------
    AnnData, ``X`` float32 CSR integer counts; obs ``system``, ``sample``, ``cell_type`` and
    ``gradient`` (the true within-type programme score); ``var["system_shift"]`` (true shift of the
    last system vs the first) and ``var["system_specific"]``.
    """
    p = params
    if p.n_systems < 2:
        raise ValueError("simulate.n_systems: a cross-system dataset needs at least 2 systems")
    rng = np.random.default_rng(p.seed)
    n_markers = max(1, int(p.marker_fraction * p.n_genes))

    base = rng.normal(0.0, 1.2, p.n_genes)
    type_effect = rng.normal(0.0, 0.2, (p.n_cell_types, p.n_genes))
    program = np.zeros((p.n_cell_types, p.n_genes))
    for t in range(p.n_cell_types):
        markers = rng.choice(p.n_genes, n_markers, replace=False)
        type_effect[t, markers] += rng.normal(2.0, 0.5, n_markers)
        prog = rng.choice(p.n_genes, min(p.program_genes, p.n_genes), replace=False)
        program[t, prog] = rng.choice([-1.5, 1.5], prog.size)

    system_effect = np.zeros((p.n_systems, p.n_genes))
    affected = rng.random((p.n_systems, p.n_genes)) < p.system_gene_fraction
    system_effect[1:] = (rng.normal(0.0, p.system_effect, (p.n_systems, p.n_genes)) * affected)[1:]
    n_specific = int(p.system_specific_gene_fraction * p.n_genes)
    specific = rng.choice(p.n_genes, n_specific * p.n_systems, replace=False).reshape(p.n_systems, n_specific)
    for s in range(p.n_systems):
        for other in range(p.n_systems):
            if other != s:
                system_effect[other, specific[s]] = -8.0  # silent outside its own system
    n_samples = p.n_systems * p.n_samples_per_system
    sample_effect = rng.normal(0.0, p.sample_effect, (n_samples, p.n_genes))

    type_probs = rng.dirichlet(np.full(p.n_cell_types, 5.0))
    system = rng.integers(0, p.n_systems, p.n_cells)
    sample = system * p.n_samples_per_system + rng.integers(0, p.n_samples_per_system, p.n_cells)
    cell_type = rng.choice(p.n_cell_types, p.n_cells, p=type_probs)
    gradient = rng.uniform(-1.0, 1.0, p.n_cells)
    library = rng.lognormal(np.log(p.mean_library_size), 0.3, p.n_cells)

    # counts in blocks of cells: dense per-gene means of a block, sparse counts kept (1M cells fit in memory)
    blocks = []
    for start in range(0, p.n_cells, CELLS_PER_BLOCK):
        c = slice(start, start + CELLS_PER_BLOCK)
        log_mu = (base + type_effect[cell_type[c]] + gradient[c, None] * program[cell_type[c]]
                  + system_effect[system[c]] + sample_effect[sample[c]])
        log_mu -= log_mu.max(axis=1, keepdims=True)
        mu = np.exp(log_mu)
        mu *= (library[c] / mu.sum(axis=1))[:, None]
        blocks.append(sparse.csr_matrix(rng.poisson(rng.gamma(p.dispersion, mu / p.dispersion)).astype(np.float32)))
    counts = sparse.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    del blocks

    obs = pd.DataFrame(
        {
            "system": pd.Categorical([f"system_{s}" for s in system]),
            "sample": pd.Categorical([f"system_{s}_sample_{q % p.n_samples_per_system}" for s, q in zip(system, sample)]),
            "cell_type": pd.Categorical([f"type_{t}" for t in cell_type]),
            "gradient": gradient,
        },
        index=[f"cell_{i:06d}" for i in range(p.n_cells)],
    )
    var = pd.DataFrame(
        {
            "system_shift": system_effect[-1] - system_effect[0],
            "system_specific": np.isin(np.arange(p.n_genes), specific),
        },
        index=[f"gene_{g:05d}" for g in range(p.n_genes)],
    )
    adata = ad.AnnData(counts, obs=obs, var=var)
    adata.uns["source"] = {"kind": "simulate", **params.__dict__}
    return adata
