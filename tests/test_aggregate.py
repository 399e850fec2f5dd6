"""Aggregation on hand-made tables: direction-aware min-max scaling, aggregates, best setting, median run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import best_settings, compare_seeds, recommendation, scale_metrics, summarize
from sysvi_bench.aggregate.convergence import convergence_table


def long_table(values: dict[str, dict[str, float]], types: dict[str, str], lower_is_better=(), dataset="d",
               variant="raw") -> pd.DataFrame:
    """``values[run_id][metric]`` -> long metric rows (model and seed parsed from the run id)."""
    rows = []
    for run_id, metrics in values.items():
        model, seed = run_id.split("__")[0], int(run_id.rsplit("seed=", 1)[1]) if "seed=" in run_id else 0
        for metric, value in metrics.items():
            rows.append({"dataset": dataset, "run_id": run_id, "model": model, "kind": model, "seed": seed,
                         "metric": metric, "type": types[metric], "embedding_variant": variant, "value": value,
                         "higher_is_better": metric not in lower_is_better, "reason": ""})
    return pd.DataFrame(rows)[C.METRIC_COLUMNS]


def run_rows(run_ids, dataset="d", failed=()):
    return pd.DataFrame([{"dataset": dataset, "run_id": r, "model": r.split("__")[0], "kind": r.split("__")[0],
                          "control": r.split("__")[0] in ("shuffled", "celltype"),
                          "seed": int(r.rsplit("seed=", 1)[1]) if "seed=" in r else None,
                          "status": C.STATUS_FAILED if r in failed else C.STATUS_OK,
                          "setting": r.rsplit("__seed=", 1)[0]} for r in run_ids])


def test_min_max_scaling_is_per_dataset_and_metric_and_follows_the_direction(tmp_path):
    types = {"up": "bio", "down": "batch", "flat": "bio"}
    values = {"a": {"up": 1.0, "down": 1.0, "flat": 3.0}, "b": {"up": 2.0, "down": 2.0, "flat": 3.0},
              "c": {"up": 5.0, "down": 5.0, "flat": 3.0}, "failed": {"up": np.nan, "down": np.nan, "flat": np.nan}}
    table = pd.concat([long_table(values, types, lower_is_better={"down"}),
                       long_table({"x": {"up": 10.0, "down": 0.0, "flat": 1.0},
                                   "y": {"up": 20.0, "down": 1.0, "flat": 2.0}},
                                  types, lower_is_better={"down"}, dataset="other")])
    scaled = scale_metrics(table).set_index(["dataset", "run_id", "metric"])["scaled"]
    assert [scaled["d", r, "up"] for r in "abc"] == [0.0, 0.25, 1.0]
    assert [scaled["d", r, "down"] for r in "abc"] == [1.0, 0.75, 0.0]  # lower is better: smallest value -> 1
    assert [scaled["d", r, "flat"] for r in "abc"] == [0.5] * 3  # no spread: neutral
    assert np.isnan(scaled["d", "failed", "up"])
    assert (scaled["other", "x", "up"], scaled["other", "y", "up"]) == (0.0, 1.0)  # its own dataset's range
    # the direction read back from a TSV is typed by the contract
    C.write_table(table, tmp_path / "metrics.tsv", C.METRICS)
    read_back = C.read_table(tmp_path / "metrics.tsv", C.METRICS)
    assert read_back["higher_is_better"].dtype == "boolean"
    assert np.allclose(scale_metrics(read_back)["scaled"], scale_metrics(table)["scaled"], equal_nan=True)


def test_summary_aggregates_scaled_values_and_leaves_out_scib_twins():
    types = {"nmi_leiden": "bio", "moransi_preservation": "bio", "ilisi_system": "batch", "ilisi_knn": "batch",
             "kbet_per_label": "batch"}
    values = {
        "m__seed=0": {"nmi_leiden": 0.9, "moransi_preservation": 0.9, "ilisi_system": 0.1, "ilisi_knn": 0.0,
                      "kbet_per_label": 0.1},
        "m__seed=1": {"nmi_leiden": 0.5, "moransi_preservation": 0.7, "ilisi_system": 0.5, "ilisi_knn": 1.0,
                      "kbet_per_label": 0.3},
        "bad__seed=0": {k: np.nan for k in types},
    }
    runs = run_rows(values, failed={"bad__seed=0"})
    summary = summarize(long_table(values, types), runs, bio_weight=0.7).set_index("run_id")
    assert len(summary) == 3  # one row per run
    first = summary.loc["m__seed=0"]
    assert first["nmi_leiden"] == 0.9 and first["scaled_nmi_leiden"] == 1.0  # raw and scaled both kept
    assert first["bio"] == 1.0
    assert first["batch"] == 0.0  # ilisi_knn (twin of ilisi_system, scaled 1.0 here) is not counted
    assert first["total"] == pytest.approx(0.7)
    assert first["selection_score"] == pytest.approx(0.6 * 1.0 + 0.4 * 0.0)
    second = summary.loc["m__seed=1"]
    assert (second["bio"], second["batch"], second["total"]) == (0.0, 1.0, pytest.approx(0.3))
    assert summary.loc["bad__seed=0", ["bio", "batch", "total", "selection_score"]].isna().all()
    # mean and sd over the seeds of the setting, repeated on each of its runs
    assert first["n_seeds"] == 2 and first["mean_total"] == pytest.approx(0.5)
    assert first["sd_total"] == pytest.approx(np.std([0.7, 0.3], ddof=1))


def summary_for(totals: dict[str, float]) -> pd.DataFrame:
    runs = run_rows(totals)
    runs["total"] = list(totals.values())
    runs["selection_score"] = runs["total"] / 2
    return runs


def test_best_setting_is_the_best_mean_over_seeds_and_its_median_run_is_reported():
    summary = summary_for({
        # setting A holds the single best run but the worse mean
        "sysvi__cyc=2__seed=0": 0.95, "sysvi__cyc=2__seed=1": 0.10, "sysvi__cyc=2__seed=2": 0.20,
        "sysvi__cyc=5__seed=0": 0.60, "sysvi__cyc=5__seed=1": 0.50, "sysvi__cyc=5__seed=2": 0.70,
        # a failed seed is ignored
        "scvi__kl=1__seed=0": 0.30, "scvi__kl=1__seed=1": 0.40, "scvi__kl=1__seed=2": np.nan,
        "pca": 0.2,
    })
    table = best_settings(summary, "total")
    assert list(table.columns) == C.BEST_SETTINGS_COLUMNS and len(table) == 3
    best = table.set_index("model")
    assert best.loc["sysvi", "setting"] == "sysvi__cyc=5"
    assert best.loc["sysvi", "median_run_id"] == "sysvi__cyc=5__seed=0"  # totals 0.5, 0.6, 0.7
    assert best.loc["sysvi", "n_seeds"] == 3
    assert best.loc["sysvi", "mean_total"] == pytest.approx(0.6)
    assert best.loc["sysvi", "sd_total"] == pytest.approx(0.1)
    assert best.loc["sysvi", "mean_selection_score"] == pytest.approx(0.3)
    # even number of scored seeds: the lower middle one
    assert best.loc["scvi", "n_seeds"] == 2 and best.loc["scvi", "median_run_id"] == "scvi__kl=1__seed=0"
    assert best.loc["pca", "median_run_id"] == "pca" and np.isnan(best.loc["pca", "sd_total"])


def test_best_settings_can_rank_by_the_paper_selection_score():
    summary = summary_for({"m__a__seed=0": 0.9, "m__b__seed=0": 0.1})
    summary["selection_score"] = [0.0, 1.0]
    assert best_settings(summary, score="total")["setting"].item() == "m__a"
    assert best_settings(summary, score="selection_score")["setting"].item() == "m__b"
    assert best_settings(summary)["setting"].item() == "m__b"  # the paper's selection score is the default


def test_within_model_scaling_picks_each_models_best_on_its_own_range():
    """Hand-made: model a spans nmi 0.2-0.4, model b 0.8-0.9; iLISI the other way round."""
    types = {"nmi_leiden": "bio", "moransi_preservation": "bio", "ilisi_system": "batch"}
    values = {
        "a__x__seed=0": {"nmi_leiden": 0.2, "moransi_preservation": 0.5, "ilisi_system": 0.9},
        "a__y__seed=0": {"nmi_leiden": 0.4, "moransi_preservation": 0.5, "ilisi_system": 0.8},
        "b__x__seed=0": {"nmi_leiden": 0.8, "moransi_preservation": 0.5, "ilisi_system": 0.1},
        "b__y__seed=0": {"nmi_leiden": 0.9, "moransi_preservation": 0.5, "ilisi_system": 0.3},
    }
    table = long_table(values, types)
    within = scale_metrics(table, "within_model").set_index(["run_id", "metric"])["scaled"]
    assert [within[r, "nmi_leiden"] for r in values] == [0.0, 1.0, 0.0, 1.0]  # each model its own 0..1
    assert [within[r, "ilisi_system"] for r in values] == [1.0, 0.0, 0.0, 1.0]
    across = scale_metrics(table).set_index(["run_id", "metric"])["scaled"]
    assert across["a__y__seed=0", "nmi_leiden"] == pytest.approx(2 / 7)
    summary = summarize(table, run_rows(values), selection_scaling="within_model").set_index("run_id")
    # 0.6 * mean(nmi, moran = 0.5 flat) + 0.4 * ilisi, all scaled within the model
    assert summary["selection_score"].to_dict() == pytest.approx(
        {"a__x__seed=0": 0.6 * 0.25 + 0.4, "a__y__seed=0": 0.6 * 0.75, "b__x__seed=0": 0.6 * 0.25,
         "b__y__seed=0": 0.6 * 0.75 + 0.4})
    best = best_settings(summary.reset_index(), score="selection_score").set_index("model")["setting"]
    assert best.to_dict() == {"a": "a__x", "b": "b__y"}
    # across runs, a's iLISI difference (0.9 vs 0.8) is small next to the range over all runs: a__y wins for a
    across_summary = summarize(table, run_rows(values)).reset_index()
    assert best_settings(across_summary, score="selection_score").set_index("model").loc["a", "setting"] == "a__y"
    with pytest.raises(ValueError, match="selection_scaling"):
        scale_metrics(table, "per_model")


def test_summary_carries_each_runs_convergence():
    types = {"nmi_leiden": "bio"}
    values = {"m__seed=0": {"nmi_leiden": 0.5}, "pca": {"nmi_leiden": 0.1}}
    conv = convergence_table({("d", "m__seed=0"): pd.DataFrame({"epoch": range(20), "elbo_train": 100.0 - np.arange(20)}),
                              ("d", "pca"): None})
    summary = summarize(long_table(values, types), run_rows(values), convergence=conv).set_index("run_id")
    # 83 -> 81 over the last 2 epochs, of a range of 19 (100 -> 81)
    assert summary.loc["m__seed=0", "convergence"] == pytest.approx(2 / 19)
    assert not summary.loc["m__seed=0", "converged"]  # 10.5% > the default 1% tolerance
    assert pd.isna(summary.loc["pca", "convergence"]) and pd.isna(summary.loc["pca", "converged"])
    plain = summarize(long_table(values, types), run_rows(values))
    assert plain["convergence"].isna().all() and plain["converged"].isna().all()


def test_compare_seeds_separates_a_margin_beyond_the_seed_noise():
    seeds = [1, 2, 3]
    best = pd.Series([0.70, 0.72, 0.74], index=seeds)
    clear = compare_seeds(best, pd.Series([0.50, 0.53, 0.53], index=seeds))
    assert clear["diff"] == pytest.approx(0.2)
    assert clear["sd_diff"] == pytest.approx(np.sqrt(0.02 ** 2 / 3 + np.var([0.5, 0.53, 0.53], ddof=1) / 3))
    assert clear["separable"] is True and clear["p_paired"] < 0.01
    from scipy.stats import ttest_rel
    assert clear["p_paired"] == pytest.approx(ttest_rel([0.70, 0.72, 0.74], [0.50, 0.53, 0.53]).pvalue)
    noisy = compare_seeds(best, pd.Series([0.60, 0.75, 0.80], index=seeds))
    assert noisy["separable"] is False and noisy["p_paired"] > 0.05
    single = compare_seeds(pd.Series([0.7], index=[1]), pd.Series([0.6], index=[1]))
    assert single["diff"] == pytest.approx(0.1) and single["separable"] is None and np.isnan(single["p_paired"])
    two = compare_seeds(best.iloc[:2], pd.Series([0.5, 0.4], index=seeds[:2]))
    assert np.isnan(two["p_paired"]) and two["separable"] is True  # < 3 seeds: no test, sd still known


def separability_summary() -> pd.DataFrame:
    """Hand-made summary: sysvi's best setting clearly ahead of its runner-up; sysvi vs scvi within noise."""
    totals = {
        "sysvi__cyc=2__seed=1": 0.80, "sysvi__cyc=2__seed=2": 0.82, "sysvi__cyc=2__seed=3": 0.84,
        "sysvi__cyc=50__seed=1": 0.40, "sysvi__cyc=50__seed=2": 0.42, "sysvi__cyc=50__seed=3": 0.45,
        "scvi__kl=1__seed=1": 0.70, "scvi__kl=1__seed=2": 0.85, "scvi__kl=1__seed=3": 0.80,
        "celltype__seed=1": 0.99, "celltype__seed=2": 0.98, "celltype__seed=3": 0.99,
    }
    return summary_for(totals)


