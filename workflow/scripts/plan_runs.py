import json

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    manifest = pd.DataFrame(json.loads(snakemake.params.runs), columns=C.MANIFEST.columns)
    C.write_table(manifest, snakemake.output[0], C.MANIFEST)
    print(f"{len(manifest)} runs planned for {snakemake.wildcards.dataset}")
