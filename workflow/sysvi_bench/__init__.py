"""sysvi-bench: benchmark scvi-tools' SysVI on cross-system single-cell data.

The package holds all logic; Snakemake rules under ``workflow/rules`` only call it.
File contracts between steps are written down once, in :mod:`sysvi_bench.contracts`.
"""

__version__ = "0.1.0"
