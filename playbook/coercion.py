"""Coerce raw columns (text from CSV, typed from Parquet, Excel or SQL) into contract kinds.

One public function, :func:`coerce`, turns one raw column into the kind the data contract
declares (``str``, ``float``, ``int``, ``datetime``, ``date``, ``month``) and says which
values could not be read, so that the loader can report each of them with its row number.
:data:`BAD_VALUE_REASONS` holds the reason reported for an unreadable value of each kind,
and :func:`empty_column` builds an all-missing column of a kind (a column an export lacks).

Forms read:

- numbers with currency symbols, spaces and thousands separators (``¥1,234.50``), with the
  decimal mark declared (``1.234,50`` with ``decimal=","``; undeclared, numbers that only
  read with a ``,`` decimal mark are refused as ambiguous), percentages with
  ``fmt="percent"``; non-finite numbers (``inf``, ``1e400``) and whole numbers beyond
  2**53 are refused before any integer cast;
- dates as ISO 8601, with slashes (``2026/1/5``) or in Chinese (``2026年11月29日``);
- timestamps with an offset (``Z``, ``+08:00``) as given, naive ones as wall-clock times in
  the business time zone passed in, stored as UTC; a local time that does not exist or
  happens twice at a daylight-saving change is refused with that reason, never shifted;
- any date form given by a ``strftime`` pattern (``fmt="%b-%Y"`` reads ``Mar-2019``).

Only :mod:`playbook.arrays`, :mod:`playbook.errors` and :mod:`playbook.schema` are imported from the package.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from .arrays import padded_or_empty
from .errors import ArgumentError
from .schema import Kind

__all__ = ["coerce", "coerce_reasons", "coerce_typed", "MAX_WHOLE", "empty_column", "check_timezone", "KINDS", "EMPTY_DTYPES", "BAD_VALUE_REASONS"]

KINDS: tuple[str, ...] = ("str", "float", "int", "datetime", "date", "month")

#: dtype of a column of each kind when the export lacks it (optional integers stay float).
EMPTY_DTYPES: dict[str, str] = {"str": "str", "float": "float64", "int": "float64",
                                "datetime": "datetime64[us, UTC]", "date": "datetime64[us]",
                                "month": "datetime64[us]"}

#: the reason reported for a value that cannot be read as each kind.
BAD_VALUE_REASONS: dict[str, str] = {"float": "not a number", "int": "not a whole number",
                                     "datetime": "unparseable date/time", "date": "unparseable date",
                                     "month": "unparseable month"}

_CURRENCY = r"[\s¥￥$€£]"  # thousands separators are read by the decimal-mark rules
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


def coerce(series: pd.Series, kind: Kind, timezone: str, *, fmt: str | None = None,
           decimal: str | None = None) -> tuple[pd.Series, pd.Series]:
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
    fmt : str, optional
        For numbers, ``"percent"`` (``13.5%`` and ``13.5`` both read as 0.135); for dates
        and timestamps, a ``strftime`` pattern such as ``"%b-%Y"`` (``Mar-2019``).
    decimal : {".", ","}, optional
        The declared decimal mark. Undeclared, ``.`` is used and numbers that only read
        with a ``,`` decimal mark (``1,5``, ``1.234,50``) are refused as ambiguous.

    Returns
    -------
    values : pandas.Series
        Text with surrounding blanks stripped (blank is missing), ``float64`` numbers (also
        for ``int``: whole numbers, cast by the caller once missing values are settled),
        UTC timestamps (``datetime64[us, UTC]``), naive dates (``datetime64[us]``), or the
        first day of the month.
    bad : pandas.Series of bool
        True where a value was present but could not be read as ``kind``; its value in
        ``values`` is missing. :func:`coerce_reasons` says why for each value.

    Raises
    ------
    ArgumentError
        If ``kind`` is not a contract kind, ``timezone`` is not a known zone, or ``fmt``
        or ``decimal`` do not fit the kind.
    """
    values, reasons = coerce_reasons(series, kind, timezone, fmt=fmt, decimal=decimal)
    return values, reasons.notna()


