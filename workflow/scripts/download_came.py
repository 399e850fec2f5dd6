from pathlib import Path

from sysvi_bench.data.came import download_came_wheel
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    print(download_came_wheel(Path(snakemake.output[0])))
