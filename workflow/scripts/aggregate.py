import json
from pathlib import Path

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.tables import DATASET_OUTPUTS, VERSION_COLUMNS, dataset_tables
from sysvi_bench.io import read_history, read_json
from sysvi_bench.provenance import version_mix
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    manifest = C.read_table(snakemake.input.manifest, C.MANIFEST)
    for name in ("metrics", "infos", "score_infos", "histories", "by_epoch"):  # inputs are in manifest order
        owners = [Path(p).parent.name for p in snakemake.input[name]]
        if owners != manifest["run_id"].tolist():
            raise C.ContractError(f"{snakemake.input.manifest}: runs {manifest['run_id'].tolist()} but {name} of {owners}")
    infos = [read_json(p) for p in snakemake.input.infos]
    for path, info in zip(snakemake.input.infos, infos):
        C.check_run_info(info, path)
    score_infos = [read_json(p) for p in snakemake.input.score_infos]
    histories = [read_history(p) for p in snakemake.input.histories]
    by_epoch = C.read_tables(snakemake.input.by_epoch, C.METRICS_BY_EPOCH)
    metrics_info = read_json(snakemake.input.metrics_info)
    aggregation = json.loads(snakemake.params.aggregation)
    tables = dataset_tables(manifest, infos, histories, C.read_tables(snakemake.input.metrics, C.METRICS),
                            metrics_info, aggregation, by_epoch, score_infos=score_infos)
    for name, table in tables.items():
        C.write_table(table, snakemake.output[name], DATASET_OUTPUTS[name])
    for note in version_mix(tables["summary"], VERSION_COLUMNS):
        print(f"WARNING {snakemake.wildcards.dataset}: {note}")
    gaps = tables["completeness"]
    if len(gaps):
        print(f"INCOMPLETE: {len(gaps)} expected metric values are missing or NA (see {snakemake.output.completeness}):")
        print(gaps.groupby(["run_id", "problem"]).size().to_string())
