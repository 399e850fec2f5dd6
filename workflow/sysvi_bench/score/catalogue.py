"""Every metric the benchmark reports: its type, direction and meaning. Pure Python (no numeric imports),
so the aggregation step, whose environment has only numpy/pandas, can read it too.

Three suites are reported for every run and embedding variant (the ``metric`` column of the long tables):

* ``scib``: scib-metrics' default suite with the system as the batch (:data:`SCIB_DESCRIPTIONS`);
* ``paper``: the sysVI paper's metrics (:data:`PAPER_METRICS`, computed in :mod:`sysvi_bench.score.paper`);
* ``cell_types``: which cell types are mixed across systems and label transfer between systems
  (:data:`CELL_TYPE_METRICS`, :mod:`sysvi_bench.score.cell_types`; not aggregated).

Three paper metrics measure the same quantity as a scib-metrics one (``scib_twin``; the LISI twins differ only
in whether a cell counts as its own neighbour); the twin is left out of the bio/batch aggregates so that no
quantity is counted twice. Also left out (:func:`in_aggregate`): the sd over Leiden seeds (noise, not quality)
and the per-system within-system sample iLISI (``ilisi_sample_within_system__<system>``, whose mean over
systems is already in), and ``jaccard_neighbors``, which rewards no integration by construction
(``rewards_no_integration``). The aggregate step also leaves out a metric saturated on a dataset.
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
        Name of the scib-metrics metric measuring the same quantity, if any.
    in_aggregate
        Whether the metric enters the ``bio``/``batch`` means of the summary.
    rewards_no_integration
        True for a metric on which the unintegrated data scores best by construction (it compares the
        embedding with the unintegrated PCA): reported, but left out of ``bio``/``batch``/``total``
        (:func:`exclusion_reason`), since it would pull every aggregate towards not integrating.
    """

    name: str
    type: Literal["bio", "batch"]
    higher_is_better: bool
    description: str
    scib_twin: str | None = None
    in_aggregate: bool = True
    rewards_no_integration: bool = False


ILISI_SAMPLE = "ilisi_sample_within_system"
PER_SYSTEM_SEP = "__"  # per-system metric names: <metric>__<system>


def per_system_name(metric: str, system: str) -> str:
    """Name of a metric's value for one system, e.g. ``ilisi_sample_within_system__human``."""
    return f"{metric}{PER_SYSTEM_SEP}{system}"


PAPER_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("ilisi_system", "batch", True,
               "iLISI of systems, scaled (LISI-1)/(n_systems-1), median over cells", scib_twin="ilisi_knn"),
    MetricSpec("ilisi_system_macro", "batch", True,
               "iLISI of systems, scaled, median per cell type then mean over cell types"),
    MetricSpec(ILISI_SAMPLE, "batch", True,
               "iLISI of samples on each system's own k-NN graph, scaled, median; mean over systems"),
    MetricSpec("nmi_leiden", "bio", True,
               "NMI of Leiden clusters vs cell types, best over resolutions 0.2-2.0; mean over Leiden seeds"),
    MetricSpec("ari_leiden", "bio", True,
               "ARI of Leiden clusters vs cell types, best over resolutions 0.2-2.0; mean over Leiden seeds"),
    MetricSpec("nmi_leiden_sd", "bio", False, "sd over Leiden seeds of nmi_leiden (clustering noise; NA for one seed)",
               in_aggregate=False),
    MetricSpec("ari_leiden_sd", "bio", False, "sd over Leiden seeds of ari_leiden (clustering noise; NA for one seed)",
               in_aggregate=False),
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
               "mean per cell type then over types", rewards_no_integration=True),
)
PAPER_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in PAPER_METRICS)

# Which cell types are mixed across systems, and label transfer between systems
# (:mod:`sysvi_bench.score.cell_types`; suite ``cell_types``). Reported and drawn, not aggregated: the
# paper's selection (NMI, Moran's I, iLISI) does not use them, ``cross_system_same_type`` is computed only on
# the cells that have cross-system neighbours (an embedding that hardly mixes scores it on a few cells), and
# adding them would change every existing total (docs/metrics.md).
CELL_TYPE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("cross_system_same_type", "bio", True,
               "of a cell's nearest neighbours from other systems that have its cell type (at most as many as "
               "they have cells of it), the share of its own type; mean over cells with such neighbours",
               in_aggregate=False),
    MetricSpec("label_transfer_f1", "bio", True,
               "k-NN (k=15, each type's window bounded by its reference size) label transfer from each system "
               "to each other: macro-F1 over cell types with >= 3 cells in both, mean over ordered system pairs",
               in_aggregate=False),
)

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