def test_best_settings_say_whether_the_best_is_beyond_seed_noise():
    table = best_settings(separability_summary(), "total").set_index("model")
    sysvi = table.loc["sysvi"]
    assert sysvi["runner_up_setting"] == "sysvi__cyc=50"
    assert sysvi["diff_runner_up"] == pytest.approx(0.82 - np.mean([0.40, 0.42, 0.45]))
    assert sysvi["separable_runner_up"] == True and sysvi["p_paired_runner_up"] < 0.01  # noqa: E712
    # across models (controls not ranked): sysvi 0.82 vs scvi 0.783, seeds overlap
    assert (sysvi["model_rank"], table.loc["scvi", "model_rank"]) == (1, 2) and pd.isna(table.loc["celltype", "model_rank"])
    assert sysvi["next_model"] == "scvi" and sysvi["separable_next_model"] == False  # noqa: E712
    assert sysvi["diff_next_model"] == pytest.approx(0.82 - 0.7833333)
    assert pd.isna(table.loc["scvi", "next_model"]) and pd.isna(table.loc["scvi", "runner_up_setting"])


def test_recommendation_states_the_winner_and_its_margins_in_one_sentence(tmp_path):
    table = best_settings(separability_summary(), "total")
    path = tmp_path / "best_settings.tsv"
    table.to_csv(path, sep="\t", index=False)
    for best in (table, pd.read_csv(path, sep="\t")):  # in memory and read back from the TSV
        text = recommendation(best, "d")
        assert text.startswith("On d: Model: no safe choice yet (it is not ahead of scvi beyond seed noise); "
                               "provisionally sysvi: total 0.820 ± 0.020 over 3 seeds, not separable from scvi by 0.037")
        # no checkpoint and no parameter columns: the settings are named by their ids
        assert "Setting (by total): sysvi__cyc=2, clearly ahead of sysvi__cyc=50 by 0.397" in text and "p = " in text
        assert text.endswith(".") and "\n" not in text and "checkpoint" not in text
    assert recommendation(table, "absent") == "absent: no scored run to recommend."


