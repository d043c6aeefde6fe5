"""Load a portfolio from files or SQL, map foreign exports onto the data contract, validate.

Every row read is either accepted or reported with its file, row, column and reason;
the counts always reconcile (read = accepted + rejected).

Reading a source is the job of the reader registry (:mod:`playbook.readers`), turning raw
values into contract kinds that of :mod:`playbook.coercion`; this module maps foreign
columns and codes (:class:`Mapping`), checks the contract (pandera), rejects orphan rows,
reconciles the counts, and writes portfolios back out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ._checks import check_choice
from .arrays import codes_of
from .coercion import BAD_VALUE_REASONS, EMPTY_DTYPES, check_timezone, coerce, empty_column
from .content import Playbook, load_playbook
from .errors import ArgumentError, DataValidationError, SourceError
from .portfolio import LoadReport, Portfolio, errors_frame
from .readers import RawTable, ReadRequest, read_source, read_table_file, table_suffixes
from .schema import TABLES, Col, bucket_of_dpd, contract, pandera_schema

__all__ = ["Portfolio", "LoadReport", "Mapping", "load_portfolio", "load_table", "read_mapping", "write_portfolio"]

TableName = Literal["accounts", "interactions", "payments", "history"]


class Mapping(BaseModel):
    """How a foreign export maps onto the data contract (read from a mapping YAML).

    ``files`` names the file, sheet or SQL table per canonical table; ``columns`` renames
    foreign columns per table; ``values`` maps foreign codes per table and column
    (e.g. 已承诺还款 -> ptp). ``timezone`` is the export's business time zone: naive
    timestamps are read in it and the portfolio's days are counted in it; ``None`` (not
    given) means the playbook's ``settings.yaml`` zone.
    """

    model_config = ConfigDict(extra="forbid")

    files: dict[TableName, str] = {}
    encoding: str | None = None
    timezone: str | None = None
    columns: dict[TableName, dict[str, str]] = {}
    values: dict[TableName, dict[str, dict[str, str]]] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return check_timezone(v)
        except ArgumentError:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Europe/London'") from None


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
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        why = "; ".join(f"field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SourceError(str(p), f"invalid mapping: {why}") from None


# ------------------------------------------------------------------------ reading


def _request(mapping: Mapping) -> ReadRequest:
    """What the readers need from a mapping: names per table and the text encoding."""
    return ReadRequest(names={t: mapping.files.get(t, t) for t in TABLES},
                       named=frozenset(mapping.files), encoding=mapping.encoding)


def _effective_timezone(mapping: Mapping, pb: Playbook) -> str:
    """The business time zone of a load: the mapping's, else the playbook's ``settings.yaml``."""
    return mapping.timezone or pb.timezone


# ------------------------------------------------------------------------ mapping and checks


def _prepare(table: str, raw: RawTable, cols: list[Col], mapping: Mapping, timezone: str,
             notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Rename, map codes, coerce and check one raw table; returns (accepted, errors, read)."""
    df = raw.frame.copy()
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    df = df.rename(columns=mapping.columns.get(table, {}))
    n = len(df)
    rows = pd.Series(np.arange(n) + raw.first_row, index=df.index)
    canon = {c.name: c for c in cols}
    if table == "history" and "bucket" not in df.columns and "dpd" in df.columns:
        df["bucket"] = pd.NA  # derived from dpd after coercion
    extra = [c for c in df.columns if c not in canon]
    if extra:
        notes.append(f"{raw.label}: ignored columns not in the data contract: {', '.join(map(str, extra))}")
    missing = [c.name for c in cols if c.required and c.name not in df.columns]
    if missing:
        errs = [dict(table=table, file=raw.label, row=pd.NA, column=m, value=pd.NA,
                     reason=f"required column missing ({n} rows rejected)") for m in missing]
        return pd.DataFrame(), errors_frame(errs), n

    for col, codes in mapping.values.get(table, {}).items():
        if col in df.columns:
            df[col] = df[col].replace(codes)

    out = pd.DataFrame(index=df.index)
    bad_parts: list[pd.DataFrame] = []
    for c in cols:
        if c.name not in df.columns:
            out[c.name] = empty_column(c.kind, df.index)
            continue
        values, bad = coerce(df[c.name], c.kind, timezone)
        out[c.name] = values
        if bad.any():
            what = BAD_VALUE_REASONS[c.kind]
            bad_parts.append(pd.DataFrame({"table": table, "file": raw.label, "row": rows[bad].values, "column": c.name,
                                           "value": df.loc[bad, c.name].astype(str).str.slice(0, 60).values,
                                           "reason": what}))
        if c.required:
            miss = values.isna() & ~bad
            if table == "history" and c.name == "bucket":
                miss &= False
            if miss.any():
                bad_parts.append(pd.DataFrame({"table": table, "file": raw.label, "row": rows[miss].values,
                                               "column": c.name, "value": pd.NA, "reason": "required value missing"}))
    if table == "history":
        need = out["bucket"].isna() & out["dpd"].notna()
        if need.any():
            out.loc[need, "bucket"] = np.asarray(bucket_of_dpd(out.loc[need, "dpd"])).astype(str)
        miss = out["bucket"].isna() & out["dpd"].isna()
        if miss.any():
            bad_parts.append(pd.DataFrame({"table": table, "file": raw.label, "row": rows[miss].values,
                                           "column": "bucket", "value": pd.NA, "reason": "required value missing (bucket or dpd)"}))

    import pandera.pandas as pa

    try:
        pandera_schema(table, cols).validate(out, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        if len(fc):
            idx = fc["index"].astype(int).to_numpy()
            reason = np.where(fc["check"].astype(str) == "field_uniqueness",
                              "duplicate " + fc["column"].astype(str) + " (first occurrence kept)", fc["check"].astype(str))
            bad_parts.append(pd.DataFrame({"table": table, "file": raw.label, "row": rows.loc[idx].values,
                                           "column": fc["column"].astype(str).values,
                                           "value": fc["failure_case"].astype(str).str.slice(0, 60).values,
                                           "reason": reason}))
    errors = pd.concat(bad_parts, ignore_index=True) if bad_parts else errors_frame([])
    rejected_rows = set(errors["row"].dropna().astype(int)) if len(errors) else set()
    keep = ~rows.isin(rejected_rows)
    accepted = out[keep.values].copy()
    accepted["_row"] = rows[keep].values
    accepted["_file"] = raw.label
    return accepted, errors, n


def _finish(frame: pd.DataFrame, cols: list[Col]) -> pd.DataFrame:
    frame = frame.drop(columns=["_row", "_file"], errors="ignore").reset_index(drop=True)
    for c in cols:
        if c.required and c.kind == "int":
            frame[c.name] = frame[c.name].astype("int64")
    return frame


def _empty(cols: list[Col]) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=EMPTY_DTYPES[c.kind] if not (c.required and c.kind == "int") else "int64")
                         for c in cols})


