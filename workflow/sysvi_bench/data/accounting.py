"""Accounting of removed cells and genes: the rows of ``preprocess_report.tsv`` (and of raw.h5ad's source report).

The prepare step (reading, rounding, ortholog mapping) and the preprocess step (QC, HVGs) add rows to one
:class:`Accounting`; the prepare step's rows travel in ``raw.h5ad``'s ``uns[SOURCE_REPORT_KEY]`` and are
prepended to the preprocess report, so one table shows every cell and gene that was removed.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData

from sysvi_bench import contracts as C


class Accounting:
    """Rows of :data:`sysvi_bench.contracts.PREPROCESS_REPORT_COLUMNS`, collected step by step."""

    def __init__(self, rows: pd.DataFrame | None = None) -> None:
        self.rows: list[dict] = [] if rows is None else rows[C.PREPROCESS_REPORT_COLUMNS].to_dict("records")

    def add(self, step: str, system: str, n_cells: int, n_genes: int, note: str = "") -> None:
        """Record the cells and genes left after ``step`` in ``system`` (``all`` for the whole dataset)."""
        self.rows.append({"step": step, "system": str(system), "n_cells": int(n_cells), "n_genes": int(n_genes),
                          "note": note})

    def add_dataset(
        self, step: str, adata: AnnData, systems: pd.Series | np.ndarray, *,
        notes: Mapping[str, str] | None = None, note: str = "",
    ) -> None:
        """One row per system (its cells; genes of the whole matrix) and one ``all`` row for ``adata``."""
        systems = pd.Series(np.asarray(systems, dtype=str))
        for system, n_cells in systems.value_counts(sort=False).sort_index().items():
            self.add(step, system, n_cells, adata.n_vars, (notes or {}).get(system, ""))
        self.add(step, C.REPORT_ALL_SYSTEMS, adata.n_obs, adata.n_vars, note)

    def frame(self) -> pd.DataFrame:
        """The rows as a table (the columns of the contract, in order)."""
        table = pd.DataFrame(self.rows, columns=C.PREPROCESS_REPORT_COLUMNS)
        return table.astype({"n_cells": "int64", "n_genes": "int64", "note": str})

    def summary(self) -> str:
        """The table as plain text, for the job's log: one line per row, the note last."""
        table = self.frame()
        width = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in C.PREPROCESS_REPORT_COLUMNS[:-1]}
        lines = ["  ".join(c.ljust(width[c]) for c in width) + "  note"]
        for row in table.itertuples(index=False):
            values = row._asdict()
            lines.append("  ".join(str(values[c]).ljust(width[c]) for c in width) + f"  {values['note']}")
        return "\n".join(lines)


def from_uns(adata: AnnData) -> Accounting | None:
    """The prepare step's accounting stored in ``adata.uns``, or None (a raw file written before it existed)."""
    table = adata.uns.get(C.SOURCE_REPORT_KEY)
    return Accounting(pd.DataFrame(table)) if table is not None else None


def to_uns(adata: AnnData, accounting: Accounting) -> None:
    """Store ``accounting`` in ``adata.uns`` (a plain table, readable by anndata and pandas)."""
    adata.uns[C.SOURCE_REPORT_KEY] = accounting.frame()
