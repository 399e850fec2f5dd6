import json
from pathlib import Path

import yaml

from sysvi_bench import contracts as C
from sysvi_bench.io import read_json, write_tsv
from sysvi_bench.report.html import config_page, plain, versions_table, write_text
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    config = json.loads(snakemake.params.config)
    infos = {Path(p).parent.name: read_json(p) for p in snakemake.input.metrics_infos}
    versions = versions_table(infos)
    write_tsv(versions, snakemake.output.versions)
    write_text(yaml.safe_dump(plain(config), sort_keys=False), snakemake.output.config)
    datasets = C.read_table(snakemake.input.datasets, C.DATASETS)
    write_text(config_page(config, versions, datasets), snakemake.output.page)
    for name in ("summary", "best_settings", "completeness", "datasets"):
        write_text(Path(snakemake.input[name]).read_text(), snakemake.output[name])
