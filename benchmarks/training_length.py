"""Train one demo run at the default training budget and say how long it took and whether it converged.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/training_length.py RESULTS/preprocessed.h5ad OUT_DIR MODEL [k=v ...]

MODEL: a SysVI preset (cvae, vamp, cyc, sysvi) or scvi; ``k=v`` sets run parameters (YAML values), e.g.
``early_stopping=true``. One torch thread. Writes OUT_DIR/{history.tsv, run_info.json, embedding.h5ad} exactly as
the train rule does (:func:`sysvi_bench.train.execute_run`), with checkpoints at 0.25 and 0.5 of max_epochs,
and prints the epochs trained, the fit time, the process's CPU time and the convergence verdict (:mod:`sysvi_bench.aggregate.convergence`).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from sysvi_bench.config import DatasetKeys  # noqa: E402
from sysvi_bench.aggregate.convergence import run_convergence  # noqa: E402
from sysvi_bench.train.plan import expand_model  # noqa: E402
import pandas as pd  # noqa: E402
from sysvi_bench.train import execute_run  # noqa: E402

KEYS = DatasetKeys("species", ("donor",), "cell_type", "donor")


def main(preprocessed: str, out: str, model: str, *assignments: str) -> None:
    given = {k: yaml.safe_load(v) for k, v in (a.split("=", 1) for a in assignments)}
    entry = {"kind": "scvi", "params": given} if model == "scvi" else {"kind": "sysvi", "preset": model, "params": given}
    run = expand_model("pancreas_human_mouse", model, entry, [0])[0]
    start = time.perf_counter()
    info = execute_run(run, Path(preprocessed), Path(out), KEYS, accelerator="cpu", threads=1, checkpoints=(0.25, 0.5))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"process CPU time {usage.ru_utime + usage.ru_stime:.0f} s (wall {time.perf_counter() - start:.0f} s; "
          "CPU time is the cost on a quiet core, wall time depends on the machine's load)")
    history = pd.read_csv(Path(out) / "history.tsv", sep="\t")
    change, converged = run_convergence(history, stopped_early=info.get("stopped_early", False))
    print({k: info.get(k) for k in ("status", "reason", "n_epochs", "max_epochs", "stopped_early", "wall_time_s",
                                    "kl_weight_reached", "kl_warmup_complete")},
          {"convergence": round(change, 4), "converged": converged})


if __name__ == "__main__":
    main(*sys.argv[1:])
