"""Integration metrics. :mod:`.scib` wraps scib-metrics; :mod:`.neighbors` builds the kNN graph once."""