def coerce_reasons(series: pd.Series, kind: Kind, timezone: str, *, fmt: str | None = None,
                   decimal: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Like :func:`coerce`, but says for every unreadable value why.

    Returns
    -------
    values : pandas.Series
        As :func:`coerce`.
    reasons : pandas.Series of object
        ``None`` where the value was read (or was missing), else the reason a person can
        act on, e.g. ``"not a finite number"`` or ``"local time does not exist in
        Europe/London (clocks go forward); give the UTC offset"``.
    """
    typed = coerce_typed(series, kind, timezone, fmt=fmt, decimal=decimal)
    if typed is not None:
        return typed, _reasons(series.index)
    if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        present = series.notna() & ~(series.astype("str").str.strip() == "").fillna(False)
    else:
        present = series.notna()
    if kind in ("float", "int"):
        return _as_number(series, kind, present, fmt, decimal)
    check_timezone(timezone)
    return _as_time(series, kind, timezone, present, fmt)


def coerce_typed(series: pd.Series, kind: Kind, timezone: str, *, fmt: str | None = None,
                 decimal: str | None = None) -> pd.Series | None:
    """The column as ``kind`` when it is typed as that kind already and every value reads.

    Text always reads; typed numbers (Parquet, Excel, SQL) read when all are finite (and
    whole, up to :data:`MAX_WHOLE`, for ``int``), time zone aware timestamps when the kind
    is ``datetime``, and naive or aware ones when it is ``date`` or ``month``. These are
    checked with reductions over the column, so the common case of a typed export costs no
    per-value work; a loader then needs no per-value reasons.

    Parameters
    ----------
    series, kind, timezone, fmt, decimal
        As :func:`coerce`.

    Returns
    -------
    pandas.Series or None
        The values :func:`coerce` returns, or ``None`` when some value needs the per-value
        reading of :func:`coerce_reasons` (text numbers and dates, non-finite or fractional
        numbers, naive timestamps of a ``datetime`` column).
    """
    if kind not in KINDS:
        raise ArgumentError("kind", kind, KINDS)
    if decimal not in (None, ".", ","):
        raise ArgumentError("decimal", decimal, ("'.'", "','"))
    if fmt is not None and kind == "str":
        raise ArgumentError("fmt", fmt, "no format for text columns")
    if fmt is not None and kind in ("float", "int") and fmt != "percent":
        raise ArgumentError("fmt", fmt, "'percent' for numbers")
    if kind == "str":
        return _as_text(series)
    if kind in ("float", "int"):
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            return None
        out = series.astype("float64")
        if fmt == "percent":
            out = out / 100.0
        v = out.to_numpy(dtype="float64", na_value=np.nan)
        if np.isinf(v).any():
            return None
        if kind == "int":  # whole numbers within range (NaN compares False: missing values pass)
            if (np.abs(v) > MAX_WHOLE).any() or (v - np.floor(v) > 0).any():
                return None
        return out
    if not pd.api.types.is_datetime64_any_dtype(series):
        return None
    check_timezone(timezone)
    if kind == "datetime":
        if series.dt.tz is None:  # wall-clock times: a daylight-saving change may make some unreadable
            return None
        return series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    local = series.dt.tz_convert(timezone).dt.tz_localize(None) if series.dt.tz is not None else series
    return _day_start(local) if kind == "date" else _month_start(local)


_US_DAY = 86_400_000_000
_NAT = np.iinfo("int64").min


def _day_start(s: pd.Series) -> pd.Series:
    """Naive timestamps as the start of their day, in microseconds (integer arithmetic: the
    floor to a multiple of a day, as NumPy's calendar conversion gives, without its per-value
    cost; missing values stay missing)."""
    v = s.to_numpy(dtype="datetime64[us]")
    i = v.view("int64")
    off = i % _US_DAY
    off[i == _NAT] = 0
    if not off.any():  # every value is a day start already (the usual date column)
        return s if s.dtype == "datetime64[us]" else pd.Series(v, index=s.index)
    return pd.Series((i - off).view("datetime64[us]"), index=s.index)


def _month_start(s: pd.Series) -> pd.Series:
    """Naive timestamps as the first day of their month, in microseconds."""
    v = s.to_numpy(dtype="datetime64[us]")
    if len(v) > 1_000:  # a history table holds a few distinct months: convert each once
        uniq = pd.unique(v.view("int64"))
        if len(uniq) <= len(v) // 100:
            starts = uniq.view("datetime64[us]").astype("datetime64[M]").astype("datetime64[us]")  # NaT stays
            if np.array_equal(uniq, starts.view("int64")):
                return _same_or_new(s, v, v)
            return _same_or_new(s, v, starts[pd.Index(uniq).get_indexer(v.view("int64"))])
    day = v.astype("datetime64[D]")
    known = ~np.isnat(day)
    every = bool(known.all()) and len(day) > 0
    num = day.view("int64")
    lo, hi = (int(num.min()), int(num.max())) if every else \
        (int(num[known].min()), int(num[known].max())) if known.any() else (0, -1)
    if hi - lo > 1_000_000:  # days over more than 2,700 years: convert each
        return _same_or_new(s, v, day.astype("datetime64[M]").astype("datetime64[us]"))
    # NumPy's day -> month conversion is slow per value: convert each day of the span once, then look up
    first = np.arange(lo, hi + 1, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[us]")
    if every:
        return _same_or_new(s, v, first[num - lo])
    out = first[np.where(known, num - lo, 0)] if len(first) else np.full(len(day), np.datetime64("NaT", "us"))
    out[~known] = np.datetime64("NaT", "us")
    return _same_or_new(s, v, out)


def _same_or_new(s: pd.Series, before: np.ndarray, after: np.ndarray) -> pd.Series:
    """``s`` itself when ``after`` holds the values it has (already in microseconds), else ``after``:
    a column that needed no change is shared, not held twice."""
    if s.dtype == "datetime64[us]" and np.array_equal(before.view("int64"), after.view("int64")):
        return s
    return pd.Series(after, index=s.index)


def _as_text(s: pd.Series) -> pd.Series:
    import pyarrow as pa

    if isinstance(s.dtype, pd.CategoricalDtype):  # clean each category once; rows keep their codes
        cats = s.cat.categories
        if cats.dtype == "str" and not s.cat.ordered and not padded_or_empty(pa.array(cats.array)):
            return s  # every category clean already: the column as it is, with no pass over its rows
        clean = _as_text(pd.Series(cats))
        inv, uniq = pd.factorize(clean)
        codes = s.cat.codes.to_numpy()
        new = np.where(codes >= 0, inv[np.maximum(codes, 0)] if len(inv) else -1, -1)
        return pd.Series(pd.Categorical.from_codes(new, dtype=pd.CategoricalDtype(pd.Index(uniq, dtype="str"))),
                         index=s.index)
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")
    text = s.astype("str")
    if not padded_or_empty(pa.array(text.array)):  # the column's own Arrow data, not a copy
        return text  # already clean: share the values instead of holding a second copy of the column
    out = text.str.strip()
    return out.mask(out == "")


#: integers beyond this are refused before any integer cast (float64 holds them exactly).
MAX_WHOLE = 2 ** 53

_NUMERIC_TEXT = r"^[+-]?[\d.,]+(?:[eE][+-]?\d+)?$"
_GROUPED = {".": r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$|^[+-]?\.\d+$",
            ",": r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$|^[+-]?,\d+$"}


def _reasons(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def _as_number(s: pd.Series, kind: str, present: pd.Series, fmt: str | None,
               decimal: str | None) -> tuple[pd.Series, pd.Series]:
    why = _reasons(s.index)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype("float64")
        if fmt == "percent":
            out = out / 100.0
        v = out.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            fine = ~np.isinf(v).any() and (kind != "int" or not ((np.abs(v) > MAX_WHOLE) | (v % 1 != 0)).any())
        if fine:  # typed numbers (Parquet, Excel, SQL) with nothing to report: skip the checks below
            return out, why
    else:
        text = s.astype("string").str.replace(_CURRENCY, "", regex=True).str.replace("'", "", regex=False)
        pct = text.str.endswith("%").fillna(False)
        if fmt == "percent":
            text = text.mask(pct, text.str.slice(0, -1))
        elif pct.any():
            why[pct & present] = "a percent value; declare `format: percent` for this column in the mapping"
        mark = decimal or "."
        numeric = text.str.match(_NUMERIC_TEXT).fillna(False)
        grouped = text.str.match(_GROUPED[mark]).fillna(False)
        wrong = numeric & ~grouped & present & why.isna()
        if wrong.any():
            why[wrong] = ("ambiguous decimal format; declare the decimal mark in the mapping (`decimal: ','` "
                          "for 1.234,50)") if decimal is None else (
                f"does not match the declared decimal mark {decimal!r} (thousands in groups of 3)")
        clean = text.where(~numeric | grouped)
        if mark == ".":
            clean = clean.str.replace(",", "", regex=False)
        else:
            clean = clean.where(~numeric, clean.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        out = pd.to_numeric(clean, errors="coerce").astype("float64")
        if fmt == "percent":
            out = out / 100.0
    infinite = present & out.notna() & ~np.isfinite(out.to_numpy(dtype="float64", na_value=np.nan))
    if infinite.any():
        why[infinite & why.isna()] = "not a finite number"
        out = out.mask(infinite)
    why[present & out.isna() & why.isna()] = BAD_VALUE_REASONS[kind]
    if kind == "int":
        huge = out.notna() & (out.abs() > MAX_WHOLE)
        if huge.any():
            why[huge] = f"out of range for a whole number (more than {MAX_WHOLE:,})"
        frac = out.notna() & ~huge & (out % 1 != 0)
        why[frac] = BAD_VALUE_REASONS[kind]
        out = out.mask(huge | frac)
    return out, why


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


def _localize(naive: pd.Series, tz: str, why: pd.Series) -> pd.Series:
    """Wall-clock times in ``tz`` as aware times; nonexistent and ambiguous DST times are
    missing and reported as such (never shifted)."""
    naive = naive.astype("datetime64[us]") if naive.dt.tz is None else naive
    loc = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    lost = naive.notna() & loc.isna()
    if lost.any():
        early = naive[lost].dt.tz_localize(tz, ambiguous=np.ones(int(lost.sum()), dtype=bool), nonexistent="NaT")
        gap = early.isna()
        why[gap[gap].index] = (f"local time does not exist in {tz} (clocks go forward); "
                               "give the time with its UTC offset")
        why[gap[~gap].index] = (f"ambiguous local time in {tz} (clocks go back, it happens twice); "
                                "give the time with its UTC offset")
    return loc


def _parse_with_format(text: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(text, format=fmt, errors="coerce")


def _as_time(s: pd.Series, kind: str, tz: str, present: pd.Series,
             fmt: str | None = None) -> tuple[pd.Series, pd.Series]:
    why = _reasons(s.index)
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    elif fmt is not None:
        raw = s.astype("string").str.strip()
        try:
            parsed = _parse_with_format(raw, fmt)
        except (ValueError, TypeError) as exc:
            raise ArgumentError("format", fmt, f"a strftime pattern such as '%b-%Y' ({exc})") from None
        if kind == "datetime" and parsed.dt.tz is None:
            parsed = _localize(parsed, tz, why).dt.tz_convert("UTC")
    else:
        text = _normalise_dates(s)
        aware = text.str.contains(_OFFSET, na=False)
        if kind == "datetime":
            parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
            if aware.any():
                parsed[aware] = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
            if (~aware).any():
                naive = _parse_naive(text[~aware])
                parsed[~aware] = _localize(naive, tz, why).dt.tz_convert("UTC")
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
            parsed = _localize(parsed, tz, why)
        parsed = parsed.dt.tz_convert("UTC")
        parsed = parsed.astype("datetime64[us, UTC]")
    else:
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        parsed = _day_start(parsed) if kind == "date" else _month_start(parsed)
    unread = present & parsed.isna()
    if unread.any():
        unread &= why.isna()
        why[unread] = BAD_VALUE_REASONS[kind] + (f" (expected format {fmt!r})" if fmt else "")
    return parsed, why
