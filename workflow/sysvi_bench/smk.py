"""Glue for Snakemake ``script:`` jobs: send everything a job prints (Python and C level) to its log."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def logged(log_path: str | Path) -> Iterator[None]:
    """Redirect stdout and stderr file descriptors to ``log_path`` for the duration of the block."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            traceback.print_exc()  # into the log, where users look first; re-raised for Snakemake
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def limit_threads(threads: int) -> None:
    """Keep a job's numeric libraries to the job's ``threads`` (call before they are imported).

    XLA's CPU backend (JAX, scib-metrics) otherwise uses every core of the machine, numba and BLAS too, so
    jobs running side by side oversubscribe the cores (measured on 2 cores: a 2-thread torch job beside a busy
    core ran 11x slower). With one thread, XLA's own thread pool is switched off; numba and BLAS/OpenMP get ``threads``.
    A scoring job on the demo took 21 s on one thread and 19 s on two (measured): little is lost.
    """
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
    from threadpoolctl import threadpool_limits  # BLAS libraries already loaded (numpy's)

    threadpool_limits(threads)
