from sysvi_bench.smk import limit_threads

limit_threads(snakemake.threads)  # before JAX, numba and BLAS start their thread pools

import json

from sysvi_bench import contracts as C
from sysvi_bench.io import write_json
from sysvi_bench.score.suite import dataset_reference, metrics_info, reference_to_adata
from sysvi_bench.smk import logged  # noqa: E402

with logged(snakemake.log[0]):
    evaluation = json.loads(snakemake.params.evaluation)
    preprocessed = C.read_h5ad_checked(snakemake.input[0], C.PREPROCESSED)
    reference = dataset_reference(preprocessed, evaluation)
    print(f"{len(reference.cells):,} evaluation cells ({int(reference.labelled.sum()):,} labelled), "
          f"{len(reference.moran)} Moran's I groups")
    C.write_h5ad_checked(reference_to_adata(reference), snakemake.output.reference, C.REFERENCE)
    write_json(metrics_info(evaluation, reference.systems), snakemake.output.info)