def per_system_metrics(systems) -> tuple[MetricSpec, ...]:
    """The per-system rows of a dataset with these systems (sorted): ``ilisi_sample_within_system__<system>``,
    type ``batch``, not in the aggregates (their mean over systems is ``ilisi_sample_within_system``)."""
    return tuple(
        MetricSpec(per_system_name(ILISI_SAMPLE, str(system)), "batch", True,
                   f"iLISI of samples on the k-NN graph of system {system} alone, scaled, median",
                   in_aggregate=False)
        for system in sorted({str(s) for s in systems})
    )



def is_auxiliary(metric: str) -> bool:
    """A per-system row or a noise row (sd over Leiden seeds): reported, but neither a quality of its own nor
    aggregated (scib-metrics twins are full metrics, only not counted twice)."""
    return PER_SYSTEM_SEP in metric or metric in {m.name for m in PAPER_METRICS if not m.in_aggregate}


def in_aggregate(metric: str) -> bool:
    """Whether a metric enters the bio/batch aggregates: it has no :func:`exclusion_reason` (the one list of
    reasons). Whether a metric is saturated on a dataset is decided by the aggregate step
    (:func:`sysvi_bench.aggregate.selection.aggregated_metrics`).
    """
    return exclusion_reason(metric) == ""


# Metrics on which the unintegrated data scores best by construction (MetricSpec.rewards_no_integration)
REWARDS_NO_INTEGRATION: frozenset[str] = frozenset(m.name for m in PAPER_METRICS if m.rewards_no_integration)


def exclusion_reason(metric: str) -> str:
    """Why ``metric`` is not in the bio/batch aggregates by its definition ("" when it is): the catalogue's
    reasons; saturation on a dataset is the aggregate step's."""
    twins = {m.scib_twin: m.name for m in PAPER_METRICS if m.scib_twin}
    if metric in REWARDS_NO_INTEGRATION:
        return ("rewards no integration: compares the embedding's neighbourhoods with the unintegrated PCA's, "
                "so the unintegrated run scores best by construction")
    if metric in twins:
        return f"scib-metrics twin of {twins[metric]} (the same quantity is counted once)"
    if PER_SYSTEM_SEP in metric:
        return f"per-system row (its mean over systems, {metric.split(PER_SYSTEM_SEP)[0]}, is aggregated)"
    if metric in {m.name for m in PAPER_METRICS if not m.in_aggregate}:
        return "sd over Leiden seeds (clustering noise, not a quality)"
    if metric in {m.name for m in CELL_TYPE_METRICS if not m.in_aggregate}:
        return "cell-type metric: reported, not aggregated (docs/metrics.md)"
    return ""


# Metrics that do not use cell types: with unlabelled cells they are computed on every cell, the rest on
# the labelled cells only (scib-metrics' iLISI and PCR, the paper's system and within-system sample iLISI).
LABEL_FREE: frozenset[str] = frozenset({"ilisi_knn", "pcr_comparison", "ilisi_system", ILISI_SAMPLE})


def is_label_free(metric: str) -> bool:
    """Whether a metric (or a scib-metrics function) is computed without cell types: :data:`LABEL_FREE` and the
    per-system rows of the within-system sample iLISI."""
    return metric in LABEL_FREE or metric.startswith(ILISI_SAMPLE + PER_SYSTEM_SEP)

# The paper's model-selection score on min-max scaled values: 0.6 * mean(bio) + 0.4 * mean(batch) of these.
SELECTION_BIO: tuple[str, ...] = ("nmi_leiden", "moransi_preservation")
SELECTION_BATCH: tuple[str, ...] = ("ilisi_system",)
SELECTION_BIO_WEIGHT = 0.6
