# sysvi-bench: benchmark scvi-tools' SysVI on cross-system single-cell data.
# Data flow and file contracts: README.md and workflow/sysvi_bench/contracts.py.


# The demo config, unless a config was given with --configfile (which would otherwise be merged into it).
if not config:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/aggregate.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
