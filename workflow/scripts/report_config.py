from pathlib import Path

import pandas as pd
import yaml

from sysvi_bench.io import read_json, write_tsv
from sysvi_bench.report import config_page, plain, versions_table, write_text
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    infos = {Path(p).parent.name: read_json(p) for p in snakemake.params.metrics_infos if Path(p).is_file()}
    versions = versions_table(infos)
    write_tsv(versions, snakemake.output.versions)
    write_text(yaml.safe_dump(plain(snakemake.params.config), sort_keys=False), snakemake.output.config)
    write_text(config_page(snakemake.params.config, versions), snakemake.output.page)
    for name, source in snakemake.params.tables.items():
        if Path(source).is_file():
            write_text(Path(source).read_text(), snakemake.output[name])
        else:  # e.g. results of an older version of the pipeline
            write_tsv(pd.DataFrame({"note": [f"{source} was not found when the report was built"]}),
                      snakemake.output[name])
