import json

from sysvi_bench.data.download import download
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    source = json.loads(snakemake.params.source)
    print(download(source["url"], snakemake.output[0], source["sha256"]))
