# sysvi-bench: benchmark scvi-tools' SysVI on cross-system single-cell data.
# Data flow and file contracts: README.md and workflow/sysvi_bench/contracts.py.


# The demo config, unless a config was given with --configfile (which would otherwise be merged into it).
if not config:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


# bookkeeping too small for a cluster job: the run manifest and the concatenated tables
localrules:
    plan_runs,
    benchmark_tables,


# front page of `snakemake --report results/report.html` (docs/report.md)
report: "workflow/report/workflow.rst"


rule all:
    input:
        all_outputs(),
    default_target: True
