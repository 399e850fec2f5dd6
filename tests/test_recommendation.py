"""The two-level recommendation (which model, which setting of it) on hand-made tables: a model that stays first
while its setting changes, a model that loses first place, one seed vs three; the checkpoint columns of models
without checkpoints; controls last in the report's tables; the ranking under each embedding variant."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import (
    add_setting_values, best_settings, ranking_by_variant, recommendation, variant_disagreements,
)
from sysvi_bench.aggregate.training_length import add_training_columns, previous_best

CONTROLS = ("celltype", "shuffled")
NO_CHECKPOINTS = ("harmony", "pca", *CONTROLS)
# the demo's shape (raw embedding, one seed): sysvi first at both checkpoints while its best cycle weight changed
# (2 at the previous checkpoint, 10 now, 0.005 apart); cvae and cyc swapped 3rd and 4th place; the cell-type
# control scores above every model
FINAL = {"sysvi__cyc=10": 0.740, "sysvi__cyc=2": 0.735, "vamp": 0.705, "cyc": 0.687, "cvae": 0.680,
         "harmony": 0.600, "pca": 0.500, "celltype": 0.827, "shuffled": 0.100}
PREVIOUS = {"sysvi__cyc=10": 0.710, "sysvi__cyc=2": 0.720, "vamp": 0.700, "cyc": 0.670, "cvae": 0.690,
            "harmony": 0.600, "pca": 0.500, "celltype": 0.827, "shuffled": 0.100}


def stage_summary(totals: dict[str, float | list[float]], epoch: int) -> pd.DataFrame:
    """A summary like one stage of ``stage_summaries``: setting -> total (or one total per seed), with the
    ``param_*`` columns of the run table; runs of models without checkpoints keep epoch 0 at every stage."""
    rows = []
    for setting, values in totals.items():
        model = setting.split("__")[0]
        for seed, total in enumerate(np.atleast_1d(values)):
            rows.append({
                "dataset": "d", "run_id": f"{setting}__seed={seed}", "model": model, "kind": model, "seed": seed,
                "setting": setting, "control": model in CONTROLS, "status": C.STATUS_OK, "total": total,
                "selection_score": total, "converged": pd.NA if model in NO_CHECKPOINTS else True,
                "epoch": 0 if model in NO_CHECKPOINTS else epoch,
                # a key parameter that all settings of a model share, and the grid axis that sets them apart
                "param_prior": "vamp" if model in ("sysvi", "vamp") else np.nan,
                "param_z_distance_cycle_weight": float(setting.split("=")[1]) if "cyc=" in setting else np.nan,
            })
    summary = pd.DataFrame(rows)
    summary["converged"] = summary["converged"].astype("boolean")
    return summary


def best_table(final: dict, previous: dict | None) -> pd.DataFrame:
    """best_settings.tsv as the aggregate job makes it: best settings, training columns, setting values."""
    summaries = [stage_summary(final, 400)] + ([stage_summary(previous, 200)] if previous else [])
    best = add_training_columns(best_settings(summaries[0], "total"), summaries[0], previous_best(summaries, "total"))
    return add_setting_values(best, summaries[0])


def read_back(best: pd.DataFrame, tmp_path) -> pd.DataFrame:
    C.write_table(best, tmp_path / "best_settings.tsv", C.BEST_SETTINGS)
    return C.read_table(tmp_path / "best_settings.tsv", C.BEST_SETTINGS)


def test_a_model_that_stays_first_while_its_setting_changes_is_safe_and_its_setting_a_toss_up(tmp_path):
    best = best_table(FINAL, PREVIOUS)
    sysvi = best.set_index("model").loc["sysvi"]
    assert (sysvi["setting"], sysvi["setting_at_previous_checkpoint"]) == ("sysvi__cyc=10", "sysvi__cyc=2")
    assert sysvi["best_at_previous_checkpoint"] == False and sysvi["rank_at_previous_checkpoint"] == 1  # noqa: E712
    assert sysvi["diff_setting_at_previous_checkpoint"] == pytest.approx(0.005)
    # named by what differs (the shared prior is left out)
    assert json.loads(sysvi["setting_values"]) == {"z_distance_cycle_weight": 10}
    assert json.loads(sysvi["values_at_previous_checkpoint"]) == {"z_distance_cycle_weight": 2}
    for table in (best, read_back(best, tmp_path)):
        text = recommendation(table, "d")
        assert text.startswith("On d: Model: sysvi is the best at both of the last two checkpoints: total 0.740 "
                               "over 1 seed, ahead of vamp by 0.035, noise unknown (one seed).")
        assert ("Setting (by total): a toss-up: z_distance_cycle_weight 10 and 2 (sysvi__cyc=10, sysvi__cyc=2) "
                "are 0.005 apart and changed order between the last two checkpoints: either.") in text
        # every rank change among the compared models; controls are never ranked
        assert text.endswith("Rank changes between the last two checkpoints: cyc 3rd (was 4th), cvae 4th (was 3rd).")
        assert "no safe" not in text and "celltype" not in text and "nan" not in text


def test_a_model_that_loses_first_place_is_no_safe_choice():
    previous = {**PREVIOUS, "vamp": 0.730}  # vamp led at the previous checkpoint
    text = recommendation(best_table(FINAL, previous), "d")
    assert text.startswith("On d: Model: no safe choice yet (it was 2nd at the previous checkpoint, behind vamp); "
                           "provisionally sysvi: total 0.740")
    assert "sysvi 1st (was 2nd), vamp 2nd (was 1st)" in text
    # a winner without checkpoints (Harmony) while a model with them led at the previous checkpoint
    # (its scores are the same at both: sysvi fell below it)
    text = recommendation(best_table({**FINAL, "harmony": 0.800},
                                     {**PREVIOUS, "harmony": 0.800, "sysvi__cyc=2": 0.850}), "d")
    assert text.startswith("On d: Model: no safe choice yet (sysvi was first at the previous checkpoint); "
                           "provisionally harmony: total 0.800")


def test_a_stable_setting_is_named_with_its_margin_and_no_checkpoints_say_nothing_of_them():
    final = {**FINAL, "sysvi__cyc=2": 0.700}
    text = recommendation(best_table(final, {**PREVIOUS, "sysvi__cyc=10": 0.730}), "d")
    assert ("Setting (by total): z_distance_cycle_weight=10 (sysvi__cyc=10), ahead of z_distance_cycle_weight=2 "
            "(sysvi__cyc=2) by 0.040, noise unknown (one seed), and the best at the previous checkpoint too.") in text
    flat = recommendation(best_table(final, None), "d")
    assert "checkpoint" not in flat and flat.startswith("On d: Model: sysvi is the best: total 0.740")


def test_three_seeds_make_the_margins_testable():
    seeds = {k: [v - 0.01, v, v + 0.01] for k, v in FINAL.items()}
    previous = {k: [v - 0.01, v, v + 0.01] for k, v in PREVIOUS.items()}
    text = recommendation(best_table(seeds, previous), "d")
    assert "total 0.740 ± 0.010 over 3 seeds, clearly ahead of vamp by 0.035 ± 0.008." in text
    assert "one seed" not in text
    # settings 0.005 apart with a seed sd of 0.01 are not separable, and they changed order
    assert ("a toss-up: z_distance_cycle_weight 10 and 2 (sysvi__cyc=10, sysvi__cyc=2) are 0.005 ± 0.008 apart, "
            "not separable over seeds and changed order between the last two checkpoints: either.") in text
    # a model within seed noise of the next is no safe choice
    close = {**seeds, "vamp": [0.725, 0.745, 0.735]}
    text = recommendation(best_table(close, previous), "d")
    assert text.startswith("On d: Model: no safe choice yet (it is not ahead of vamp beyond seed noise); "
                           "provisionally sysvi")
    assert "not separable from vamp by 0.005 ± 0.008 (paired t-test over seeds: p = 0.48)." in text


def test_models_without_checkpoints_have_na_checkpoint_columns(tmp_path):
    best = best_table(FINAL, PREVIOUS).set_index("model")
    for model in NO_CHECKPOINTS:
        row = best.loc[model]
        assert pd.isna(row["best_at_previous_checkpoint"]) and pd.isna(row["rank_at_previous_checkpoint"])
        assert pd.isna(row["setting_at_previous_checkpoint"]) and pd.isna(row["diff_setting_at_previous_checkpoint"])
    assert best.loc["vamp", "best_at_previous_checkpoint"] == True  # noqa: E712
    back = read_back(best.reset_index(), tmp_path).set_index("model")
    assert back.loc["pca", "setting_at_previous_checkpoint"] == "" and pd.isna(back.loc["pca", "best_at_previous_checkpoint"])
    assert back.loc["cyc", "rank_at_previous_checkpoint"] == 4


def test_the_report_lists_controls_after_the_compared_models_and_marks_them():
    from sysvi_bench.report.html import results_page

    summary = stage_summary(FINAL, 400).assign(wall_time_s=1.0, peak_memory_mb=1.0, device="cpu", n_epochs=400,
                                               n_seeds=1, reason="", bio=0.5, batch=0.5)
    best = best_table(FINAL, PREVIOUS)
    preprocess = pd.DataFrame({"step": ["input"], "system": ["all"], "n_cells": [10], "n_genes": [5], "note": [""]})
    page = results_page(summary, best, {}, "d", preprocess)
    for section in ("Best setting per model", "All runs"):
        block = page[page.index(section):]
        block = block[:block.index("</table>")]
        rows = block.split("<tr")[2:]  # after the header
        kinds = ["control" in r.split(">")[0] for r in rows]
        assert kinds == sorted(kinds) and sum(kinds) == 2, section  # controls marked, and only after the models
        assert "celltype (control)" in rows[-2] + rows[-1]
        assert "sysvi" in rows[0]
    assert "never a candidate" in page


def test_the_ranking_under_each_variant_and_where_the_variants_disagree(tmp_path):
    raw = best_table(FINAL, None)
    standardized_totals = {**FINAL, "sysvi__cyc=2": 0.754, "sysvi__cyc=10": 0.749, "cyc": 0.710}
    standardized = best_table(standardized_totals, None)
    table = ranking_by_variant({"raw": raw, "standardized": standardized}, stage_summary(FINAL, 400))
    C.write_table(table, tmp_path / "ranking_by_variant.tsv", C.RANKING_BY_VARIANT)
    table = C.read_table(tmp_path / "ranking_by_variant.tsv", C.RANKING_BY_VARIANT)
    raw_rows = table[table["embedding_variant"] == "raw"]
    assert raw_rows["model"].tolist()[:3] == ["sysvi", "vamp", "cyc"] and raw_rows["model"].tolist()[-2:] == ["celltype", "shuffled"]
    notes = variant_disagreements(table, "d")
    assert ("sysvi's best setting: z_distance_cycle_weight=10 (sysvi__cyc=10) on raw; z_distance_cycle_weight=2 "
            "(sysvi__cyc=2) on standardized") in notes
    assert "cyc ranks 3rd on raw, 2nd on standardized" in notes and "vamp ranks 2nd on raw, 3rd on standardized" in notes
    assert not any("celltype" in n for n in notes)
    assert variant_disagreements(ranking_by_variant({"raw": raw, "standardized": raw}, stage_summary(FINAL, 400)), "d") == []

    from sysvi_bench.report.html import variants_section

    heading, body = variants_section(table, "d")
    assert "disagree" in body and "z_distance_cycle_weight=2" in body and "standardized" in body


def test_a_toss_up_names_every_setting_in_question():
    # the previous best (cycle weight 2) is now 3rd; the runner-up 5 is closer still, so it is in question too
    final = {**FINAL, "sysvi__cyc=5": 0.738, "sysvi__cyc=2": 0.700}
    text = recommendation(best_table(final, {**PREVIOUS, "sysvi__cyc=5": 0.700}), "d")
    assert ("a toss-up among z_distance_cycle_weight 10, 5 and 2 (sysvi__cyc=10, sysvi__cyc=5, sysvi__cyc=2): the "
            "first and the second are 0.002 apart; the first and the third are 0.040 apart and changed order between "
            "the last two checkpoints: any of them.") in text
