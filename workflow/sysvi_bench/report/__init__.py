"""The report step (rules in workflow/rules/report.smk): figures, the pre-integration diagnostic and the pages
of ``snakemake --report``.

Reads the aggregate step's tables and draws them; chooses nothing (the runs drawn are ``best_settings.tsv``'s).
:mod:`.panels`: which run each figure draws (light: the Snakefile's input functions use it);
:mod:`.figures`: per-dataset figures; :mod:`.umap`: UMAP coordinates and the UMAP grid; :mod:`.mixing_figure`:
the cell-type mixing heatmaps; :mod:`.benchmark_figures`: the figures and tests across datasets;
:mod:`.diagnostic`: the pre-integration diagnostic; :mod:`.plotting`: saving figures; :mod:`.html`: the
report's HTML pages.
"""
