"""Config validation at start-up and grid expansion."""

from __future__ import annotations

import pytest
from snakemake.exceptions import WorkflowError

from conftest import ROOT, load_yaml
from sysvi_bench.config import ConfigError, dataset_keys
from sysvi_bench.grid import make_run_id
from sysvi_bench.train.plan import expand_runs


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
        # harmonypy takes its seed as a 32-bit signed int: larger seeds would fail every Harmony run after start
        (lambda c: c.update(seeds=[0, 2**31]), "seeds"),
        (lambda c: c.update(seeds=[-1]), "seeds"),
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


def test_manifest_says_what_each_run_corrects(validated, tiny_config):
    """runs.tsv's covariates: the system and covariates a model uses, none for PCA, declared or unknown for external."""
    from sysvi_bench.aggregate.tables import run_table
    from sysvi_bench.train.plan import manifest_table

    tiny_config["datasets"]["sim"]["covariate_keys"] = ["sample"]
    tiny_config["models"].update({
        "harmony": {}, "harmony_system_only": {"kind": "harmony", "params": {"categorical_covariate_keys": []}},
        "scvi": {"params": {"max_epochs": 1}}, "celltype": {},
        "combat": {"kind": "external", "params": {"path": "x.tsv", "covariates": ["system"]}},
        "glue": {"kind": "external", "params": {"path": "y.tsv"}},
    })
    config = validated(tiny_config)
    manifest = manifest_table(expand_runs(config), config)
    covariates = manifest.drop_duplicates("model").set_index("model")["covariates"].to_dict()
    assert covariates == {
        "broken": "system+sample", "celltype": "none", "combat": "system", "glue": "unknown (made elsewhere)",
        "harmony": "system+sample", "harmony_system_only": "system", "scvi": "system+sample",
        "sysvi": "system+sample", "unintegrated": "none",
    }
    infos = [{"status": "ok", "reason": "", "wall_time_s": 1.0, "peak_memory_mb": 1.0, "device": "cpu",
              "n_epochs": 1}] * len(manifest)
    assert run_table(manifest, infos)["covariates"].tolist() == manifest["covariates"].tolist()  # into summary.tsv


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


@pytest.mark.parametrize(
    "kind, given, message",
    [
        ("sysvi", {"max_epochs": 0}, r"models\.m\.max_epochs: 0 is out of range; must be an integer >= 1"),
        ("sysvi", {"n_latent": 0}, r"n_latent: 0 .*integer >= 1"),
        ("sysvi", {"batch_size": 1}, r"batch_size: 1 .*integer >= 2"),
        ("sysvi", {"dropout_rate": 1.0}, r"dropout_rate: 1.0 .*>= 0 and < 1"),
        ("sysvi", {"lr": 0}, r"lr: 0 .*> 0"),
        ("sysvi", {"kl_weight": -1}, r"kl_weight: -1 .*>= 0"),
        ("sysvi", {"n_prior_components": 0}, r"n_prior_components: 0"),
        ("sysvi", {"train_size": 0}, r"train_size: 0 .*> 0 and <= 1"),
        ("sysvi", {"z_distance_cycle_weight": -2}, r"z_distance_cycle_weight: -2"),
        ("scvi", {"train_size": 1.5}, r"train_size: 1.5"),
        ("scvi", {"max_epochs": 2.5}, r"max_epochs: 2.5 .*integer"),
        ("harmony", {"theta": -0.5}, r"theta: -0.5 .*>= 0"),
        ("harmony", {"lamb": 0}, r"models\.m\.lamb: 0 .*> 0"),
        ("harmony", {"sigma": -0.1}, r"models\.m\.sigma: -0.1 .*> 0"),
        ("harmony", {"nclust": 2.5}, r"models\.m\.nclust: 2.5 .*integer >= 1"),
        ("harmony", {"max_iter_harmony": 0}, r"models\.m\.max_iter_harmony: 0"),
        ("pca", {"n_comps": 0}, r"n_comps: 0"),
        ("celltype", {"noise": "loud"}, r"noise: 'loud' is out of range; must be a number"),
    ],
)
def test_numeric_model_parameters_out_of_range_are_refused(kind, given, message):
    from sysvi_bench.train.models import resolve_params

    with pytest.raises(ConfigError, match=message):
        resolve_params(kind, given, where="models.m")
    resolve_params(kind, {}, where="models.m")  # the defaults are valid


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["datasets"]["sim"].update(label_key="system"), r"datasets\.sim\.label_key: 'system' is also the system_key"),
        (lambda c: c["datasets"]["sim"].update(covariate_keys=["sample", "system"]),
         r"datasets\.sim\.covariate_keys: \['system'\] is the system_key"),
        (lambda c: c["models"]["unintegrated"]["params"].update(n_comps=12),
         r"models\.unintegrated\.n_comps: 12 exceeds the 10 PCs .*datasets\.sim\.preprocess\.n_pcs"),
        (lambda c: c["datasets"]["sim"]["preprocess"].update(n_hvg=10), r"datasets\.sim\.preprocess\.n_pcs: 10 PCs"),
    ],
)
def test_config_checks_name_the_field(validated, tiny_config, mutate, message):
    from sysvi_bench.config_check import check_config

    check_config(validated(tiny_config))
    mutate(tiny_config)
    with pytest.raises(ConfigError, match=message):
        check_config(validated(tiny_config))


