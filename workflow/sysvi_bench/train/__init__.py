"""The train step (rules ``plan_runs`` and ``train`` in workflow/rules/train.smk): fit one run's model.

Owns the model registry (:mod:`.models`: one ``ModelSpec`` per kind, with its fitter), the training budget
(:mod:`.budget`: ``max_epochs: auto``, early stopping, KL warm-up), the embeddings kept at checkpoints
(:mod:`.checkpoints`), the accelerator choice (:mod:`.devices`) and the run itself (:mod:`.run`: fit, check and
record ``embedding.h5ad``, ``history.tsv``, ``run_info.json``). The run plan that all steps share is
:mod:`sysvi_bench.grid`.
"""

from sysvi_bench.train.run import execute_run

__all__ = ["execute_run"]
