"""The data model every layer shares: :class:`Portfolio` and its :class:`LoadReport`.

Nothing here reads files or content; :mod:`playbook.loading` builds portfolios from
sources, :mod:`playbook.demo` generates them.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schema import CODED, TABLES

__all__ = ["Portfolio", "LoadReport", "ERROR_COLUMNS", "errors_frame"]

ERROR_COLUMNS = ["table", "file", "row", "column", "value", "reason"]


def errors_frame(rows: list[dict] | None = None) -> pd.DataFrame:
    """A problems table with the report's columns (empty when ``rows`` is empty)."""
    return pd.DataFrame(rows, columns=ERROR_COLUMNS) if rows else pd.DataFrame(columns=ERROR_COLUMNS)


@dataclass
class LoadReport:
    """What happened to every row: counts per table and file, and every problem found."""

    source: str
    counts: pd.DataFrame
    errors: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return int(self.counts["rejected"].sum()) == 0

    @property
    def rows_read(self) -> int:
        """Rows read over every table."""
        return int(self.counts["read"].sum())

    @property
    def rows_accepted(self) -> int:
        """Rows that passed the data contract."""
        return int(self.counts["accepted"].sum())

    @property
    def rows_rejected(self) -> int:
        """Rows reported as problems."""
        return int(self.counts["rejected"].sum())

    def to_text(self, max_errors: int | None = 200) -> str:
        """A plain-text report: the reconciliation line, counts per table, and each problem."""
        lines = [f"source: {self.source}",
                 f"rows read {self.rows_read} = accepted {self.rows_accepted} + rejected {self.rows_rejected}",
                 "", self.counts.to_string(index=False)]
        lines += [f"note: {n}" for n in self.notes]
        if len(self.errors):
            lines += ["", f"problems ({len(self.errors)}):"]
            shown = self.errors if max_errors is None else self.errors.head(max_errors)
            for r in shown.itertuples(index=False):
                row = "all rows" if pd.isna(r.row) else f"row {int(r.row)}"
                val = "" if pd.isna(r.value) else f" (value: {r.value})"
                lines.append(f"  {r.file}: {row}: column {r.column}: {r.reason}{val}")
            if max_errors is not None and len(self.errors) > max_errors:
                lines.append(f"  ... {len(self.errors) - max_errors} more (use --all to list every problem)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def coded(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` with the code columns of ``table`` (:data:`playbook.schema.CODED`) as categoricals.

    A new frame sharing the other columns; the caller's frame is left as it is.
    """
    todo = {c: _code_column(frame[c]) for c in CODED.get(table, ()) if c in frame}
    todo = {c: s for c, s in todo.items() if s is not frame[c]}
    return frame.assign(**todo) if todo else frame


def _code_column(s: pd.Series) -> pd.Series:
    """``s`` as a categorical of text (``str`` categories), sharing ``s`` when it already is one."""
    cat = s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("category")
    cats = cat.cat.categories
    if cats.dtype != "str":
        text = cats.astype("str")
        if not text.is_unique:  # e.g. 1 and "1": one code once written as text
            return s.astype("str").astype("category")
        cat = cat.cat.rename_categories(text) if len(cats) else \
            cat.astype(pd.CategoricalDtype(pd.Index([], dtype="str")))
    if not cat.cat.categories.is_monotonic_increasing:  # one order however read (a file's dictionary keeps its own)
        cat = cat.cat.reorder_categories(cat.cat.categories.sort_values())
    return cat


def _id_data(frame: pd.DataFrame) -> object | None:
    """The Arrow array holding ``frame``'s ``account_id`` (``None`` when it is held otherwise)."""
    if "account_id" not in frame.columns:
        return None
    arr = frame["account_id"].array
    return arr.__arrow_array__() if isinstance(arr, pd.arrays.ArrowStringArray) else None


@dataclass
class Portfolio:
    """The canonical tables of one portfolio, plus how they were loaded.

    ``truth`` is only set for synthetic (demo) portfolios: each account's hidden type.
    ``timezone`` is the business time zone: the one naive timestamps were read in, and the
    one that days and months of the portfolio are counted in (``None``: the playbook's
    ``settings.yaml`` default). Accounts with their own ``timezone`` keep it for compliance.
    ``currency`` is the ISO code its amounts are in (``None``: the playbook's, ``costs.yaml``).
    """

    accounts: pd.DataFrame
    interactions: pd.DataFrame
    payments: pd.DataFrame
    history: pd.DataFrame
    report: LoadReport | None = None
    sources: dict[str, str] = field(default_factory=dict)
    truth: pd.DataFrame | None = None
    timezone: str | None = None
    currency: str | None = None
    _positions: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for t in CODED:  # one canonical dtype, however the portfolio was made
            setattr(self, t, coded(getattr(self, t), t))

    def known_positions(self, table: str) -> np.ndarray | None:
        """The account positions kept by :meth:`keep_positions` for ``table``, or ``None``.

        They are handed out only while ``table``'s and the accounts' ``account_id`` are the
        very Arrow arrays they were computed from (immutable data, followed by weak
        references): a table or accounts replaced or sliced since gets ``None``. The array
        is read-only.
        """
        kept = self._positions.get(table)
        if kept is None:
            return None
        ids, acc_ids, positions = kept[0](), kept[1](), kept[2]
        if ids is None or acc_ids is None or ids is not _id_data(getattr(self, table)) \
                or acc_ids is not _id_data(self.accounts):
            return None
        return positions

    def keep_positions(self, table: str, positions: np.ndarray) -> None:
        """Keep ``positions`` (per row of ``table``, the position of its ``account_id`` among
        the accounts' ids; -1: none) for :meth:`known_positions`. Nothing is kept when an
        ``account_id`` column is not held as an Arrow array (its values could change in place)."""
        ids, acc_ids = _id_data(getattr(self, table)), _id_data(self.accounts)
        if ids is not None and acc_ids is not None and len(positions) == len(ids):
            kept = positions.view()
            kept.flags.writeable = False
            self._positions[table] = (weakref.ref(ids), weakref.ref(acc_ids), kept)

    @property
    def sha256(self) -> str:
        """One digest over every input's sha256 (data provenance)."""
        h = hashlib.sha256()
        for k in sorted(self.sources):
            h.update(f"{k}={self.sources[k]}\n".encode())
        return h.hexdigest()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four canonical tables by name."""
        return {t: getattr(self, t) for t in TABLES}

    @property
    def missing(self) -> tuple[str, ...]:
        """The tables other than accounts that hold no rows (absent from the export, or empty).

        Figures that need them are n/a, never 0.
        """
        return tuple(t for t in TABLES[1:] if len(getattr(self, t)) == 0)


STALE_DAYS = 45  # more than a month and a half between the data's last record and the as-of day


def latest_record(pf: Portfolio) -> pd.Timestamp | None:
    """The day of the portfolio's latest dated record: the last interaction, payment, or the
    end of the last history month (``None`` when no table holds a date)."""
    days = []
    for table, col in (("interactions", "ts"), ("payments", "paid_at")):
        frame = getattr(pf, table)
        if len(frame) and col in frame and frame[col].notna().any():
            days.append(pd.Timestamp(frame[col].max()).tz_localize(None).normalize())
    if len(pf.history) and pf.history["month"].notna().any():
        days.append(pd.Timestamp(pf.history["month"].max()) + pd.offsets.MonthEnd(0))
    return max(days) if days else None


def stale_warning(pf: Portfolio, as_of: pd.Timestamp, lang: str, playbook) -> str | None:  # noqa: ANN001
    """The warning, in ``lang``, that ``as_of`` is more than :data:`STALE_DAYS` from the data's
    latest record: after it (figures are as the data stood then, not aged), or before it (the
    later events are left out, but days past due, balances and statuses are the export's, not
    as of ``as_of``); ``None`` otherwise."""
    last = latest_record(pf)
    if last is None:
        return None
    days = (pd.Timestamp(as_of) - last).days
    if abs(days) <= STALE_DAYS:
        return None
    key = "missing.stale" if days > 0 else "missing.early"
    return playbook.text(key, lang).format(last=last.date(), as_of=pd.Timestamp(as_of).date(), days=abs(days))