def test_duplicate_seeds_are_blamed_on_seeds(validated, tiny_config):
    tiny_config["seeds"] = [0, 0]
    with pytest.raises(WorkflowError, match=r"non-unique(.|\n)*\['seeds'\]"):
        validated(tiny_config)


def test_per_system_source_is_checked_at_startup(validated, tiny_config, tmp_path):
    from sysvi_bench.config_check import check_config

    for name in ("human.h5ad", "mouse.h5ad", "orthologs.csv"):
        (tmp_path / name).write_text("")
    source = {"kind": "per_system", "system_files": {"human": str(tmp_path / "human.h5ad"),
                                                     "mouse": {"path": str(tmp_path / "mouse.h5ad"), "layer": "counts"}},
              "orthologs": {"path": str(tmp_path / "orthologs.csv"), "columns": {"human": "h", "mouse": "m"}, "keep": "human"}}
    tiny_config["datasets"]["sim"] = {"source": source, "system_key": ["species", "tech"], "label_key": "ct",
                                      "unlabeled": ["unknown"]}
    check_config(validated(tiny_config))
    source["orthologs"]["keep"] = "rat"
    with pytest.raises(ConfigError, match=r"orthologs\.keep: 'rat' is not one of the systems"):
        check_config(validated(tiny_config))
    source["orthologs"]["columns"] = {"human": "h"}
    with pytest.raises(ConfigError, match=r"orthologs\.columns: needs one column per system"):
        check_config(validated(tiny_config))
    source["system_files"]["mouse"]["path"] = str(tmp_path / "absent.h5ad")
    with pytest.raises(ConfigError, match=r"system_files\.mouse: file .*absent.h5ad' does not exist"):
        check_config(validated(tiny_config))


def test_label_key_equal_to_system_key_is_refused_before_any_job(tmp_path, tiny_config):
    from conftest import run_snakemake

    tiny_config["datasets"]["sim"]["label_key"] = "system"
    proc = run_snakemake(tmp_path, "-n", config=tiny_config)
    assert proc.returncode != 0
    assert "datasets.sim.label_key: 'system' is also the system_key" in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_every_numeric_model_parameter_has_a_range():
    from sysvi_bench.train.models import MODEL_SPECS

    for kind, spec in MODEL_SPECS.items():
        numeric = {k for k, v in spec.defaults.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        assert numeric <= set(spec.ranges), (kind, sorted(numeric - set(spec.ranges)))


def test_source_options_are_schema_validated_naming_the_field(validated, tiny_config):
    tiny_config["datasets"]["sim"]["source"] = {"kind": "h5ad", "path": "x.h5ad", "layer": "counts", "counts": "floor"}
    with pytest.raises(WorkflowError, match=r"'floor' is not one of \['integer', 'round'\]"):
        validated(tiny_config)
    tiny_config["datasets"]["sim"]["source"] = {"kind": "per_system", "system_files": {"human": "h.h5ad"}}
    with pytest.raises(WorkflowError, match="system_files"):
        validated(tiny_config)