def test_completeness_reports_missing_and_na_values():
    from sysvi_bench.aggregate.tables import completeness

    info = {"metrics": [{"metric": "a"}, {"metric": "b"}], "evaluation": {"variants": ["raw"]}}
    runs = pd.DataFrame({"dataset": ["d"] * 3, "run_id": ["ok", "failed", "partial"],
                         "status": ["ok", "failed", "ok"], "reason": ["", "ValueError: boom", ""]})
    metrics = pd.DataFrame({
        "dataset": "d", "embedding_variant": "raw",
        "run_id": ["ok", "ok", "failed", "failed", "partial"],
        "metric": ["a", "b", "a", "b", "a"],
        "value": [0.1, 0.2, np.nan, np.nan, np.nan],
        "reason": ["", "", "run failed: ValueError: boom", "run failed: ValueError: boom", "a: ValueError: k > n"],
    })
    gaps = completeness(metrics, runs, info).set_index(["run_id", "metric"])["problem"].to_dict()
    assert gaps == {
        ("failed", "a"): "NA: run failed: ValueError: boom",
        ("failed", "b"): "NA: run failed: ValueError: boom",
        ("partial", "a"): "NA: a: ValueError: k > n",
        ("partial", "b"): "missing row",
    }
    assert completeness(metrics[metrics["run_id"] == "ok"], runs[runs["run_id"] == "ok"], info).empty


