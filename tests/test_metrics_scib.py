"""The scib-metrics suite as the pipeline drives it: scib-metrics' own values, shared work computed once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scib_metrics
import scib_metrics.metrics._silhouette as silhouette_module

from sysvi_bench.score.scib import scib_metrics_long, scib_suite

SILHOUETTE_METRICS = {"silhouette_label", "isolated_labels"}


def test_label_silhouettes_are_computed_once_with_scib_metrics_own_values(monkeypatch):
    rng = np.random.default_rng(0)
    labels = pd.Series(rng.choice(["a", "b", "c"], 200))
    batch = pd.Series(np.where(labels == "c", "x", rng.choice(["x", "y"], 200)))  # "c" is isolated
    x = (rng.normal(size=(200, 5)) + pd.get_dummies(labels).to_numpy() @ rng.normal(size=(3, 5))).astype(np.float32)
    expected = {"silhouette_label": scib_metrics.silhouette_label(x, labels.to_numpy()),
                "isolated_labels": scib_metrics.isolated_labels(x, labels.to_numpy(), batch.to_numpy())}
    calls = []
    original = silhouette_module.silhouette_samples
    monkeypatch.setattr(silhouette_module, "silhouette_samples", lambda *a, **k: calls.append(1) or original(*a, **k))

    skip = {name for name, _, _ in scib_suite()} - SILHOUETTE_METRICS
    table = scib_metrics_long({"raw": x}, x, batch, labels, skip=skip).set_index("metric")["value"]
    assert set(table.index) == SILHOUETTE_METRICS
    for metric, value in expected.items():
        assert table[metric] == float(value), metric
    assert len(calls) == 1  # both metrics' O(n^2) silhouettes: one computation
    assert silhouette_module.silhouette_samples is not original  # monkeypatch's wrapper put back, not ours
