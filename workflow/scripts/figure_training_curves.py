from pathlib import Path

from sysvi_bench import contracts as C
from sysvi_bench.report.figures import training_curves
from sysvi_bench.io import read_history
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    summary = C.read_table(snakemake.input.summary, C.SUMMARY)
    ok = set(summary.loc[summary["status"] == C.STATUS_OK, "run_id"])
    histories = {}
    for path in snakemake.input.histories:
        run_id = Path(path).parent.name
        history = read_history(path)
        if history is not None and run_id in ok:
            histories[run_id] = history
    print(f"{len(histories)} runs with a training history")
    training_curves(histories, [snakemake.output.png, snakemake.output.pdf], convergence=summary,
                    title=f"{dataset}: training losses per epoch (successful runs with a history)")