def test_a_contract_violation_is_caught_at_write_time_naming_the_file_and_field(tmp_path):
    table = pd.DataFrame({"dataset": ["d"], "status": ["complete"], "n_runs": ["four"], "n_failed_runs": [0],
                          "reason": [""]})
    with pytest.raises(C.ContractError, match=r"datasets.tsv: column 'n_runs' of the dataset status table must be numeric"):
        C.write_table(table, tmp_path / "datasets.tsv", C.DATASETS)
    with pytest.raises(C.ContractError, match=r"datasets.tsv: dataset status table lacks column\(s\) \['reason'\]"):
        C.write_table(table.drop(columns="reason").assign(n_runs=4), tmp_path / "datasets.tsv", C.DATASETS)
    assert not list(tmp_path.iterdir())  # nothing written
    C.write_table(table.assign(n_runs=4), tmp_path / "datasets.tsv", C.DATASETS)
    assert C.read_table(tmp_path / "datasets.tsv", C.DATASETS)["n_runs"].tolist() == [4]


# ------------------------------------------------------------------- controls, effective weights, left-out metrics


def test_controls_never_set_the_scaling_range_and_are_scored_on_the_models_scale():
    types = {"nmi_leiden": "bio", "kbet_per_label": "batch"}
    models = {"a__seed=0": {"nmi_leiden": 0.2, "kbet_per_label": 0.4},
              "b__seed=0": {"nmi_leiden": 0.6, "kbet_per_label": 0.3}}
    controls = {"celltype__seed=0": {"nmi_leiden": 5.0, "kbet_per_label": 0.0},
                "shuffled__seed=0": {"nmi_leiden": -3.0, "kbet_per_label": 0.5}}
    alone = summarize(long_table(models, types, lower_is_better={"kbet_per_label"}), run_rows(models))
    both = {**models, **controls}
    table = long_table(both, types, lower_is_better={"kbet_per_label"})
    summary = summarize(table, run_rows(both)).set_index("run_id")
    for column in ("scaled_nmi_leiden", "scaled_kbet_per_label", "bio", "batch", "total"):
        assert summary.loc[list(models), column].tolist() == pytest.approx(alone.set_index("run_id")[column].tolist())
    assert summary.loc["a__seed=0", "scaled_nmi_leiden"] == 0.0 and summary.loc["b__seed=0", "scaled_nmi_leiden"] == 1.0
    # on the models' scale, not clipped: (5.0 - 0.2) / 0.4 and (-3.0 - 0.2) / 0.4; lower is better for kbet here
    assert summary.loc["celltype__seed=0", "scaled_nmi_leiden"] == pytest.approx(12.0)
    assert summary.loc["shuffled__seed=0", "scaled_nmi_leiden"] == pytest.approx(-8.0)
    assert summary.loc["celltype__seed=0", "scaled_kbet_per_label"] == pytest.approx(1 - (0.0 - 0.3) / 0.1)
    # within-model scaling: a control has no model of its own; it is scored on the compared runs' range
    within = scale_metrics(table, "within_model", {("d", r) for r in controls}).set_index(["run_id", "metric"])
    assert within.loc[("celltype__seed=0", "nmi_leiden"), "scaled"] == pytest.approx(12.0)
    assert within.loc[("a__seed=0", "nmi_leiden"), "scaled"] == 0.5  # a model with one run: no spread