def load_portfolio(source: str | Path, mapping: str | Path | Mapping | None = None, *,
                   on_error: Literal["raise", "keep_valid"] = "raise",
                   playbook: Playbook | None = None) -> Portfolio:
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
    read = read_source(source, _request(m))
    raws, digests, notes = read.tables, read.digests, list(read.notes)
    if "accounts" not in raws:
        raise SourceError(str(source), f"no accounts table found (looked for accounts{'/'.join(table_suffixes())}, "
                                       "a sheet or SQL table named 'accounts', or the name given in the mapping)")
    frames: dict[str, pd.DataFrame] = {}
    counts, errors = [], []
    for t in TABLES:
        if t not in raws:
            notes.append(f"{t}: not found; treated as empty")
            frames[t] = _empty(spec[t])
            continue
        acc, err, n = _prepare(t, raws[t], spec[t], m, zone, notes)
        frames[t] = acc
        errors.append(err)
        counts.append(dict(table=t, file=raws[t].label, read=n, accepted=len(acc), rejected=n - len(acc)))

    known = frames["accounts"]["account_id"] if len(frames["accounts"]) else pd.Series([], dtype="str")
    for t in ("interactions", "payments", "history"):
        f = frames[t]
        if t in raws and len(f):
            orphan = pd.Series(codes_of(f["account_id"], known) < 0, index=f.index)
            if orphan.any():
                errors.append(pd.DataFrame({"table": t, "file": raws[t].label, "row": f.loc[orphan, "_row"].values,
                                            "column": "account_id", "value": f.loc[orphan, "account_id"].astype(str).values,
                                            "reason": "account_id not found in accepted accounts"}))
                frames[t] = f[~orphan]
                for c in counts:
                    if c["table"] == t:
                        c["accepted"] -= int(orphan.sum())
                        c["rejected"] += int(orphan.sum())
    for t in TABLES:
        frames[t] = _finish(frames[t], spec[t]) if len(frames[t]) or "_row" in frames[t] else _empty(spec[t])
    errs = pd.concat([e for e in errors if len(e)], ignore_index=True) if any(len(e) for e in errors) else errors_frame([])
    if len(errs):
        errs = errs.sort_values(["table", "row", "column"], kind="stable", na_position="first").reset_index(drop=True)
    count_frame = pd.DataFrame(counts, columns=["table", "file", "read", "accepted", "rejected"])
    report = LoadReport(str(source), count_frame, errs, notes)
    if on_error == "raise" and not report.ok:
        raise DataValidationError(report)
    return Portfolio(**frames, report=report, sources=digests, timezone=zone)


# ------------------------------------------------------------------------ writing


def write_portfolio(portfolio: Portfolio, out: str | Path, *, fmt: Literal["parquet", "csv", "xlsx"] = "parquet",
                    mapping: str | Path | Mapping | None = None, encoding: str = "utf-8") -> list[Path]:
    """Write the canonical tables, optionally as a foreign export would look.

    Output is deterministic for the same input.

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
            df = df.copy()
            for col, codes in m.values.get(t, {}).items():
                inverse = {v: k for k, v in codes.items()}
                if col in df.columns:
                    df[col] = df[col].replace(inverse)
            df = df.rename(columns={v: k for k, v in m.columns.get(t, {}).items()})
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
    acc, err, n = _prepare(table, raw, spec, m, _effective_timezone(m, pb), notes)
    counts = pd.DataFrame([dict(table=table, file=raw.label, read=n, accepted=len(acc), rejected=n - len(acc))])
    report = LoadReport(str(path), counts, err if len(err) else errors_frame([]), notes)
    if not report.ok:
        raise DataValidationError(report)
    return _finish(acc, spec)
