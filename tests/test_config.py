"""Config validation at start-up and grid expansion."""

from __future__ import annotations

import pytest
from snakemake.exceptions import WorkflowError

from conftest import ROOT, load_yaml
from sysvi_bench.grid import ConfigError, dataset_keys, expand_runs, make_run_id


def test_demo_and_tiny_configs_validate(validated, tiny_config):
    demo = validated(load_yaml(ROOT / "config" / "config.yaml"))
    assert demo["seeds"] == [0]
    assert demo["evaluation"]["n_neighbors"] == 90  # default filled in
    validated(tiny_config)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda c: c.update(unknown_key=1), "unknown_key"),
        (lambda c: c["datasets"]["sim"].update(sytem_key="x"), "sytem_key"),
        (lambda c: c.update(seeds="zero"), "seeds"),
        (lambda c: c["datasets"]["sim"]["source"].update(n_cells="many"), "n_cells"),
        (lambda c: c["datasets"]["sim"]["source"].update(kind="csv"), "kind"),
        (lambda c: c["datasets"]["sim"].pop("source"), "source"),
        (lambda c: c["evaluation"].update(neighbor_backend="annoy") if "evaluation" in c else c.update(evaluation={"neighbor_backend": "annoy"}), "neighbor_backend"),
        (lambda c: c.pop("models"), "models"),
    ],
)
def test_bad_config_names_the_field(validated, tiny_config, mutate, field):
    mutate(tiny_config)
    with pytest.raises(WorkflowError) as err:
        validated(tiny_config)
    assert field in str(err.value)


def test_grid_expands_to_cartesian_product_times_seeds(validated, tiny_config):
    tiny_config["seeds"] = [0, 1]
    tiny_config["models"]["sysvi"]["grid"] = {"prior": ["standard_normal", "vamp"], "z_distance_cycle_weight": [0, 2, 10]}
    tiny_config["models"]["sysvi"]["params"].pop("z_distance_cycle_weight")
    runs = expand_runs(validated(tiny_config))
    sysvi = [r for r in runs if r.model == "sysvi"]
    assert len(sysvi) == 2 * 3 * 2
    assert len({r.run_id for r in sysvi}) == 12
    # PCA is deterministic: one run whatever the number of seeds
    assert [r.run_id for r in runs if r.model == "unintegrated"] == ["unintegrated"]
    run = next(r for r in sysvi if r.run_id == "sysvi__prior=vamp__cyc=10__seed=1")
    assert run.params["prior"] == "vamp" and run.params["z_distance_cycle_weight"] == 10 and run.seed == 1
    assert run.params["max_epochs"] == 3  # fixed params reach every run


def test_run_id_is_readable_stable_and_bounded():
    assert make_run_id("sysvi", {"prior": "vamp", "z_distance_cycle_weight": 2.0, "embed_categorical_covariates": False}, 0) == (
        "sysvi__prior=vamp__cyc=2__embed=false__seed=0"
    )
    long = make_run_id("sysvi", {f"axis_{i}": "x" * 20 for i in range(10)}, 0)
    assert len(long) <= 120
    assert long == make_run_id("sysvi", {f"axis_{i}": "x" * 20 for i in range(10)}, 0)


def test_unknown_model_parameter_is_refused_with_valid_list(validated, tiny_config):
    tiny_config["models"]["sysvi"]["params"]["n_latnet"] = 10
    with pytest.raises(ConfigError, match=r"models\.sysvi: unknown parameter\(s\) \['n_latnet'\].*valid: .*n_latent"):
        expand_runs(validated(tiny_config))


def test_empty_grid_and_duplicate_run_ids_are_refused(validated, tiny_config):
    cfg = validated(tiny_config)
    cfg["models"]["sysvi"]["grid"] = {"prior": []}
    with pytest.raises(ConfigError, match="zero runs"):
        expand_runs(cfg)
    cfg = validated(tiny_config)
    cfg["models"]["sysvi"]["grid"] = {"n_layers": [2, 2.0]}  # two values, one run id
    with pytest.raises(ConfigError, match="produced twice"):
        expand_runs(cfg)


def test_dataset_keys_defaults_and_required():
    keys = dataset_keys({"source": {"kind": "came_pancreas"}})
    assert (keys.system_key, keys.covariate_keys, keys.label_key, keys.sample_key) == ("species", ("donor",), "cell_type", "donor")
    with pytest.raises(ConfigError, match="system_key"):
        dataset_keys({"source": {"kind": "h5ad", "path": "x.h5ad"}, "label_key": "ct"})


def test_workflow_refuses_bad_config_at_startup(tmp_path, tiny_config):
    from conftest import run_snakemake

    tiny_config["datasets"]["sim"]["preprocess"]["n_hvgs"] = 100
    proc = run_snakemake(tmp_path, "-n", config=tiny_config)
    assert proc.returncode != 0
    assert "n_hvgs" in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()