def test_effective_weights_are_each_terms_share_of_the_variance_of_total_over_compared_runs():
    types = {"nmi_leiden": "bio", "ilisi_system": "batch"}
    # bio and batch independent with equal spread: shares w² / (w² + (1-w)²) = 0.36 / 0.52 and 0.16 / 0.52
    values = {"m__x__seed=0": {"nmi_leiden": 0.0, "ilisi_system": 0.0},
              "m__y__seed=0": {"nmi_leiden": 1.0, "ilisi_system": 0.0},
              "m__z__seed=0": {"nmi_leiden": 0.0, "ilisi_system": 1.0},
              "m__w__seed=0": {"nmi_leiden": 1.0, "ilisi_system": 1.0},
              "celltype__seed=0": {"nmi_leiden": 3.0, "ilisi_system": -2.0}}  # a control: no say in the weights
    summary = summarize(long_table(values, types), run_rows(values), bio_weight=0.6)
    # by hand: total = 0, .6, .4, 1 (mean .5); sum of squared deviations .52; cov with .6·bio: .36, with .4·batch: .16
    assert summary["effective_weight_bio"].tolist() == pytest.approx([0.36 / 0.52] * 5)
    assert summary["effective_weight_batch"].tolist() == pytest.approx([0.16 / 0.52] * 5)
    assert (summary["effective_weight_bio"] + summary["effective_weight_batch"]).tolist() == pytest.approx([1.0] * 5)
    # NMI saturated (within 0.001): bio is a constant, and batch carries all of total's variance whatever bio_weight says
    flat_bio = {r: {**v, "nmi_leiden": 0.5} for r, v in values.items() if r.startswith("m__")}
    flat = summarize(long_table(flat_bio | {"m__v__seed=0": {"nmi_leiden": 0.5 + 1e-4, "ilisi_system": 0.3}}, types),
                     run_rows([*flat_bio, "m__v__seed=0"]), bio_weight=0.9)
    assert flat["effective_weight_batch"].iloc[0] > 0.99


