from sysvi_bench.smk import limit_threads

limit_threads(snakemake.threads)  # before JAX, numba and BLAS start their thread pools

import time

from sysvi_bench import contracts as C
from sysvi_bench.grid import Run
from sysvi_bench.io import read_json, write_json
from sysvi_bench.jit_cache import enable_compile_cache
from sysvi_bench.score.by_epoch import score_by_epoch
from sysvi_bench.score.suite import cell_type_tables, reference_from_adata, scoring_versions
from sysvi_bench.smk import logged  # noqa: E402

with logged(snakemake.log[0]):
    start = time.perf_counter()
    # not a param: a new cache folder must not make the runs rescore
    enable_compile_cache(snakemake.config["compile_cache"])
    run = Run.from_json(snakemake.params.run)
    info = read_json(snakemake.input.info)
    C.check_run_info(info, snakemake.input.info)
    evaluation = read_json(snakemake.input.metrics_info)["evaluation"]
    reference = reference_from_adata(C.read_h5ad_checked(snakemake.input.reference, C.REFERENCE))
    # metrics.tsv is the last epoch of metrics_by_epoch.tsv: one computation
    collected = {}
    table, by_epoch = score_by_epoch(run, info, snakemake.input.embedding, reference, evaluation,
                                     n_jobs=snakemake.threads, tables=collected)
    C.write_table(table, snakemake.output.metrics, C.METRICS)
    C.write_table(by_epoch, snakemake.output.by_epoch, C.METRICS_BY_EPOCH)
    per_type = cell_type_tables(run, collected)
    C.write_table(per_type["cell_type_mixing"], snakemake.output.cell_type_mixing, C.CELL_TYPE_MIXING)
    C.write_table(per_type["label_transfer"], snakemake.output.label_transfer, C.LABEL_TRANSFER)
    write_json({"versions": scoring_versions()}, snakemake.output.info)
    print(f"{table['value'].notna().sum()} of {len(table)} values in {time.perf_counter() - start:.1f} s")
