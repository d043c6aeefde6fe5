"""Load a portfolio from files or SQL, map foreign exports onto the data contract, validate.

Every row read is either accepted or reported with its file, row, column and reason;
the counts always reconcile (read = accepted + rejected).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .content import load_playbook
from .errors import DataValidationError, SourceError
from .arrays import codes_of
from .portfolio import ERROR_COLUMNS, LoadReport, Portfolio, errors_frame
from .schema import TABLES, Col, bucket_of_dpd, contract, pandera_schema
from ._checks import check_choice

__all__ = ["Portfolio", "LoadReport", "Mapping", "load_portfolio", "read_mapping", "write_portfolio"]

_FILE_EXTS = (".parquet", ".csv", ".xlsx")
_DB_EXTS = (".duckdb", ".db", ".ddb")


class Mapping(BaseModel):
    """How a foreign export maps onto the data contract (read from a mapping YAML).

    ``files`` names the file, sheet or SQL table per canonical table; ``columns`` renames
    foreign columns per table; ``values`` maps foreign codes per table and column
    (e.g. 已承诺还款 -> ptp); naive timestamps are read in ``timezone``.
    """

    model_config = ConfigDict(extra="forbid")

    files: dict[Literal["accounts", "interactions", "payments", "history"], str] = {}
    encoding: str | None = None
    timezone: str = "Asia/Shanghai"
    columns: dict[Literal["accounts", "interactions", "payments", "history"], dict[str, str]] = {}
    values: dict[Literal["accounts", "interactions", "payments", "history"], dict[str, dict[str, str]]] = {}


def read_mapping(path: str | Path | Mapping | None) -> Mapping:
    """Read and validate a mapping YAML; errors name the file and the field."""
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


# ------------------------------------------------------------------------ raw reading


@dataclass
class _Raw:
    frame: pd.DataFrame
    label: str
    first_row: int  # row number of the first data row as a person sees it


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    kw: dict[str, Any] = dict(dtype=str, keep_default_na=False, na_values=[""])
    if encoding:
        return pd.read_csv(path, encoding=encoding, **kw)
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **kw)
    except UnicodeDecodeError:
        try:
            return pd.read_csv(path, encoding="gb18030", **kw)
        except UnicodeDecodeError:
            raise SourceError(str(path), "cannot decode as UTF-8 or GBK/GB18030; set `encoding` in the mapping") from None


def _read_file(path: Path, mapping: Mapping, sheet: str | None = None) -> _Raw:
    ext = path.suffix.lower()
    try:
        if ext == ".csv":
            return _Raw(_read_csv(path, mapping.encoding), path.name, 2)
        if ext == ".parquet":
            return _Raw(pd.read_parquet(path), path.name, 1)
        if ext in (".xlsx", ".xlsm"):
            return _Raw(pd.read_excel(path, sheet_name=sheet or 0), f"{path.name}[{sheet}]" if sheet else path.name, 2)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes an actionable error
        raise SourceError(str(path), f"cannot read {ext} file: {exc}") from None
    raise SourceError(str(path), f"unsupported file type {ext!r}; use .csv, .parquet, .xlsx, .duckdb or an SQL URL")


def _frame_digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()


def _discover(source: str | Path, mapping: Mapping) -> tuple[dict[str, _Raw], dict[str, str], list[str]]:
    """Find and read every table; returns raw frames, input digests and notes."""
    raws: dict[str, _Raw] = {}
    digests: dict[str, str] = {}
    notes: list[str] = []
    src = str(source)
    names = {t: mapping.files.get(t, t) for t in TABLES}

    if "://" in src:
        import sqlalchemy as sa

        try:
            engine = sa.create_engine(src)
            with engine.connect() as conn:
                present = set(sa.inspect(conn).get_table_names())
                for t, name in names.items():
                    if name in present:
                        df = pd.read_sql_table(name, conn)
                        raws[t] = _Raw(df, f"{name} (sql)", 1)
                        digests[f"sql:{name}"] = _frame_digest(df)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(src, f"cannot read SQL source: {exc}") from None
        return raws, digests, notes

    path = Path(src)
    if not path.exists():
        raise SourceError(src, "no such file or folder")
    if path.is_file() and path.suffix.lower() in _DB_EXTS:
        import duckdb

        try:
            con = duckdb.connect(str(path), read_only=True)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(src, f"cannot open DuckDB file: {exc}") from None
        try:
            present = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            for t, name in names.items():
                if name in present:
                    df = con.execute(f'select * from "{name}"').df()
                    raws[t] = _Raw(df, f"{path.name}:{name}", 1)
        finally:
            con.close()
        digests[path.name] = _sha256_file(path)
        return raws, digests, notes
    if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = pd.ExcelFile(path).sheet_names
        for t, name in names.items():
            if name in sheets:
                raws[t] = _read_file(path, mapping, sheet=name)
        if not raws and sheets:
            raws["accounts"] = _read_file(path, mapping, sheet=sheets[0])
            notes.append(f"{path.name}: no sheet named after a table; read sheet {sheets[0]!r} as accounts")
        digests[path.name] = _sha256_file(path)
        return raws, digests, notes
    if path.is_file():
        raws["accounts"] = _read_file(path, mapping)
        digests[path.name] = _sha256_file(path)
        return raws, digests, notes

    for t, name in names.items():
        if t in mapping.files:
            candidates = [path / name]
        else:
            candidates = [path / f"{name}{ext}" for ext in _FILE_EXTS]
        found = [c for c in candidates if c.is_file()]
        if t in mapping.files and not found:
            raise SourceError(str(path / name), f"the mapping names this file for table {t!r}, but it does not exist")
        if found:
            raws[t] = _read_file(found[0], mapping)
            digests[found[0].name] = _sha256_file(found[0])
    return raws, digests, notes


# ------------------------------------------------------------------------ coercion

_CURRENCY = r"[,\s¥￥$€£]"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _as_text(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def _normalise_dates(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    cn = s.str.contains("年", na=False)
    if cn.any():
        s = s.mask(cn, s[cn].str.replace(r"\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?",
                                          lambda m: f"{m.group(1)}-{m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else ""),
                                          regex=True))
    return s.str.replace("/", "-", regex=False)


def _parse_naive(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s, format="ISO8601", errors="coerce")
    left = out.isna() & s.notna()
    if left.any():
        out = out.copy()
        out[left] = pd.to_datetime(s[left], format="mixed", errors="coerce")
    return out


def _coerce(s: pd.Series, kind: str, tz: str) -> tuple[pd.Series, pd.Series]:
    """Coerce one raw column; returns (values, mask of values that could not be read)."""
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        present = s.notna() & ~(s.astype("str").str.strip() == "").fillna(False)
    else:
        present = s.notna()
    if kind == "str":
        out = _as_text(s)
        return out, pd.Series(False, index=s.index)
    if kind in ("float", "int"):
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out = s.astype("float64")
        else:
            out = pd.to_numeric(s.astype("string").str.replace(_CURRENCY, "", regex=True), errors="coerce").astype("float64")
        bad = present & out.isna()
        if kind == "int":
            frac = out.notna() & (out % 1 != 0)
            bad |= frac
            out = out.mask(frac)
        return out, bad
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    else:
        text = _normalise_dates(s)
        if kind == "datetime":
            aware = text.str.contains(_OFFSET, na=False)
            parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
            if aware.any():
                parsed[aware] = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
            if (~aware).any():
                naive = _parse_naive(text[~aware])
                parsed[~aware] = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
        else:
            parsed = _parse_naive(text)
    if kind == "datetime":
        parsed = parsed.dt.tz_convert("UTC") if parsed.dt.tz is not None else parsed.dt.tz_localize(tz).dt.tz_convert("UTC")
        parsed = parsed.astype("datetime64[us, UTC]")
    else:
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        parsed = parsed.dt.normalize().astype("datetime64[us]")
        if kind == "month":
            parsed = parsed.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]")
    return parsed, present & parsed.isna()


_EMPTY_KIND = {"str": "str", "float": "float64", "int": "float64",
               "datetime": "datetime64[us, UTC]", "date": "datetime64[us]", "month": "datetime64[us]"}


def _prepare(table: str, raw: _Raw, cols: list[Col], mapping: Mapping,
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
            out[c.name] = pd.Series(np.nan, index=df.index).astype(_EMPTY_KIND[c.kind])
            continue
        values, bad = _coerce(df[c.name], c.kind, mapping.timezone)
        out[c.name] = values
        if bad.any():
            what = {"float": "not a number", "int": "not a whole number",
                    "datetime": "unparseable date/time", "date": "unparseable date", "month": "unparseable month"}[c.kind]
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
    return pd.DataFrame({c.name: pd.Series(dtype=_EMPTY_KIND[c.kind] if not (c.required and c.kind == "int") else "int64")
                         for c in cols})


def load_portfolio(source: str | Path, mapping: str | Path | Mapping | None = None, *,
                   on_error: Literal["raise", "keep_valid"] = "raise") -> Portfolio:
    """Load a portfolio and validate it against the data contract.

    Parameters
    ----------
    source : str or Path
        A folder holding ``accounts``, ``interactions``, ``payments`` and ``history`` as
        ``.parquet``, ``.csv`` (UTF-8, UTF-8 with BOM, GBK/GB18030) or ``.xlsx``; a single
        ``.xlsx`` with one sheet per table; a DuckDB file; or an SQLAlchemy URL. A single
        CSV or Parquet file is read as the accounts table.
    mapping : str, Path or Mapping, optional
        A mapping YAML renaming foreign columns and codes onto the contract.
    on_error : {"raise", "keep_valid"}
        ``"raise"`` raises :class:`DataValidationError` if any row is rejected;
        ``"keep_valid"`` returns the accepted rows, with every rejection in ``report``.

    Returns
    -------
    Portfolio
    """
    check_choice("on_error", on_error, ("raise", "keep_valid"))
    m = read_mapping(mapping)
    pb = load_playbook()
    spec = contract(pb.disposition_ids())
    raws, digests, notes = _discover(source, m)
    if "accounts" not in raws:
        raise SourceError(str(source), "no accounts table found (looked for accounts.parquet/.csv/.xlsx, "
                                       "a sheet or SQL table named 'accounts', or the name given in the mapping)")
    frames: dict[str, pd.DataFrame] = {}
    counts, errors = [], []
    for t in TABLES:
        if t not in raws:
            notes.append(f"{t}: not found; treated as empty")
            frames[t] = _empty(spec[t])
            continue
        acc, err, n = _prepare(t, raws[t], spec[t], m, notes)
        frames[t], _ = acc, errors.append(err)
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
    return Portfolio(**frames, report=report, sources=digests)


# ------------------------------------------------------------------------ writing


def write_portfolio(portfolio: Portfolio, out: str | Path, *, fmt: Literal["parquet", "csv", "xlsx"] = "parquet",
                    mapping: str | Path | Mapping | None = None, encoding: str = "utf-8") -> list[Path]:
    """Write the canonical tables (optionally renamed and recoded by ``mapping``, i.e. as a
    foreign export would look). Output is deterministic for the same input.

    Returns the files written.
    """
    check_choice("fmt", fmt, ("parquet", "csv", "xlsx"))
    m = read_mapping(mapping)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
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
                    df[c] = df[c].dt.tz_convert(m.timezone).dt.tz_localize(None)
            df.to_excel(path, index=False)
        written.append(path)
    return written


def load_table(path: str | Path, table: Literal["accounts", "interactions", "payments", "history"],
               mapping: str | Path | Mapping | None = None) -> pd.DataFrame:
    """Read and validate one table from one file (e.g. a proposed contact plan).

    Raises :class:`DataValidationError` with the full report if any row is rejected.
    """
    check_choice("table", table, TABLES)
    m = read_mapping(mapping)
    p = Path(path)
    if not p.is_file():
        raise SourceError(str(p), "no such file")
    spec = contract(load_playbook().disposition_ids())[table]
    notes: list[str] = []
    raw = _read_file(p, m)
    acc, err, n = _prepare(table, raw, spec, m, notes)
    counts = pd.DataFrame([dict(table=table, file=raw.label, read=n, accepted=len(acc), rejected=n - len(acc))])
    report = LoadReport(str(p), counts, err if len(err) else errors_frame([]), notes)
    if not report.ok:
        raise DataValidationError(report)
    return _finish(acc, spec)