def test_jaccard_and_a_saturated_metric_are_reported_but_left_out_of_bio_with_the_reason():
    from sysvi_bench.aggregate.selection import aggregated_metrics, control_runs

    types = {"nmi_leiden": "bio", "jaccard_neighbors": "bio", "clisi": "bio", "ilisi_system": "batch"}
    values = {"pca__seed=0": {"nmi_leiden": 0.5, "jaccard_neighbors": 1.0, "clisi": 1.0, "ilisi_system": 0.0},
              "sysvi__seed=0": {"nmi_leiden": 0.7, "jaccard_neighbors": 0.2, "clisi": 0.9995, "ilisi_system": 0.6},
              "scvi__seed=0": {"nmi_leiden": 0.6, "jaccard_neighbors": 0.4, "clisi": 1.0, "ilisi_system": 0.3},
              # the shuffled control would spread clisi (0.79..1) if it set the range
              "shuffled__seed=0": {"nmi_leiden": 0.0, "jaccard_neighbors": 0.0, "clisi": 0.79, "ilisi_system": 0.9}}
    metrics = pd.concat([long_table(values, types), long_table(values, types, variant="standardized")])
    runs = run_rows(values)
    table = aggregated_metrics(metrics, control_runs(runs))
    C.AGGREGATED_METRICS.check(table, "aggregated_metrics")
    raw = table[table["embedding_variant"] == "raw"].set_index("metric")
    assert raw["in_aggregate"].to_dict() == {"nmi_leiden": True, "jaccard_neighbors": False, "clisi": False,
                                             "ilisi_system": True}
    assert raw.loc["jaccard_neighbors", "reason"].startswith("rewards no integration")
    assert raw.loc["clisi", "reason"].startswith("saturated: every compared run within 0.001")
    assert (raw.loc["clisi", "min_compared"], raw.loc["clisi", "max_compared"]) == (0.9995, 1.0)
    assert raw.loc["nmi_leiden", "n_compared"] == 3 and raw.loc["nmi_leiden", "reason"] == ""
    # the catalogue's own flag and its reasons agree for every metric it knows
    from sysvi_bench.score.catalogue import (CELL_TYPE_METRICS, PAPER_METRICS, SCIB_DESCRIPTIONS, exclusion_reason,
                                             in_aggregate, per_system_metrics)
    names = [*SCIB_DESCRIPTIONS, *(m.name for m in (*PAPER_METRICS, *CELL_TYPE_METRICS, *per_system_metrics(["x"])))]
    assert [in_aggregate(m) for m in names] == [exclusion_reason(m) == "" for m in names]
    assert not in_aggregate("jaccard_neighbors")
    summary = summarize(metrics, runs).set_index("run_id")
    # bio is the scaled NMI alone; clisi and jaccard stay in the table, raw and scaled
    assert summary["bio"].to_dict() == pytest.approx(
        {"pca__seed=0": 0.0, "sysvi__seed=0": 1.0, "scvi__seed=0": 0.5, "shuffled__seed=0": -2.5})
    assert summary.loc["pca__seed=0", "scaled_jaccard_neighbors"] == 1.0 and "scaled_clisi" in summary
    # not saturated on the other variant: its own decision
    other = long_table({**values, "scvi__seed=0": {**values["scvi__seed=0"], "clisi": 0.9}}, types, variant="standardized")
    mixed = aggregated_metrics(pd.concat([long_table(values, types), other]), control_runs(runs)).set_index(
        ["embedding_variant", "metric"])["in_aggregate"]
    assert not mixed["raw", "clisi"] and mixed["standardized", "clisi"]


def test_the_dataset_tables_include_aggregated_metrics_with_its_contract():
    from sysvi_bench.aggregate.tables import DATASET_OUTPUTS

    assert DATASET_OUTPUTS["aggregated_metrics"] is C.AGGREGATED_METRICS
    assert {"effective_weight_bio", "effective_weight_batch"} <= set(C.SUMMARY.columns)


