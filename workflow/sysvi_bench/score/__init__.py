"""The score step (rules ``evaluation_reference`` and ``score`` in workflow/rules/score.smk): every metric of one
run's embedding, against the dataset's evaluation reference.

:mod:`.suite` orchestrates one run's scoring (the reference, the subsample, embedding variants, one kNN graph
for all metrics); the metrics are small functions on arrays: :mod:`.paper` (the sysVI paper's metrics),
:mod:`.scib` (scib-metrics' suite), :mod:`.cell_types` (cross-system mixing per cell type, label transfer),
built on :mod:`.neighbors` and :mod:`.leiden`; :mod:`.catalogue` names every metric and its type;
:mod:`.by_epoch` scores the embeddings kept at training checkpoints.
"""
