"""Load a portfolio from files or SQL, map foreign exports onto the data contract, validate.

Every row read is either accepted or reported with its file, row, column and reason;
the counts always reconcile (read = accepted + rejected).

Reading a source is the job of the reader registry (:mod:`playbook.readers`), turning raw
values into contract kinds that of :mod:`playbook.coercion`; this module maps foreign
columns and codes (:class:`Mapping`), checks the contract (pandera), rejects orphan rows,
reconciles the counts, and writes portfolios back out.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic import Field as PydField

from ._checks import check_choice
from .arrays import all_ascii, codes_of
from .coercion import EMPTY_DTYPES, check_timezone, coerce_reasons, coerce_typed, empty_column
from .content import Playbook, load_playbook
from .errors import ArgumentError, DataValidationError, SourceError
from .expressions import ExpressionError, parse
from .masking import neutralise_formulas
from .portfolio import LoadReport, Portfolio, coded, errors_frame
from .readers import RawTable, ReadRequest, read_source, read_table_file, table_suffixes
from .schema import CODED, TABLES, UNIQUE_KEYS, Col, bucket_of_dpd, contract, pandera_schema
from .sql import redact

__all__ = ["Portfolio", "LoadReport", "Mapping", "load_portfolio", "load_table", "read_mapping", "write_portfolio"]

TableName = Literal["accounts", "interactions", "payments", "history"]

#: a code in a mapping: text, or a number (YAML ``0: current`` needs no quotes)
Code = Union[str, int, float]

_FIELD_KEYS = ("from", "expr", "value", "values", "ranges", "other", "default", "format", "decimal", "trim",
               "offset_from")


def _no_bool(v: Any, where: str) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"{where} {v!r} is a YAML boolean (yes/no/true/false/on/off); quote it, e.g. 'yes'")
    if v is None:
        raise ValueError(f"{where} is empty (null); quote it, e.g. '' or 'null'")
    return v


def _code_key(v: Any) -> str:
    """The text a code is matched by: numbers without a trailing ``.0`` (``0`` and ``0.0`` match)."""
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def _canonical_columns() -> dict[str, list[str]]:
    return {t: [c.name for c in cols] for t, cols in contract([]).items()}


class Range(BaseModel):
    """One entry of a field's ``ranges``: numbers from ``min`` to ``max`` (both inclusive,
    either open) become ``value``; the first matching range wins."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    value: Code

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}; swap them")
        _no_bool(self.value, "value")
        return self


