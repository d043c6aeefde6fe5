"""Coerce raw columns (text from CSV, typed from Parquet, Excel or SQL) into contract kinds.

One public function, :func:`coerce`, turns one raw column into the kind the data contract
declares (``str``, ``float``, ``int``, ``datetime``, ``date``, ``month``) and says which
values could not be read, so that the loader can report each of them with its row number.
:data:`BAD_VALUE_REASONS` holds the reason reported for an unreadable value of each kind,
and :func:`empty_column` builds an all-missing column of a kind (a column an export lacks).

Forms read:

- numbers with currency symbols, spaces and thousands separators (``¥1,234.50``);
- dates as ISO 8601, with slashes (``2026/1/5``) or in Chinese (``2026年11月29日``);
- timestamps with an offset (``Z``, ``+08:00``) as given, naive ones as wall-clock times in
  the business time zone passed in, stored as UTC.

Only :mod:`playbook.errors` and :mod:`playbook.schema` are imported from the package.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from .errors import ArgumentError
from .schema import Kind

__all__ = ["coerce", "empty_column", "check_timezone", "KINDS", "EMPTY_DTYPES", "BAD_VALUE_REASONS"]

KINDS: tuple[str, ...] = ("str", "float", "int", "datetime", "date", "month")

#: dtype of a column of each kind when the export lacks it (optional integers stay float).
EMPTY_DTYPES: dict[str, str] = {"str": "str", "float": "float64", "int": "float64",
                                "datetime": "datetime64[us, UTC]", "date": "datetime64[us]",
                                "month": "datetime64[us]"}

#: the reason reported for a value that cannot be read as each kind.
BAD_VALUE_REASONS: dict[str, str] = {"float": "not a number", "int": "not a whole number",
                                     "datetime": "unparseable date/time", "date": "unparseable date",
                                     "month": "unparseable month"}

_CURRENCY = r"[,\s¥￥$€£]"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_CN_DATE = r"\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?"


def check_timezone(timezone: str, name: str = "timezone") -> str:
    """Return ``timezone`` if it is a known IANA time zone name.

    Parameters
    ----------
    timezone : str
        The zone name to check, e.g. ``"Europe/London"``.
    name : str
        What the value is called in the error message.

    Returns
    -------
    str
        ``timezone`` unchanged.

    Raises
    ------
    ArgumentError
        If the zone is unknown.
    """
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ArgumentError(name, timezone, "an IANA time zone name such as 'Europe/London'") from None
    return timezone


def empty_column(kind: Kind, index: pd.Index) -> pd.Series:
    """An all-missing column of ``kind`` on ``index`` (for a column the export lacks).

    Parameters
    ----------
    kind : {"str", "float", "int", "datetime", "date", "month"}
        The contract kind.
    index : pandas.Index
        The index of the table the column joins.

    Returns
    -------
    pandas.Series
    """
    if kind not in EMPTY_DTYPES:
        raise ArgumentError("kind", kind, KINDS)
    return pd.Series(float("nan"), index=index).astype(EMPTY_DTYPES[kind])


def coerce(series: pd.Series, kind: Kind, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Coerce one raw column into a contract kind.

    Parameters
    ----------
    series : pandas.Series
        The raw column: text (as read from CSV) or already typed (Parquet, Excel, SQL).
    kind : {"str", "float", "int", "datetime", "date", "month"}
        The kind the data contract declares for the column.
    timezone : str
        The business time zone: naive timestamps are wall-clock times in it, and aware
        values are turned into its local dates for ``date`` and ``month`` columns.

    Returns
    -------
    values : pandas.Series
        Text with surrounding blanks stripped (blank is missing), ``float64`` numbers (also
        for ``int``: whole numbers, cast by the caller once missing values are settled),
        UTC timestamps (``datetime64[us, UTC]``), naive dates (``datetime64[us]``), or the
        first day of the month.
    bad : pandas.Series of bool
        True where a value was present but could not be read as ``kind``; its value in
        ``values`` is missing. See :data:`BAD_VALUE_REASONS` for the reason to report.

    Raises
    ------
    ArgumentError
        If ``kind`` is not a contract kind, or ``timezone`` is not a known zone.
    """
    if kind not in KINDS:
        raise ArgumentError("kind", kind, KINDS)
    if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        present = series.notna() & ~(series.astype("str").str.strip() == "").fillna(False)
    else:
        present = series.notna()
    if kind == "str":
        return _as_text(series), pd.Series(False, index=series.index)
    if kind in ("float", "int"):
        return _as_number(series, kind, present)
    check_timezone(timezone)
    return _as_time(series, kind, timezone, present)


def _as_text(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def _as_number(s: pd.Series, kind: str, present: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype("float64")
    else:
        text = s.astype("string").str.replace(_CURRENCY, "", regex=True)
        out = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = present & out.isna()
    if kind == "int":
        frac = out.notna() & (out % 1 != 0)
        bad |= frac
        out = out.mask(frac)
    return out, bad


def _normalise_dates(s: pd.Series) -> pd.Series:
    """Chinese (年月日) and slash date forms rewritten with dashes."""
    s = s.astype("string").str.strip()
    cn = s.str.contains("年", na=False)
    if cn.any():
        s = s.mask(cn, s[cn].str.replace(
            _CN_DATE, lambda m: f"{m.group(1)}-{m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else ""), regex=True))
    return s.str.replace("/", "-", regex=False)


def _parse_naive(s: pd.Series) -> pd.Series:
    """ISO 8601 first (fast), then pandas' mixed formats for what is left."""
    out = pd.to_datetime(s, format="ISO8601", errors="coerce")
    left = out.isna() & s.notna()
    if left.any():
        out = out.copy()
        out[left] = pd.to_datetime(s[left], format="mixed", errors="coerce")
    return out


def _as_time(s: pd.Series, kind: str, tz: str, present: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    else:
        text = _normalise_dates(s)
        aware = text.str.contains(_OFFSET, na=False)
        if kind == "datetime":
            parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
            if aware.any():
                parsed[aware] = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
            if (~aware).any():
                naive = _parse_naive(text[~aware])
                parsed[~aware] = naive.dt.tz_localize(tz, ambiguous="NaT",
                                                      nonexistent="shift_forward").dt.tz_convert("UTC")
        elif aware.any():  # dates given as timestamps with an offset count in the local day of ``tz``
            parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
            local = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce").dt.tz_convert(tz)
            parsed[aware] = local.dt.tz_localize(None)
            if (~aware).any():
                parsed[~aware] = _parse_naive(text[~aware])
        else:
            parsed = _parse_naive(text)
    if kind == "datetime":
        if parsed.dt.tz is None:  # typed naive values (Parquet, Excel, SQL): wall-clock times in ``tz``
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        parsed = parsed.dt.tz_convert("UTC")
        parsed = parsed.astype("datetime64[us, UTC]")
    else:
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        parsed = parsed.dt.normalize().astype("datetime64[us]")
        if kind == "month":
            parsed = parsed.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]")
    return parsed, present & parsed.isna()