def test_best_by_defaults_to_the_paper_selection_score_and_models_rank_by_a_comparable_score():
    from sysvi_bench.config import aggregation_settings

    assert aggregation_settings({})["best_by"] == "selection_score"
    # a leads on selection_score, b on total; the celltype control tops both but is never ranked
    summary = summary_for({"a__x__seed=1": 0.5, "a__x__seed=2": 0.6, "b__x__seed=1": 0.8, "b__x__seed=2": 0.9,
                           "celltype__seed=1": 0.99, "celltype__seed=2": 0.98})
    summary["selection_score"] = [0.9, 0.8, 0.3, 0.2, 0.95, 0.95]
    table = best_settings(summary).set_index("model")
    assert (table.loc["a", "model_rank"], table.loc["b", "model_rank"]) == (1, 2)
    assert set(table["ranked_by"]) == {"selection_score"} and pd.isna(table.loc["celltype", "model_rank"])
    assert table.loc["a", "diff_next_model"] == pytest.approx(0.85 - 0.25)  # on the selection score
    # within-model scaling: selection scores of different models are not comparable; models rank by total
    within = best_settings(summary, "selection_score", "within_model").set_index("model")
    assert (within.loc["b", "model_rank"], within.loc["a", "model_rank"]) == (1, 2)
    assert set(within["ranked_by"]) == {"total"} and within.loc["b", "diff_next_model"] == pytest.approx(0.3)
    assert set(best_settings(summary, "total")["ranked_by"]) == {"total"}


def test_pairs_with_a_control_are_tested_but_left_out_of_the_bh_family():
    from scipy.stats import false_discovery_control
    from sysvi_bench.report.benchmark_figures import pairwise_tests

    rng = np.random.default_rng(0)
    runs = pd.DataFrame([{"dataset": "d", "model": m, "seed": s, "control": m in ("celltype", "shuffled"),
                          "ilisi_system": base + rng.normal(0, 0.02)}
                         for m, base in (("sysvi", 0.6), ("scvi", 0.5), ("pca", 0.1), ("celltype", 0.0),
                                         ("shuffled", 0.9)) for s in (1, 2, 3)])
    tests = pairwise_tests(runs, ["ilisi_system"])
    C.BENCHMARK_TESTS.check(tests, "tests")
    assert len(tests) == 10 and tests["p_value"].notna().all()  # every pair tested
    marked = tests[tests["control_pair"]]
    assert len(marked) == 7 and marked["p_adjusted"].isna().all()
    family = tests[~tests["control_pair"]]
    assert set(zip(family["model_a"], family["model_b"])) == {("sysvi", "scvi"), ("sysvi", "pca"), ("scvi", "pca")}
    assert family["p_adjusted"].tolist() == pytest.approx(false_discovery_control(family["p_value"], method="bh").tolist())


def test_the_results_page_says_what_the_aggregate_weighs():
    from sysvi_bench.aggregate.selection import aggregated_metrics, control_runs
    from sysvi_bench.report.html import results_page

    types = {"nmi_leiden": "bio", "jaccard_neighbors": "bio", "ilisi_system": "batch"}
    values = {"a__seed=0": {"nmi_leiden": 0.5, "jaccard_neighbors": 1.0, "ilisi_system": 0.0},
              "b__seed=0": {"nmi_leiden": 0.7, "jaccard_neighbors": 0.2, "ilisi_system": 0.6},
              "c__seed=0": {"nmi_leiden": 0.6, "jaccard_neighbors": 0.4, "ilisi_system": 0.2},
              "celltype__seed=0": {"nmi_leiden": 1.0, "jaccard_neighbors": 0.1, "ilisi_system": 0.0}}
    metrics, runs = long_table(values, types), run_rows(values)
    summary = summarize(metrics, runs).assign(reason="", wall_time_s=1.0, peak_memory_mb=1.0, device="cpu", n_epochs=0)
    report = pd.DataFrame(columns=C.PREPROCESS_REPORT.columns).assign(note=pd.Series(dtype=str))
    page = results_page(summary, best_settings(summary, "total"), types, "d", report,
                        aggregated=aggregated_metrics(metrics, control_runs(runs)))
    assert "What the aggregate weighs" in page and "Over the 3 compared runs" in page
    assert f"bio {summary['effective_weight_bio'].iloc[0]:.3f}" in page
    assert "jaccard_neighbors" in page and "rewards no integration" in page