class Field(BaseModel):
    """How one canonical column is computed from a foreign export (``fields:`` in a mapping).

    At most one source: ``from`` (a source column), ``expr`` (a safe expression over source
    and canonical columns, see :mod:`playbook.expressions`) or ``value`` (a constant); none
    means the source column with the target's own name. Then, in order: ``trim`` blanks,
    recode with ``values`` (exact codes) and ``ranges`` (numbers), ``other`` for codes
    nothing matched (else they are kept and listed in a warning), ``default`` for missing
    values, and read the kind with ``format`` (``percent``, or a ``strftime`` pattern),
    ``decimal`` and ``offset_from`` (whole months after a month, ``-1`` = the month before).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str | None = PydField(None, alias="from")
    expr: str | None = None
    value: Code | None = None
    values: dict[Code, Code] = {}
    ranges: list[Range] = []
    other: Code | None = None
    default: Code | None = None
    format: str | None = None
    decimal: Literal[".", ","] | None = None
    trim: bool | None = None
    offset_from: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for k, x in v.items():
                _no_bool(k, "the code")
                _no_bool(x, f"the value of code {k!r}")
        return v

    @field_validator("expr")
    @classmethod
    def _parses(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse(str(v))
            except ExpressionError as exc:
                raise ValueError(f"{exc}; expressions allow names, numbers, text, comparisons, and/or/not, "
                                 "+ - * / %, `in [...]` and where/abs/min/max/isna/notna") from None
        return v

    @field_validator("offset_from")
    @classmethod
    def _month(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                pd.Period(str(v), freq="M")
            except (ValueError, TypeError):
                raise ValueError(f"{v!r} is not a month; write it as 2019-03") from None
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "Field":
        given = [k for k, v in (("from", self.source), ("expr", self.expr), ("value", self.value)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"give one of from, expr, value (got {' and '.join(given)})")
        for k in ("other", "default"):
            if getattr(self, k) is not None:
                _no_bool(getattr(self, k), k)
        return self


class Mapping(BaseModel):
    """How a foreign export maps onto the data contract (read from a mapping YAML).

    ``files`` names the file, sheet or SQL table per canonical table; ``columns`` renames
    foreign columns per table (a list feeds several canonical columns from one source
    column); ``values`` maps foreign codes per table and column (e.g. 已承诺还款 -> ptp;
    numeric codes need no quotes); ``fields`` computes canonical columns per table
    (:class:`Field`: from, expr, value, values, ranges, other, default, format, decimal,
    trim, offset_from). ``timezone`` is the export's business time zone: naive timestamps
    are read in it and the portfolio's days are counted in it; ``None`` (not given) means
    the playbook's ``settings.yaml`` zone. ``decimal`` declares the decimal mark of every
    number (``"."`` or ``","``); ``missing`` lists texts that stand for a missing value
    (``NULL``, ``N/A``); ``trim`` strips blanks around codes before matching (default on).
    ``sql`` gives, for a database source, the query per table (it may use ``:as_of``,
    ``:as_of_end`` and ``:window_start``, bound by the command, see :mod:`playbook.sql`);
    credentials never go in a mapping. ``currency`` is the ISO 4217 code the export's
    amounts are in (``USD``); ``None`` means the playbook's (``costs.yaml``).
    """

    model_config = ConfigDict(extra="forbid")

    files: dict[TableName, str] = {}
    encoding: str | None = None
    timezone: str | None = None
    currency: str | None = PydField(default=None, pattern=r"^[A-Z]{3}$")
    decimal: Literal[".", ","] | None = None
    missing: list[str] = []
    trim: bool = True
    columns: dict[TableName, dict[str, Union[str, list[str]]]] = {}
    values: dict[TableName, dict[str, dict[Code, Code]]] = {}
    fields: dict[TableName, dict[str, Field]] = {}
    sql: dict[TableName, str] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return check_timezone(v)
        except ArgumentError:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Europe/London'") from None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is not None:
            import codecs

            try:
                codecs.lookup(v)
            except LookupError:
                raise ValueError(f"unknown encoding {v!r}; use e.g. utf-8, gb18030 or latin-1") from None
        return v

    @field_validator("values", mode="before")
    @classmethod
    def _codes(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for t, cols in v.items():
                for col, codes in (cols or {}).items():
                    for k, x in (codes or {}).items():
                        _no_bool(k, f"values.{t}.{col}: the code")
                        _no_bool(x, f"values.{t}.{col}: the value of code {k!r}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, v: Any) -> Any:
        if isinstance(v, dict):
            keys = [k for k in v if str(k).lower() in ("url", "dsn", "password", "user", "username", "connection")]
            if keys:
                raise ValueError(f"{', '.join(map(str, keys))}: credentials and URLs never go in a mapping; give the "
                                 "database URL on the command line or in the environment (env:PLAYBOOK_DB_URL)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Mapping":
        canon = _canonical_columns()
        kinds = {t: {c.name: c.kind for c in cols} for t, cols in contract([]).items()}
        problems = []
        for t, query in self.sql.items():
            if not query.strip():
                problems.append(f"sql.{t}: the query is empty")
            if t in self.files:
                problems.append(f"sql.{t}: {t} is also named under files; keep one")
        for t, cols in self.columns.items():
            seen: dict[str, str] = {}
            for foreign, targets in cols.items():
                for tgt in [targets] if isinstance(targets, str) else targets:
                    if tgt in seen:
                        problems.append(f"columns.{t}: {seen[tgt]!r} and {foreign!r} both map to {tgt!r}; map only "
                                        f"one of them (combine them with an expression under fields.{t}.{tgt})")
                    seen[tgt] = foreign
            for tgt, foreign in seen.items():
                f = self.fields.get(t, {}).get(tgt)
                if f is not None and (f.source or f.expr or f.value is not None):
                    problems.append(f"fields.{t}.{tgt}: the column is also renamed from {foreign!r} under columns.{t}; "
                                    "keep one of the two")
        for t, fields in self.fields.items():
            for tgt, f in fields.items():
                where = f"fields.{t}.{tgt}"
                if tgt not in canon[t]:
                    problems.append(f"{where}: {tgt!r} is not a column of {t}; known: {', '.join(canon[t])}")
                    continue
                kind = kinds[t][tgt]
                if f.format is not None:
                    if kind in ("float", "int") and f.format != "percent":
                        problems.append(f"{where}.format: {tgt} is a number; the only number format is 'percent'")
                    elif kind in ("datetime", "date", "month") and "%" not in f.format:
                        problems.append(f"{where}.format: write a strftime pattern such as '%b-%Y' (Mar-2019) "
                                        "or '%d/%m/%Y'")
                    elif kind == "str":
                        problems.append(f"{where}.format: {tgt} is text; remove format")
                if f.offset_from is not None and kind not in ("date", "month"):
                    problems.append(f"{where}.offset_from: only for month and date columns")
                if f.values and tgt in self.values.get(t, {}):
                    problems.append(f"{where}.values: codes for {tgt} are also given under values.{t}.{tgt}; keep one")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def read_mapping(path: str | Path | Mapping | None) -> Mapping:
    """Read and validate a mapping YAML.

    Parameters
    ----------
    path : str, Path, Mapping or None
        The mapping file; a :class:`Mapping` is returned as it is, ``None`` gives the empty
        mapping (canonical names, the playbook's business time zone).

    Returns
    -------
    Mapping

    Raises
    ------
    SourceError
        If the file is missing, is not UTF-8 YAML, or is invalid; the message names the
        file and each wrong field.
    """
    if path is None:
        return Mapping()
    if isinstance(path, Mapping):
        return path
    p = Path(path)
    if not p.is_file():
        raise SourceError(str(p), "mapping file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SourceError(str(p), f"mapping is not valid UTF-8 YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SourceError(str(p), "invalid mapping: the file must hold keys such as files, columns, values, fields")
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise SourceError(str(p), f"invalid mapping: {_mapping_problems(exc)}") from None


def _mapping_problems(exc: ValidationError) -> str:
    """pydantic's errors as ``field a.b.c: what is wrong, and how to fix it``."""
    out = []
    for e in exc.errors():
        loc = [str(x) for x in e["loc"] if x != "[key]"]
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            if len(loc) == 1:
                allowed = [f for f in Mapping.model_fields]
            elif "ranges" in loc:
                allowed = list(Range.model_fields)
            elif loc[0] == "fields":
                allowed = list(_FIELD_KEYS)
            else:
                allowed = []
            msg = f"unknown key {loc[-1]!r}" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
        elif e["type"] == "literal_error" and len(loc) >= 2 and loc[0] in ("files", "columns", "values", "fields", "sql"):
            msg = f"{loc[1]!r} is not a table; tables: {', '.join(TABLES)}"
        out.append(f"field {'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(out)


# ------------------------------------------------------------------------ reading


def _request(mapping: Mapping, timezone: str | None = None, as_of: Any = None,
             window_days: int | None = None, skip: dict[str, frozenset[str]] | None = None) -> ReadRequest:
    """What the readers need: names per table, the text encoding, the queries and their parameters."""
    return ReadRequest(names={t: mapping.files.get(t, t) for t in TABLES},
                       named=frozenset(mapping.files), encoding=mapping.encoding, queries=dict(mapping.sql),
                       as_of=as_of, window_days=window_days, timezone=timezone, skip=skip or {},
                       dictionary={t: frozenset(_feeding(mapping, t, set(cols))) for t, cols in CODED.items()})


def _renames(mapping: Mapping, table: str) -> dict[str, list[str]]:
    """The mapping's ``columns`` renames of ``table``: foreign name -> contract names."""
    return {foreign: [tg] if isinstance(tg, str) else list(tg) for foreign, tg in mapping.columns.get(table, {}).items()}


def _field_sources(f: Field) -> set[str]:
    """The source columns a ``fields`` entry reads (its ``from``, or the names in its ``expr``)."""
    return ({f.source} if f.source else set()) | (set(parse(f.expr).names) if f.expr else set())


def _feeding(mapping: Mapping, table: str, names: frozenset[str] | set[str]) -> set[str]:
    """The source columns of ``table`` that the contract columns ``names`` are read from."""
    fields = mapping.fields.get(table, {})
    renames = _renames(mapping, table)
    feeds: set[str] = set()
    for n in names:
        f = fields.get(n)
        if f is not None and (f.source or f.expr or f.value is not None):
            feeds |= _field_sources(f)
        else:
            feeds |= {foreign for foreign, tg in renames.items() if n in tg} or {n}
    return feeds


def _skipped_sources(mapping: Mapping, skip: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Per table, the source columns that feed only skipped contract columns (not read at all)."""
    out = {}
    for table, names in skip.items():
        needed = {foreign for foreign, tg in _renames(mapping, table).items() if not set(tg) <= names}
        for target, f in mapping.fields.get(table, {}).items():
            if target not in names:
                needed |= _field_sources(f)
        out[table] = frozenset(_feeding(mapping, table, names) - needed)
    return out


def _check_skip(skip: Any, spec: dict[str, list[Col]]) -> dict[str, frozenset[str]]:
    """``skip`` as {table: frozenset of contract columns}; required columns cannot be skipped."""
    if skip is None:
        return {}
    if not isinstance(skip, dict):
        raise ArgumentError("skip", skip, "a dict of table -> contract columns, e.g. {'interactions': ['message']}")
    out = {}
    for table, names in skip.items():
        check_choice("skip", table, TABLES)
        optional = [c.name for c in spec[table] if not c.required]
        for n in names:
            if n not in optional:
                raise ArgumentError(f"skip[{table!r}]", n, optional)
        out[table] = frozenset(names)
    return out


def _effective_timezone(mapping: Mapping, pb: Playbook) -> str:
    """The business time zone of a load: the mapping's, else the playbook's ``settings.yaml``."""
    return mapping.timezone or pb.timezone


# ------------------------------------------------------------------------ mapping and checks


#: texts that often stand for a missing value; refused in required columns unless the
#: mapping's ``missing`` list declares them
PLACEHOLDERS = ("nan", "null", "none", "n/a", "na", "#n/a", "nat", "nil", "undefined", "(null)")

#: timestamps more than this many days after today are refused as implausible
FUTURE_DAYS = 366


class _Table:
    """The work on one raw table: problems found so far, keyed by the row as a person sees it."""

    def __init__(self, table: str, raw: RawTable, mapping: Mapping, timezone: str, notes: list[str]) -> None:
        self.table, self.raw, self.mapping, self.tz, self.notes = table, raw, mapping, timezone, notes
        self.label = raw.label
        self.n = len(raw.frame)
        self.parts: list[pd.DataFrame] = []
        self.structural: list[dict] = []

    @functools.cached_property
    def rows(self) -> pd.Series:
        """The source row number of every row (by frame label): made the first time a row is
        reported, so a clean table never holds them."""
        return pd.Series(self.raw.row_numbers(), index=self.raw.frame.index)

    def bad(self, mask: pd.Series, column: str, reason: Any, values: Any = None) -> None:
        """Report the rows where ``mask`` holds; ``reason`` is one text or a Series of them."""
        mask = mask.fillna(False).astype(bool) if mask.dtype != bool else mask
        if not mask.any():
            return
        val = pd.NA if values is None else values[mask].astype("str").str.slice(0, 60).to_numpy()
        why = reason[mask].astype("str").to_numpy() if isinstance(reason, pd.Series) else reason
        self.parts.append(pd.DataFrame({"table": self.table, "file": self.label, "row": self.rows[mask].to_numpy(),
                                        "column": column, "value": val, "reason": why}))

    def whole(self, column: str, reason: str, fix: str = "") -> None:
        """A problem with the table as a whole: every row is rejected."""
        self.structural.append(dict(table=self.table, file=self.label, row=pd.NA, column=column, value=pd.NA,
                                    reason=f"{reason} ({self.n} rows rejected)" + (f"; {fix}" if fix else "")))

    def note(self, text: str) -> None:
        self.notes.append(f"{self.label}: {text}")


def _header_problems(t: _Table) -> None:
    header = [str(h).strip().lstrip("\ufeff") for h in (t.raw.header if t.raw.header is not None else t.raw.frame.columns)]
    for name in sorted({h for h in header if h and header.count(h) > 1}):
        where = [str(i + 1) for i, h in enumerate(header) if h == name]
        t.whole(name, f"duplicate column name: the header names {name!r} in columns {' and '.join(where)}; "
                      "rename one in the export (or drop it)")


def _sources(t: _Table) -> dict[str, pd.Series]:
    """The source columns by name after the mapping's ``columns`` renames (a list copies)."""
    frame = t.raw.frame
    names = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    own = {n: frame.iloc[:, i] for i, n in enumerate(names) if n not in {}}
    renames = t.mapping.columns.get(t.table, {})
    out = {n: s for n, s in own.items() if n not in renames}
    for foreign, targets in renames.items():
        if foreign not in own:
            t.note(f"columns.{t.table} renames {foreign!r}, which is not a column of this file")
            continue
        for tgt in [targets] if isinstance(targets, str) else targets:
            if tgt in own and tgt not in renames:
                t.whole(tgt, f"two source columns for {tgt}: the file's own {tgt!r} and {foreign!r} (renamed by "
                             f"columns.{t.table}); remove one from the mapping, or rename the file's {tgt!r} away")
            out[tgt] = own[foreign]
    return out


def _text(s: pd.Series, trim: bool) -> pd.Series:
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        s = s.astype("str")
        return s.str.strip() if trim else s
    return s


def _codes(s: pd.Series) -> pd.Series:
    """Every value as the text codes are matched by (``0``, ``0.0`` and 0 all read ``0``)."""
    present = s.dropna()
    lut = {v: _code_key(v) for v in pd.unique(present)}
    return s.map(lut)


def _recode(t: _Table, target: str, f: Field, s: pd.Series, where: str) -> pd.Series:
    """Apply ``values``, ``ranges`` and ``other``; warn with every unmatched code and its count."""
    trim = f.trim if f.trim is not None else t.mapping.trim
    keys = _codes(_text(s, trim))
    lut = {(_code_key(k).strip() if trim else _code_key(k)): v for k, v in f.values.items()}
    out = pd.Series(keys.map(lut), index=s.index, dtype=object)
    matched = out.notna()
    if f.ranges:
        num = pd.to_numeric(keys.where(~matched), errors="coerce")
        for r in f.ranges:
            m = ~matched & num.notna()
            if r.min is not None:
                m &= num >= r.min
            if r.max is not None:
                m &= num <= r.max
            out[m] = r.value
            matched |= m
    left = keys.notna() & ~matched
    if left.any():
        counts = keys[left].value_counts()
        if f.other is not None:
            out[left] = f.other
            t.note(f"{where}: {int(left.sum())} values matched no `values`/`ranges` entry and became "
                   f"`other` {f.other!r}: " + ", ".join(f"{k!r} ({v})" for k, v in counts.items()))
        else:
            out[left] = _text(s, trim)[left]
            shown = counts.head(200)
            more = f", and {len(counts) - len(shown)} more codes" if len(counts) > len(shown) else ""
            t.note(f"warning: {where}: {len(counts)} codes matched no `values`/`ranges` entry and are kept as they "
                   "are: " + ", ".join(f"{k!r} ({v})" for k, v in shown.items()) + more
                   + f"; add them under {where}.values (or set `other:`)")
    return out


def _offset_months(t: _Table, s: pd.Series, base: str, column: str) -> pd.Series:
    """Whole-month offsets (``-1``: the month before ``base``) as the first day of their month."""
    num = pd.to_numeric(_text(s, True), errors="coerce")
    present = s.notna() & (_text(s, True).astype("str") != "")
    bad = present & (num.isna() | (num % 1 != 0) | (num.abs() > 12 * 1000))
    t.bad(bad, column, f"not a whole number of months (offset_from {base})", s)
    start = pd.Period(base, freq="M")
    ok = num.where(~bad)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    if ok.notna().any():
        idx = ok.notna()
        months = start.ordinal + ok[idx].astype("int64")
        out[idx] = pd.PeriodIndex.from_ordinals(months.to_numpy(), freq="M").to_timestamp().astype("datetime64[us]")
    return out


def _expression_inputs(t: _Table, f: Field, target: str, done: dict[str, pd.Series],
                       sources: dict[str, pd.Series], where: str) -> dict[str, pd.Series] | None:
    """The columns an expression reads: canonical ones as computed, source ones as numbers,
    or as text where the expression compares them with text."""
    expr = parse(f.expr)
    texty = {name for name, value in expr.literal_pairs() if isinstance(value, str)}
    cols: dict[str, pd.Series] = {}
    for name in sorted(expr.names):
        if name in done:
            cols[name] = done[name]
        elif name in sources:
            s = sources[name]
            if name in texty:
                cols[name] = _text(s, True).mask(lambda x: x == "") if not pd.api.types.is_numeric_dtype(s) else s
            else:
                values, why = coerce_reasons(_missing(t, s), "float", t.tz, decimal=f.decimal or t.mapping.decimal)
                t.bad(why.notna(), name, why.astype("str") + f" (read by {where}.expr)", s)
                cols[name] = values
        else:
            known = sorted(set(done) | set(sources))
            t.whole(target, f"{where}.expr: unknown name {name!r}; known: {', '.join(known)}")
            return None
    return cols


def _missing(t: _Table, s: pd.Series) -> pd.Series:
    """The mapping's ``missing`` texts (e.g. NULL, N/A) as missing values."""
    if not t.mapping.missing or not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s
    text = s.astype("str").str.strip()
    return s.mask(text.isin(t.mapping.missing))


def _double_encoded(s: pd.Series) -> pd.Series:
    """Per value, the text it reads as when UTF-8 was decoded as Latin-1/cp1252 (mojibake), else missing."""
    out = pd.Series(None, index=s.index, dtype=object)
    cand = s.str.contains("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                          "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]", regex=True, na=False)
    if not cand.any():
        return out
    fixed = {}
    for v in pd.unique(s[cand]):
        for enc in ("cp1252", "latin-1"):
            try:
                w = v.encode(enc).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if w != v:
                fixed[v] = w
                break
    return s.map(fixed) if fixed else out


def _prepare(table: str, raw: RawTable, cols: list[Col], mapping: Mapping, timezone: str,
             notes: list[str], skipped: frozenset[str] = frozenset()
             ) -> tuple[pd.DataFrame, np.ndarray | _SourceRows | None, pd.DataFrame, int]:
    """Rename, map codes, coerce and check one raw table; returns (accepted, their row numbers,
    errors, read). The row numbers are ``None`` when the table as a whole is rejected, and made
    only on demand (:class:`_SourceRows`) when every row was accepted."""
    t = _Table(table, raw, mapping, timezone, notes)
    n = t.n
    _header_problems(t)
    sources = _sources(t)
    fields = mapping.fields.get(table, {})
    legacy = mapping.values.get(table, {})
    canon = {c.name: c for c in cols}
    for p in raw.problems:
        t.parts.append(pd.DataFrame([dict(table=table, file=t.label, row=p["row"], column=p["column"],
                                          value=pd.NA if p.get("value") is None else p["value"], reason=p["reason"])]))
    used = {f.source or (None if (f.expr or f.value is not None) else name) for name, f in fields.items()}
    used |= {name for f in fields.values() if f.expr for name in parse(f.expr).names}
    extra = [c for c in sources if c not in canon and c not in used and c not in skipped]
    if extra:
        t.note(f"ignored columns not in the data contract: {', '.join(map(str, extra))}")

    specs: dict[str, Field] = {}
    for c in cols:
        if c.name in fields:
            specs[c.name] = fields[c.name]
        elif c.name in sources:
            specs[c.name] = Field(values=legacy.get(c.name, {}))
    for name, f in specs.items():
        src = f.source if f.source is not None else (name if f.expr is None and f.value is None else None)
        if src is not None and src not in sources:
            t.whole(name, f"fields.{table}.{name}.from names {src!r}, which is not a column of this file "
                          f"(columns: {', '.join(map(str, sources))})")
    missing = [c.name for c in cols if c.required and c.name not in specs
               and not (table == "history" and c.name == "bucket" and "dpd" in specs)]
    for m in missing:
        t.whole(m, "required column missing", "rename a source column onto it under `columns:` "
                   f"or compute it under `fields.{table}.{m}`")
    if t.structural:
        return pd.DataFrame(), None, errors_frame(t.structural), n

    out: dict[str, pd.Series] = {}
    order = [k for k, f in specs.items() if f.expr is None] + [k for k, f in specs.items() if f.expr is not None]
    for name in order:
        f, c = specs[name], canon[name]
        where = f"fields.{table}.{name}" if name in fields else f"values.{table}.{name}"
        if f.expr is not None:
            inputs = _expression_inputs(t, f, name, out, sources, f"fields.{table}.{name}")
            if inputs is None:
                return pd.DataFrame(), None, errors_frame(t.structural), n
            try:
                s = parse(f.expr).evaluate(inputs)
            except ExpressionError as exc:
                t.whole(name, f"fields.{table}.{name}.expr: {exc.reason}")
                return pd.DataFrame(), None, errors_frame(t.structural), n
            if not isinstance(s, pd.Series):
                s = pd.Series([s] * n, index=raw.frame.index, dtype=object)
            shown = s
        elif f.value is not None:
            s = shown = pd.Series([f.value] * n, index=raw.frame.index, dtype=object)
        else:
            s = shown = sources[f.source if f.source is not None else name]
        s = _missing(t, s)
        if f.values or f.ranges:
            s = _recode(t, name, f, s, where)
        if f.default is not None:
            empty = s.isna() | (_text(s, True).astype("str") == "") if not pd.api.types.is_numeric_dtype(s) else s.isna()
            if empty.any():
                s = s.astype(object).mask(empty, f.default)
                t.note(f"{where}: {int(empty.sum())} missing values set to the default {f.default!r}")
        if f.offset_from is not None:
            s = _offset_months(t, s, f.offset_from, name)
        fmt, decimal = None if f.offset_from else f.format, f.decimal or mapping.decimal
        values, why = coerce_typed(s, c.kind, timezone, fmt=fmt, decimal=decimal), None
        if values is None:  # some value needs reading one by one: say why for each that cannot be read
            values, why = coerce_reasons(s, c.kind, timezone, fmt=fmt, decimal=decimal)
            t.bad(why.notna(), name, why, shown)
        out[name] = values
        if c.kind == "str" and len(values):
            _check_text(t, c, values)
        if c.required and not (table == "history" and name == "bucket"):
            t.bad(values.isna() if why is None else values.isna() & why.isna(), name, "required value missing")

    frame = pd.DataFrame({c.name: out[c.name] if c.name in out else empty_column(c.kind, raw.frame.index)
                          for c in cols}, index=raw.frame.index, copy=False)
    del out
    if table == "history":
        need = frame["bucket"].isna() & frame["dpd"].notna()
        if need.any():
            frame.loc[need, "bucket"] = np.asarray(bucket_of_dpd(frame.loc[need, "dpd"])).astype(str)
        t.bad(frame["bucket"].isna() & frame["dpd"].isna() & ~_rejected(t, frame.index, "dpd"), "bucket",
              "required value missing (bucket or dpd)")
    _contract_checks(t, table, cols, frame)
    _future(t, cols, frame)
    errors = pd.concat([p for p in t.parts if len(p)], ignore_index=True) if t.parts else errors_frame([])
    rejected_rows = set(errors["row"].dropna().astype(int)) if len(errors) else set()
    if not rejected_rows:
        return frame, _SourceRows(raw), errors, n
    keep = ~t.rows.isin(rejected_rows).to_numpy()
    return frame[keep], t.rows.to_numpy()[keep], errors, n


class _SourceRows:
    """The source row numbers of a table whose rows were all accepted, made only for the rows
    asked for (``rows[mask]``, ``rows[positions]``): the usual load never needs them."""

    def __init__(self, raw: RawTable) -> None:
        self.given = None if raw.rows is None else np.asarray(raw.rows, dtype="int64")
        self.first = raw.first_row

    def __getitem__(self, sel: np.ndarray) -> np.ndarray:
        sel = np.asarray(sel)
        at = np.flatnonzero(sel) if sel.dtype == bool else sel.astype("int64")
        return self.given[at] if self.given is not None else at + self.first


def _rejected(t: _Table, index: pd.Index, column: str) -> pd.Series:
    """Rows already reported for ``column``."""
    rows = set()
    for p in t.parts:
        rows |= set(p.loc[p["column"] == column, "row"].dropna().astype(int))
    return t.rows.isin(rows)


@functools.cache
def _placeholder_spellings() -> "pa.Array":
    """Every upper/lower-case spelling of the placeholders (matched without lower-casing each value)."""
    import itertools

    import pyarrow as pa

    return pa.array(sorted({"".join(p) for w in PLACEHOLDERS
                            for p in itertools.product(*({ch.lower(), ch.upper()} for ch in w))}),
                    type=pa.large_string())


def _check_text(t: _Table, c: Col, values: pd.Series) -> None:
    """Report missing-value placeholders (in any letter case) and double-encoded text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.dtype, pd.CategoricalDtype):  # look at each category once
        arr = pa.array(pd.Series(values.cat.categories).astype("str").array)
        codes = values.cat.codes.to_numpy()
        if (codes < 0).all():
            return
        on_rows = lambda flags: pd.Series(np.where(codes >= 0, flags[np.maximum(codes, 0)], False),  # noqa: E731
                                          index=values.index)
    else:
        arr = pa.array(values.astype("str").array)  # the column's own Arrow data
        if arr.null_count == len(arr):
            return
        on_rows = lambda flags: pd.Series(flags, index=values.index)  # noqa: E731
    hits = pc.fill_null(pc.is_in(arr, value_set=_placeholder_spellings()), False)
    ph = on_rows(np.asarray(hits)) if pc.any(hits).as_py() else None
    if ph is not None and ph.any():
        if c.required:
            t.bad(ph, c.name, "a missing-value placeholder in a required column; fix the export, or list it under "
                              "`missing:` in the mapping to report it as a missing value", values)
        else:
            counts = values[ph].value_counts()
            t.note(f"{c.name}: {int(ph.sum())} values look like missing-value placeholders and are kept as text: "
                   + ", ".join(f"{k!r} ({v})" for k, v in counts.items())
                   + "; list them under `missing:` in the mapping to read them as missing")
    if all_ascii(arr):
        return  # mojibake needs characters beyond ASCII
    fixed = _double_encoded(values.astype("str") if isinstance(values.dtype, pd.CategoricalDtype) else values)
    moj = fixed.notna()
    if moj.any():
        t.bad(moj, c.name, "text looks double-encoded (UTF-8 read as Latin-1/cp1252): it reads "
                           + fixed[moj].astype("str").map(repr) + " as UTF-8; set `encoding: utf-8` in the mapping",
              values)


def _contract_checks(t: _Table, table: str, cols: list[Col], frame: pd.DataFrame) -> None:
    doubtful = [c for c in cols if c.name in frame and not _holds(c, frame[c.name])]
    if doubtful:  # pandera names every failing row of the columns that reductions could not clear
        _failing_rows(t, table, doubtful, frame)
    key = list(UNIQUE_KEYS.get(table, ()))
    if key and not _grouped_in_order(frame, key):
        complete = frame[key].notna().all(axis=1)
        dup = frame[key].duplicated(keep="first") & complete
        if dup.any():
            first = frame[complete].drop_duplicates(key, keep="first")
            firsts = pd.Series(t.rows[first.index].to_numpy(), index=pd.MultiIndex.from_frame(first[key]))
            at = firsts.reindex(pd.MultiIndex.from_frame(frame.loc[dup, key])).to_numpy()
            t.bad(dup, key[-1], pd.Series([f"duplicate ({', '.join(key)}): row {int(r)} has the same "
                                           f"{' and '.join(key)} (first occurrence kept)" for r in at],
                                          index=frame.index[dup]).reindex(frame.index),
                  frame[key[-1]].astype("str"))


def _failing_rows(t: _Table, table: str, cols: list[Col], frame: pd.DataFrame) -> None:
    """Report every row of ``frame`` whose value in one of ``cols`` fails the contract (pandera)."""
    import pandera.pandas as pa

    try:
        pandera_schema(table, cols).validate(frame, lazy=True, inplace=True)  # checks only; no copy
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        if len(fc):
            idx = fc["index"].astype(int).to_numpy()
            reason = np.where(fc["check"].astype(str) == "field_uniqueness",
                              "duplicate " + fc["column"].astype(str) + " (first occurrence kept)", fc["check"].astype(str))
            t.parts.append(pd.DataFrame({"table": table, "file": t.label, "row": t.rows.loc[idx].values,
                                         "column": fc["column"].astype(str).values,
                                         "value": fc["failure_case"].astype(str).str.slice(0, 60).values,
                                         "reason": reason}))


def _holds(c: Col, s: pd.Series) -> bool:
    """Whether every value of ``s`` passes the contract's checks of ``c``, told by reductions
    over the column (null count, minimum and maximum, the distinct codes, ascending order);
    ``False`` means only that pandera must look at each value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = s.isna()
    if c.required and missing.any():
        return False
    if missing.all():  # nothing to check in an optional column without values
        return True
    text = pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)
    if c.unique:
        if not text or isinstance(s.dtype, pd.CategoricalDtype) or len(s) < 2:
            return len(s) < 2
        arr = pa.array(s.array)
        if arr.null_count or not pc.all(pc.less(arr[:-1], arr[1:])).as_py():  # ascending: each value once
            return False
    for check in c.checks:
        stats = check.statistics or {}
        if check.name == "isin" and text:
            values = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else s
            arr = pc.drop_null(pa.array(pd.Series(values).astype("str").array))
            allowed = pa.array([str(v) for v in stats["allowed_values"]], type=arr.type)
            if not pc.all(pc.fill_null(pc.is_in(arr, value_set=allowed), True)).as_py():
                return False
        elif check.name in _BOUNDS and pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            if np.isnan(v).all():
                continue
            lo, hi = np.nanmin(v), np.nanmax(v)
            if not _BOUNDS[check.name](lo, hi, stats):
                return False
        else:
            return False
    return True


#: per pandera check, whether a column's minimum and maximum prove that each value passes it
_BOUNDS = {
    "greater_than_or_equal_to": lambda lo, hi, st: lo >= st["min_value"],
    "greater_than": lambda lo, hi, st: lo > st["min_value"],
    "less_than_or_equal_to": lambda lo, hi, st: hi <= st["max_value"],
    "less_than": lambda lo, hi, st: hi < st["max_value"],
    "in_range": lambda lo, hi, st: ((lo >= st["min_value"]) if st.get("include_min", True) else (lo > st["min_value"]))
    and ((hi <= st["max_value"]) if st.get("include_max", True) else (hi < st["max_value"])),
}


def _grouped_in_order(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether no two rows share ``key`` because the rows come grouped by the key's first
    (text) column, one group per value, and strictly ascending in its last (e.g. an
    account's history months in order): told by comparing neighbouring rows, no hashing.
    ``False`` means only that the rows must be hashed to tell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(key) != 2 or len(frame) < 2:
        return False
    ids = frame[key[0]]
    last = frame[key[1]]
    if not (pd.api.types.is_string_dtype(ids) or pd.api.types.is_object_dtype(ids)) or ids.isna().any():
        return False
    if not (pd.api.types.is_datetime64_dtype(last) or pd.api.types.is_integer_dtype(last)) or last.isna().any():
        return False
    order = last.to_numpy().view("int64") if pd.api.types.is_datetime64_dtype(last) else last.to_numpy("int64")
    arr = pa.array(ids.astype("str").array)
    change = np.asarray(pc.not_equal(arr[1:], arr[:-1]))
    if not ((order[1:] > order[:-1]) | change).all():
        return False
    firsts = pc.filter(arr, pa.array(np.concatenate([[True], change])))  # each group's value, in file order
    if len(firsts) < 2 or pc.all(pc.less(firsts[:-1], firsts[1:])).as_py():  # groups in order: each value once
        return True
    return pc.count_distinct(firsts).as_py() == len(firsts)


def _future(t: _Table, cols: list[Col], frame: pd.DataFrame) -> None:
    """Timestamps and months implausibly far in the future (a wrong clock, format or year)."""
    limit = pd.Timestamp.now(tz="UTC").normalize() + pd.Timedelta(days=FUTURE_DAYS)
    for c in cols:
        if c.kind not in ("datetime", "month") or c.name not in frame:
            continue
        s = frame[c.name]
        lim = limit if c.kind == "datetime" else limit.tz_localize(None)
        if not len(s) or not s.max() > lim:  # one reduction tells the usual case: nothing that late
            continue
        late = s.notna() & (s > lim)
        today = (limit - pd.Timedelta(days=FUTURE_DAYS)).date()
        t.bad(late, c.name, f"more than {FUTURE_DAYS} days after today ({today}); "
                            "check the export's year, clock or date format", s)


def flag_after_as_of(portfolio_frames: dict[str, pd.DataFrame], as_of: Any, timezone: str) -> list[str]:
    """Notes naming the rows dated after ``as_of`` (kept; computations as of a date ignore them)."""
    if as_of is None:
        return []
    day = pd.Timestamp(as_of)
    end = (day.normalize() + pd.Timedelta(days=1)).tz_localize(timezone) if day.tzinfo is None else day
    notes = []
    for table, col in (("interactions", "ts"), ("payments", "paid_at"), ("history", "month")):
        f = portfolio_frames.get(table)
        if f is None or col not in f or not len(f):
            continue
        s = f[col]
        bound = end if col != "month" else day.to_period("M").to_timestamp()
        if not s.max() > bound:  # one reduction tells the usual case: nothing after the as-of date
            continue
        late = s > bound
        if late.any():
            notes.append(f"warning: {table}: {int(late.sum())} rows have {col} after the as-of date "
                         f"{day.date()} (latest {s[late].max().strftime('%Y-%m') if col == 'month' else s[late].max()}); "
                         f"they are kept, and computations as of "
                         f"{day.date()} ignore them")
    return notes


def _finish(frame: pd.DataFrame, cols: list[Col], table: str) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for c in cols:
        if c.required and c.kind == "int":
            frame[c.name] = frame[c.name].astype("int64")
        elif (c.kind == "str" and c.name not in CODED.get(table, ()) and c.name in frame
              and isinstance(frame[c.name].dtype, pd.CategoricalDtype)):  # read as codes, held as text
            frame[c.name] = frame[c.name].astype("str")
    return coded(frame, table)


def _empty(cols: list[Col]) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=EMPTY_DTYPES[c.kind] if not (c.required and c.kind == "int") else "int64")
                         for c in cols})


def load_portfolio(source: str | Path, mapping: str | Path | Mapping | None = None, *,
                   on_error: Literal["raise", "keep_valid"] = "raise",
                   playbook: Playbook | None = None, as_of: Any = None,
                   window_days: int | None = None, skip: dict[str, list[str]] | None = None) -> Portfolio:
    """Load a portfolio and validate it against the data contract.

    Parameters
    ----------
    source : str or Path
        A folder holding ``accounts``, ``interactions``, ``payments`` and ``history`` as
        ``.parquet``, ``.csv`` (UTF-8, UTF-8 with BOM, GBK/GB18030) or ``.xlsx`` (or any
        other registered file suffix, see :mod:`playbook.readers`); a single ``.xlsx`` with
        one sheet per table; a DuckDB file; or an SQLAlchemy URL. A single CSV or Parquet
        file is read as the accounts table.
    mapping : str, Path or Mapping, optional
        A mapping YAML renaming foreign columns and codes onto the contract.
    on_error : {"raise", "keep_valid"}
        ``"raise"`` raises :class:`DataValidationError` if any row is rejected;
        ``"keep_valid"`` returns the accepted rows, with every rejection in ``report``.
    playbook : Playbook, optional
        The playbook content (disposition codes, business time zone); by default
        :func:`playbook.load_playbook`.
    as_of : date-like, optional
        The date the portfolio is looked at: rows dated after it (contacts, payments,
        history months) are kept and named in a warning note. Without it, nothing is
        compared with an as-of date; timestamps more than a year after today are always
        rejected as implausible. A database source binds it to the mapping's queries
        (``:as_of``, ``:as_of_end``).
    window_days : int, optional
        The days before the end of ``as_of`` the caller counts events over: a database
        source binds their start to the queries' ``:window_start`` (``None``: every row).
    skip : dict of str to list of str, optional
        Optional contract columns a caller does not need, per table, e.g.
        ``{"interactions": ["message"]}`` for segmentation, which never reads the message
        text. They are not read (where the format allows) nor checked, and are absent
        from the returned tables, so that a computation that needs them fails loudly.

    Returns
    -------
    Portfolio
        Its ``timezone`` is the business time zone the load used: the mapping's, else
        the playbook's.

    Raises
    ------
    SourceError
        If the source or mapping cannot be read, or holds no accounts table.
    DataValidationError
        With ``on_error="raise"``, if any row is rejected; ``report`` holds every problem.
    """
    check_choice("on_error", on_error, ("raise", "keep_valid"))
    m = read_mapping(mapping)
    pb = playbook if playbook is not None else load_playbook()
    zone = _effective_timezone(m, pb)
    spec = contract(pb.disposition_ids())
    skipped = _check_skip(skip, spec)
    spec = {t: [c for c in cols if c.name not in skipped.get(t, ())] for t, cols in spec.items()}
    skipped_sources = _skipped_sources(m, skipped)
    read = read_source(source, _request(m, zone, as_of, window_days, skipped_sources))
    raws, digests, notes = read.tables, read.digests, list(read.notes)
    shown = redact(source)  # a database URL without its password
    if "accounts" not in raws:
        raise SourceError(shown, f"no accounts table found (looked for accounts{'/'.join(table_suffixes())}, "
                                       "a sheet or SQL table named 'accounts', or the name given in the mapping)")
    if len(raws["accounts"].frame) == 0:
        raise SourceError(raws["accounts"].label, "accounts has no rows; nothing to load (is it the right file, "
                                                  "or only a header?)")
    frames: dict[str, pd.DataFrame] = {}
    rows: dict[str, np.ndarray | _SourceRows | None] = {}  # the row number in its source of every accepted row
    counts, errors = [], []
    table_notes: dict[str, list[str]] = {t: [] for t in TABLES}  # kept apart per table: the order stays fixed

    def prepare(t: str) -> tuple[pd.DataFrame, np.ndarray | _SourceRows | None, pd.DataFrame, int]:
        done = _prepare(t, raws[t], spec[t], m, zone, table_notes[t], skipped_sources.get(t, frozenset()))
        raws[t].frame = pd.DataFrame()  # the raw rows are no longer needed: free them early
        return done

    # two tables are checked at a time, the largest first (most of the work is NumPy and Arrow,
    # which run beside each other); results and notes are gathered in table order
    with ThreadPoolExecutor(max_workers=2) as pool:
        work = {t: pool.submit(prepare, t) for t in sorted((t for t in TABLES if t in raws),
                                                           key=lambda t: -len(raws[t].frame))}
        for t in TABLES:
            if t not in raws:
                notes.append(f"{t}: not found; treated as empty")
                frames[t] = _empty(spec[t])
                continue
            acc, rows[t], err, n = work[t].result()
            notes += table_notes[t]
            frames[t] = acc
            errors.append(err)
            counts.append(dict(table=t, file=raws[t].label, read=n, accepted=len(acc), rejected=n - len(acc)))

    known = frames["accounts"]["account_id"] if len(frames["accounts"]) else pd.Series([], dtype="str")
    linked = [t for t in ("interactions", "payments", "history") if t in raws and len(frames[t])]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the account lookups of the big tables side by side
        looked_up = {t: pool.submit(codes_of, frames[t]["account_id"], known)
                     for t in sorted(linked, key=lambda t: -len(frames[t]))}
    positions = {}  # per table, each row's account position: kept by the portfolio for the features
    for t in linked:
        f = frames[t]
        positions[t] = looked_up[t].result()
        orphan = positions[t] < 0
        if orphan.any():
            positions[t] = positions[t][~orphan]
            errors.append(pd.DataFrame({"table": t, "file": raws[t].label, "row": rows[t][orphan],
                                        "column": "account_id", "value": f.loc[orphan, "account_id"].astype(str).values,
                                        "reason": "account_id not found in accepted accounts"}))
            frames[t] = f[~orphan]
            for c in counts:
                if c["table"] == t:
                    c["accepted"] -= int(orphan.sum())
                    c["rejected"] += int(orphan.sum())
    for t in TABLES:
        frames[t] = _finish(frames[t], spec[t], t) if rows.get(t) is not None else _empty(spec[t])
    errs = pd.concat([e for e in errors if len(e)], ignore_index=True) if any(len(e) for e in errors) else errors_frame([])
    if len(errs):
        errs = errs.sort_values(["table", "row", "column"], kind="stable", na_position="first").reset_index(drop=True)
    notes += flag_after_as_of(frames, as_of, zone)
    count_frame = pd.DataFrame(counts, columns=["table", "file", "read", "accepted", "rejected"])
    report = LoadReport(shown, count_frame, errs, notes)
    if on_error == "raise" and not report.ok:
        raise DataValidationError(report)
    pf = Portfolio(**frames, report=report, sources=digests, timezone=zone, currency=m.currency)
    for t, pos in positions.items():  # the rows are those looked up (less the orphans), in the same order
        pf.keep_positions(t, pos)
    return pf


# ------------------------------------------------------------------------ writing


def write_portfolio(portfolio: Portfolio, out: str | Path, *, fmt: Literal["parquet", "csv", "xlsx"] = "parquet",
                    mapping: str | Path | Mapping | None = None, encoding: str = "utf-8") -> list[Path]:
    """Write the canonical tables, optionally as a foreign export would look.

    Output is deterministic for the same input. In CSV and Excel files, text cells that
    start with ``=``, ``+``, ``-`` or ``@`` get a leading apostrophe, so that a spreadsheet
    shows them instead of running them as formulas (read back, they keep it). A mapping's
    ``columns`` and ``values`` are applied in reverse (a list target writes its first
    column); its ``fields`` cannot be reversed and are not used.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio to write.
    out : str or Path
        The folder to write into (created if needed).
    fmt : {"parquet", "csv", "xlsx"}
        The file format. CSV keeps timestamps with their UTC offset; Excel cannot hold a
        time zone, so ``xlsx`` writes wall-clock times in the mapping's time zone, else the
        portfolio's, else the playbook's (read them back with a mapping that declares it).
    mapping : str, Path or Mapping, optional
        Renames columns and recodes values back into the foreign export's terms, and names
        the files.
    encoding : str
        Text encoding of CSV files.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    SourceError
        If a file cannot be written.
    """
    check_choice("fmt", fmt, ("parquet", "csv", "xlsx"))
    m = read_mapping(mapping)
    out = Path(out)
    zone = (m.timezone or portfolio.timezone or load_playbook().timezone) if fmt == "xlsx" else None
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for t, df in portfolio.tables().items():
            # code columns are written as the text they hold, as any export has them
            df = df.astype({c: "str" for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})
            for col, codes in m.values.get(t, {}).items():
                inverse = {}
                for k, v in codes.items():
                    inverse.setdefault(v, k)
                if col in df.columns:
                    df[col] = df[col].replace(inverse)
            back: dict[str, str] = {}
            for foreign, targets in m.columns.get(t, {}).items():
                first = targets if isinstance(targets, str) else targets[0]
                back[first] = foreign
            df = df.rename(columns=back)
            if fmt in ("csv", "xlsx"):
                df = neutralise_formulas(df)
            name = m.files.get(t, f"{t}.{fmt}")
            path = out / name
            if fmt == "parquet":
                df.to_parquet(path, index=False)
            elif fmt == "csv":
                df.to_csv(path, index=False, encoding=encoding, date_format=None)
            else:
                for c in df.columns:
                    if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                        df[c] = df[c].dt.tz_convert(zone).dt.tz_localize(None)
                df.to_excel(path, index=False)
            written.append(path)
    except OSError as exc:
        raise SourceError(str(getattr(exc, "filename", None) or out), f"cannot write: {exc.strerror or exc}") from None
    except (UnicodeEncodeError, LookupError) as exc:
        raise SourceError(str(out), f"cannot write with encoding {encoding!r}: {exc}") from None
    return written


def load_table(path: str | Path, table: TableName, mapping: str | Path | Mapping | None = None, *,
               playbook: Playbook | None = None) -> pd.DataFrame:
    """Read and validate one table from one file (e.g. a proposed contact plan).

    Parameters
    ----------
    path : str or Path
        A file with a registered table-file suffix (``.csv``, ``.parquet``, ``.xlsx``, ...).
    table : {"accounts", "interactions", "payments", "history"}
        The canonical table the file holds.
    mapping : str, Path or Mapping, optional
        A mapping YAML renaming foreign columns and codes onto the contract.
    playbook : Playbook, optional
        The playbook content; by default :func:`playbook.load_playbook`.

    Returns
    -------
    pandas.DataFrame
        The table in canonical columns.

    Raises
    ------
    SourceError
        If the file cannot be read.
    DataValidationError
        With the full report, if any row is rejected.
    """
    check_choice("table", table, TABLES)
    m = read_mapping(mapping)
    pb = playbook if playbook is not None else load_playbook()
    spec = contract(pb.disposition_ids())[table]
    notes: list[str] = []
    raw = read_table_file(path, _request(m))
    acc, _, err, n = _prepare(table, raw, spec, m, _effective_timezone(m, pb), notes)
    counts = pd.DataFrame([dict(table=table, file=raw.label, read=n, accepted=len(acc), rejected=n - len(acc))])
    report = LoadReport(str(path), counts, err if len(err) else errors_frame([]), notes)
    if not report.ok:
        raise DataValidationError(report)
    return _finish(acc, spec, table)
