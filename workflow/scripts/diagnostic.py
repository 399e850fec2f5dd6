from dataclasses import asdict

import anndata as ad

from sysvi_bench.report.diagnostic import DiagnosticParams, diagnostic_figure, run_diagnostic, verdict_text
from sysvi_bench.io import write_tsv
from sysvi_bench.report.html import diagnostic_page, write_text
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    adata = ad.read_h5ad(snakemake.input[0])
    params = DiagnosticParams()
    diag = run_diagnostic(adata, params, dataset=dataset)
    write_tsv(diag.per_cell_type, snakemake.output.table)
    write_tsv(diag.summary, snakemake.output.summary)
    text = verdict_text(diag)
    write_text(text, snakemake.output.text)
    print(text)
    settings = "\n".join(f"{k}: {v}" for k, v in asdict(params).items())
    write_text(diagnostic_page(diag.summary, diag.per_cell_type, dataset, settings), snakemake.output.page)
    diagnostic_figure(diag, [snakemake.output.png, snakemake.output.pdf],
                      title=f"{dataset}: pre-integration diagnostic (unintegrated data)")
