"""Every metric the benchmark reports: its type, direction and meaning. Pure Python (no numeric imports),
so the aggregation step, whose environment has only numpy/pandas, can read it too.

Two suites are reported for every run and embedding variant (the ``metric`` column of the long tables):

* ``scib``: scib-metrics' default suite with the system as the batch (:data:`SCIB_DESCRIPTIONS`);
* ``paper``: the sysVI paper's metrics (:data:`PAPER_METRICS`, computed in :mod:`sysvi_bench.metrics.paper`).

Three paper metrics have the same definition as a scib-metrics one (``scib_twin``); the twin is left out of the
bio/batch aggregates (:data:`AGGREGATE_EXCLUDED`) so that no quantity is counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricSpec:
    """What a metric measures and how to read it.

    Attributes
    ----------
    name
        Metric id (the ``metric`` column of the long table).
    type
        ``bio`` (biological conservation) or ``batch`` (system/batch correction).
    higher_is_better
        Direction: True if larger values mean a better integration.
    description
        One line for tables and docs.
    scib_twin
        Name of the scib-metrics metric with the same definition, if any.
    """

    name: str
    type: Literal["bio", "batch"]
    higher_is_better: bool
    description: str
    scib_twin: str | None = None


PAPER_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("ilisi_system", "batch", True,
               "iLISI of systems, scaled (LISI-1)/(n_systems-1), median over cells", scib_twin="ilisi_knn"),
    MetricSpec("ilisi_system_macro", "batch", True,
               "iLISI of systems, scaled, median per cell type then mean over cell types"),
    MetricSpec("ilisi_sample_within_system", "batch", True,
               "iLISI of samples on each system's own k-NN graph, scaled, median; mean over systems"),
    MetricSpec("nmi_leiden", "bio", True, "NMI of Leiden clusters vs cell types, best over resolutions 0.2-2.0"),
    MetricSpec("ari_leiden", "bio", True, "ARI of Leiden clusters vs cell types, best over resolutions 0.2-2.0"),
    MetricSpec("moransi_preservation", "bio", True,
               "within-cell-type gene programmes kept: Moran's I (I+1)/2 integrated / unintegrated, "
               "mean over genes, over the groups of a cell type, then over cell types"),
    MetricSpec("clisi", "bio", True, "cLISI of cell types, scaled (n_labels-LISI)/(n_labels-1), median over cells",
               scib_twin="clisi_knn"),
    MetricSpec("asw_label", "bio", True, "cell-type silhouette width, rescaled (ASW+1)/2, mean over cells",
               scib_twin="silhouette_label"),
    MetricSpec("knn_purity", "bio", True,
               "fraction of a cell's 30 nearest neighbours of its own cell type, mean per type then over types"),
    MetricSpec("jaccard_neighbors", "bio", True,
               "Jaccard index of same-system neighbourhoods before (unintegrated PCA) vs after integration, "
               "mean per cell type then over types"),
)
PAPER_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in PAPER_METRICS)

# What each default scib-metrics metric measures (all oriented so that higher is better).
SCIB_DESCRIPTIONS: dict[str, str] = {
    "isolated_labels": "silhouette of the cell types present in the fewest systems",
    "nmi_ari_cluster_labels_kmeans_nmi": "NMI of k-means clusters (k = number of cell types) vs cell types",
    "nmi_ari_cluster_labels_kmeans_ari": "ARI of k-means clusters (k = number of cell types) vs cell types",
    "nmi_ari_cluster_labels_leiden_nmi": "NMI of Leiden clusters vs cell types (scib-metrics' optimisation)",
    "nmi_ari_cluster_labels_leiden_ari": "ARI of Leiden clusters vs cell types (at the NMI-best resolution)",
    "silhouette_label": "cell-type silhouette width, rescaled to [0, 1]",
    "clisi_knn": "cLISI of cell types, scaled to [0, 1], median over cells",
    "bras": "batch removal adapted silhouette: systems within cell types",
    "ilisi_knn": "iLISI of systems, scaled to [0, 1], median over cells",
    "kbet_per_label": "kBET acceptance rate of systems within cell types",
    "graph_connectivity": "connectedness of each cell type's k-NN subgraph",
    "pcr_comparison": "drop in variance explained by the system, unintegrated PCA vs embedding",
}

# Metrics that do not use cell types: with unlabelled cells they are computed on every cell, the rest on
# the labelled cells only (scib-metrics' iLISI and PCR, the paper's system and within-system sample iLISI).
LABEL_FREE: frozenset[str] = frozenset({"ilisi_knn", "pcr_comparison", "ilisi_system", "ilisi_sample_within_system"})

# Left out of the bio/batch aggregates: scib-metrics twins of paper metrics (same definition).
AGGREGATE_EXCLUDED: frozenset[str] = frozenset(m.scib_twin for m in PAPER_METRICS if m.scib_twin)

# The paper's model-selection score on min-max scaled values: 0.6 * mean(bio) + 0.4 * mean(batch) of these.
SELECTION_BIO: tuple[str, ...] = ("nmi_leiden", "moransi_preservation")
SELECTION_BATCH: tuple[str, ...] = ("ilisi_system",)
SELECTION_BIO_WEIGHT = 0.6
