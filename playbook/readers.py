"""The reader registry: one registration per input format (in the style of papermill's ``iorw``).

A *reader* reads one source into raw frames, one per canonical table, each with a label a
person recognises (``accounts.csv``, ``book.xlsx[history]``, ``p.duckdb:payments``) and the
number of its first data row as that person sees it (2 in a CSV or spreadsheet with a
header line, 1 in Parquet or a database table), plus the sha256 digests of its inputs and
notes about what it did. The loader (:mod:`playbook.loading`) then maps, coerces and checks
those frames; a reader never changes a value.

Readers are keyed by file suffix (``.csv``) or URL scheme (``postgresql`` for
``postgresql+psycopg2://...``); :func:`get_reader` finds the one for a source and
:func:`read_source` reads it. A folder is read by looking each table up as ``<table><suffix>`` for every registered
:class:`FileReader` suffix (or by the file name the mapping gives). A new format is one
call, e.g. for JSON lines::

    register_reader(".jsonl", FileReader(lambda path, request: pd.read_json(path, lines=True)))

Only :mod:`playbook.errors`, :mod:`playbook.schema` and :mod:`playbook.sql` (databases) are
imported from the package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .errors import ArgumentError, SourceError, UnknownKeyError
from .schema import TABLES
from .sql import bind_values, database, is_database_source, read_database, redact

__all__ = ["RawTable", "ReadRequest", "ReadResult", "Reader", "FileReader", "ExcelReader", "DuckDBReader",
           "SQLReader", "FolderReader", "CSVReader", "register_reader", "unregister_reader", "registered", "get_reader",
           "known_readers", "table_suffixes", "read_source", "read_table_file", "reader_key", "sha256_file",
           "frame_digest"]


# ------------------------------------------------------------------------ data passed around


@dataclass
class RawTable:
    """One canonical table as read, before any mapping or coercion.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows as the source holds them (CSV: every value as text).
    label : str
        How problems name the table's origin (a file, sheet or database table).
    first_row : int
        The row number of the first data row as a person sees it in the source.
    rows : array of int, optional
        The row number of every frame row as a person sees it (a CSV line number, which
        skips blank lines and counts quoted line breaks); ``None``: consecutive from
        ``first_row``.
    problems : list of dict
        Rows the reader found broken (``row``, ``column``, ``value``, ``reason``), e.g. a
        line with more fields than the header or an Excel formula without a cached value;
        the loader rejects and reports them.
    header : list of str, optional
        The column names exactly as the source holds them (before a reader renames
        duplicates), so that duplicate names can be refused.
    """

    frame: pd.DataFrame
    label: str
    first_row: int
    rows: Any = None
    problems: list[dict] = field(default_factory=list)
    header: list[str] | None = None

    def row_numbers(self) -> Any:
        """The row number of every frame row as a person sees it in the source."""
        import numpy as np

        if self.rows is not None:
            return np.asarray(self.rows, dtype="int64")
        return np.arange(len(self.frame), dtype="int64") + self.first_row


@dataclass(frozen=True)
class ReadRequest:
    """What a reader is asked to read.

    Attributes
    ----------
    names : Mapping[str, str]
        Per canonical table, the file (in a folder), sheet (in a workbook) or database table
        to read it from; defaults to the table's own name.
    named : frozenset of str
        The tables whose name was given explicitly (by a mapping): in a folder, a missing
        file for one of them is an error instead of an absent table.
    encoding : str, optional
        The text encoding of text files; ``None`` tries UTF-8 (with or without BOM), then
        GBK/GB18030.
    queries : Mapping[str, str]
        Per canonical table, the SQL a database source runs for it (the mapping's ``sql:``).
    as_of : date-like, optional
        The command's as-of day, bound to the queries' ``:as_of`` (see :mod:`playbook.sql`).
    window_days : int, optional
        The days before the end of ``as_of`` the command counts events over, bound as
        ``:window_start``; ``None``: every row.
    timezone : str, optional
        The business time zone the bound times are local to.
    skip : Mapping[str, frozenset of str]
        Per canonical table, source columns the command does not need: readers that can
        leave columns out (Parquet) do not read them.
    dictionary : Mapping[str, frozenset of str]
        Per canonical table, text columns of few distinct values (codes): readers that can
        (Parquet) read them as categoricals, one small integer per row instead of a string.
    """

    names: Mapping[str, str] = field(default_factory=lambda: {t: t for t in TABLES})
    named: frozenset[str] = frozenset()
    encoding: str | None = None
    queries: Mapping[str, str] = field(default_factory=dict)
    as_of: Any = None
    window_days: int | None = None
    timezone: str | None = None
    skip: Mapping[str, frozenset[str]] = field(default_factory=dict)
    dictionary: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def name_of(self, table: str) -> str:
        """The file, sheet or database table name to read ``table`` from."""
        return self.names.get(table, table)


@dataclass
class ReadResult:
    """Everything read from one source.

    Attributes
    ----------
    tables : dict of str to RawTable
        The canonical tables found (absent tables are simply missing).
    digests : dict of str to str
        sha256 per input (file name, or ``sql:<table>``), for data provenance.
    notes : list of str
        What a person should know about how the source was read.
    """

    tables: dict[str, RawTable] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------ readers


class Reader:
    """Base class: reads a whole source (a file, a database, a URL) into a :class:`ReadResult`."""

    #: shown in error messages listing what can be read
    description: str = "reader"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"

    def read(self, source: str, request: ReadRequest) -> ReadResult:
        """Read ``source``.

        Parameters
        ----------
        source : str
            A path or URL.
        request : ReadRequest
            Which names to read each canonical table from, and the text encoding.

        Returns
        -------
        ReadResult
        """
        raise NotImplementedError


class FileReader(Reader):
    """A reader for files that hold one table each (CSV, Parquet, ...).

    Its suffix also serves folder sources: a folder's ``accounts<suffix>`` is read with it.
    A single file given as the source is read as the accounts table.

    Parameters
    ----------
    read_frame : callable
        ``read_frame(path, request) -> DataFrame``, the rows of the file. Any exception it
        raises becomes a :class:`~playbook.errors.SourceError` naming the file.
    first_row : int
        The row number of the first data row as a person sees it (2 below a header line).
    description : str, optional
        A short name for messages, e.g. ``"JSON lines"``.
    """

    def __init__(self, read_frame: Callable[[Path, ReadRequest], pd.DataFrame], *, first_row: int = 1,
                 description: str = "file") -> None:
        if not callable(read_frame):
            raise ArgumentError("read_frame", read_frame, "a callable (path, request) -> DataFrame")
        self.read_frame = read_frame
        self.first_row = first_row
        self.description = description

    def read_table(self, path: Path, request: ReadRequest) -> RawTable:
        """Read one file as one table.

        Parameters
        ----------
        path : Path
            The file.
        request : ReadRequest
            Carries the text encoding.

        Returns
        -------
        RawTable
        """
        frame = _guarded(path, self.description, lambda: self.read_frame(path, request))
        if not isinstance(frame, pd.DataFrame):
            raise SourceError(str(path), f"the {self.description} reader returned {type(frame).__name__}, "
                                         "not a DataFrame")
        return RawTable(frame, path.name, self.first_row)

    def read(self, source: str, request: ReadRequest) -> ReadResult:
        """Read a single file as the accounts table (see :meth:`Reader.read`)."""
        path = Path(source)
        return ReadResult({"accounts": self.read_table(path, request)}, {path.name: sha256_file(path)})


class ExcelReader(FileReader):
    """Excel workbooks: one sheet per table (named after the table or by the mapping).

    A workbook with no sheet named after a table is read from its first sheet as the
    accounts table, with a note; in a folder, a workbook's first sheet is its table.

    Parameters
    ----------
    description : str
        A short name for messages, e.g. ``".xlsx"``.
    """

    def __init__(self, description: str = ".xlsx") -> None:
        super().__init__(lambda path, request: pd.read_excel(path, sheet_name=0), first_row=2,
                         description=description)

    def read_table(self, path: Path, request: ReadRequest) -> RawTable:
        """Read a workbook's first sheet as one table (see :meth:`FileReader.read_table`)."""
        table = super().read_table(path, request)
        table.header, table.problems = _guarded(path, self.description, lambda: _excel_checks(path, 0, table.frame))
        return table

    def read(self, source: str, request: ReadRequest) -> ReadResult:
        """Read the sheets named after the tables (see :meth:`Reader.read`)."""
        path = Path(source)

        def sheets_of() -> tuple[list[str], dict[str, pd.DataFrame]]:
            with pd.ExcelFile(path) as book:
                names = [str(n) for n in book.sheet_names]
                wanted = {t: request.name_of(t) for t in TABLES if request.name_of(t) in names}
                if not wanted and names:
                    wanted = {"accounts": names[0]}
                return names, {t: pd.read_excel(book, sheet_name=sheet) for t, sheet in wanted.items()}

        sheets, frames = _guarded(path, self.description, sheets_of)
        result = ReadResult(digests={path.name: sha256_file(path)})
        for t, frame in frames.items():
            sheet = request.name_of(t) if request.name_of(t) in sheets else sheets[0]
            header, problems = _guarded(path, self.description, lambda: _excel_checks(path, sheet, frame))
            result.tables[t] = RawTable(frame, f"{path.name}[{sheet}]", self.first_row, problems=problems, header=header)
            if sheet != request.name_of(t):
                result.notes.append(f"{path.name}: no sheet named after a table; read sheet {sheet!r} as accounts")
        return result


class DuckDBReader(Reader):
    """DuckDB database files: one database table per canonical table."""

    description = "DuckDB"

    def read(self, source: str, request: ReadRequest) -> ReadResult:
        """Read the database tables named after the tables (see :meth:`Reader.read`)."""
        import duckdb

        path = Path(source)
        try:
            con = duckdb.connect(str(path), read_only=True)
        except Exception as exc:  # noqa: BLE001 - any driver failure becomes an actionable error
            raise SourceError(str(source), f"cannot open DuckDB file: {exc}") from None
        result = ReadResult()
        try:
            present = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            for t in TABLES:
                name = request.name_of(t)
                if name in present:
                    quoted = '"' + name.replace('"', '""') + '"'
                    result.tables[t] = RawTable(con.execute(f"select * from {quoted}").df(), f"{path.name}:{name}", 1)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(str(source), f"cannot read DuckDB file: {exc}") from None
        finally:
            con.close()
        result.digests[path.name] = sha256_file(path)
        return result


class SQLReader(Reader):
    """Databases by URL (or ``env:NAME``): the mapping's query per table, else the table by name.

    The reading itself (parameters, drivers, chunks, credential scrubbing) is
    :func:`playbook.sql.read_database`; this registers it as a reader.

    Parameters
    ----------
    driver : str, optional
        Force one database driver (``adbc``, ``connectorx``, ``sqlalchemy``); default: the
        first installed that serves the URL.
    """

    description = "SQL database"

    def __init__(self, driver: str | None = None) -> None:
        self.driver = driver

    def read(self, source: str, request: ReadRequest) -> ReadResult:
        """Read the tables the request names or queries (see :meth:`Reader.read`)."""
        params = bind_values(as_of=request.as_of, window_days=request.window_days, timezone=request.timezone)
        db = read_database(source, queries=request.queries, names=request.names, named=request.named,
                               params=params, timezone=request.timezone, driver=self.driver, skip=request.skip)
        result = ReadResult(notes=db.notes)
        for t, frame in db.frames.items():
            frame.columns = _dedupe([str(c) for c in frame.columns])  # the header keeps repeats, to refuse them
            result.tables[t] = RawTable(frame, db.labels[t], 1, header=db.header[t])
            result.digests[f"sql:{t}"] = frame_digest(frame)
        return result


class FolderReader(Reader):
    """A folder of table files, each found by the registered :class:`FileReader` suffixes."""

    description = "folder"

    def read(self, source: str, request: ReadRequest) -> ReadResult:
        """Read ``<name><suffix>`` per table, or the file the mapping names (see :meth:`Reader.read`)."""
        folder = Path(source)
        result = ReadResult()
        suffixes = table_suffixes()
        files: dict[str, Path] = {}
        for t in TABLES:
            name = request.name_of(t)
            if t in request.named:
                candidates = [folder / name]
            else:
                candidates = [folder / f"{name}{s}" for s in suffixes]
            found = [c for c in candidates if c.is_file()]
            if len(found) > 1:
                raise SourceError(str(folder), f"two files for table {t!r}: {', '.join(c.name for c in found)}; "
                                               "keep one, or name the one to read under `files:` in the mapping")
            if t in request.named and not found:
                raise SourceError(str(folder / name),
                                  f"the mapping names this file for table {t!r}, but it does not exist")
            if found:
                files[t] = found[0]
        # the files are read (and hashed) two at a time, the largest first: parsing, converting and
        # hashing one file overlaps with another's; the first failure in table order is raised
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = {t: (pool.submit(read_table_file, p, request), pool.submit(sha256_file, p))
                    for t, p in sorted(files.items(), key=lambda kv: -kv[1].stat().st_size)}
            for t in TABLES:
                if t in done:
                    result.tables[t], result.digests[files[t].name] = (f.result() for f in done[t])
        return result


# ------------------------------------------------------------------------ the registry

_READERS: dict[str, Reader] = {}
_FOLDER = FolderReader()


def _normalise_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ArgumentError("key", key, "a file suffix such as '.csv' or a URL scheme such as 'postgresql'")
    key = key.strip().lower()
    if key.endswith("://"):
        key = key[:-3]
    return key


def reader_key(source: str | Path) -> str:
    """The registry key of ``source``: its URL scheme (without ``+driver``) or its file suffix.

    Parameters
    ----------
    source : str or Path
        A path or URL.

    Returns
    -------
    str
        E.g. ``"postgresql"`` for ``postgresql+psycopg2://host/db``, ``".csv"`` for
        ``exports/Accounts.CSV``, ``""`` for a path without a suffix.
    """
    text = str(source)
    if "://" in text:
        return text.split("://", 1)[0].split("+", 1)[0].lower()
    if text.startswith("env:"):  # a database URL held in an environment variable (playbook.sql)
        return "env"
    return Path(text).suffix.lower()


def register_reader(key: str, reader: Reader) -> Reader | None:
    """Register ``reader`` for a file suffix (``".csv"``) or URL scheme (``"postgresql"``).

    Registering a key again replaces its reader (and keeps its place in the folder lookup
    order; new suffixes are looked up after the built-in ones).

    Parameters
    ----------
    key : str
        A file suffix starting with a dot, or a URL scheme (the part before ``://``,
        without any ``+driver``).
    reader : Reader
        The reader; a :class:`FileReader` also serves folder members with this suffix.

    Returns
    -------
    Reader or None
        The reader that was registered for ``key`` before, if any.
    """
    if not isinstance(reader, Reader):
        raise ArgumentError("reader", reader, "a playbook.readers.Reader, e.g. FileReader(read_frame)")
    key = _normalise_key(key)
    previous = _READERS.get(key)
    _READERS[key] = reader
    return previous


def unregister_reader(key: str) -> Reader:
    """Remove the reader registered for ``key`` and return it.

    Raises
    ------
    UnknownKeyError
        If no reader is registered for ``key``; the message lists the known keys.
    """
    key = _normalise_key(key)
    try:
        return _READERS.pop(key)
    except KeyError:
        raise UnknownKeyError("reader", key, _READERS) from None


@contextmanager
def registered(key: str, reader: Reader) -> Iterator[Reader]:
    """Register ``reader`` for ``key`` inside a ``with`` block, then restore what was there."""
    previous = register_reader(key, reader)
    try:
        yield reader
    finally:
        if previous is None:
            _READERS.pop(_normalise_key(key), None)
        else:
            _READERS[_normalise_key(key)] = previous


def known_readers() -> list[str]:
    """The registered keys: file suffixes (with a dot) first, then URL schemes."""
    return sorted(_READERS, key=lambda k: (not k.startswith("."), k))


def table_suffixes() -> list[str]:
    """The suffixes a folder's table files are looked up by, in lookup order."""
    return [k for k, r in _READERS.items() if k.startswith(".") and isinstance(r, FileReader)]


def _known_text() -> str:
    keys = known_readers()
    suffixes = ", ".join(k for k in keys if k.startswith("."))
    schemes = ", ".join(f"{k}://" for k in keys if not k.startswith(".") and k != "env")
    return (f"known file types: {suffixes or '(none)'}; a folder of such files; or an SQL URL ({schemes or 'none'}, "
            "or env:PLAYBOOK_DB_URL)")


def get_reader(source: str | Path) -> Reader:
    """The reader for ``source``: by URL scheme, by file suffix, or the folder reader.

    Parameters
    ----------
    source : str or Path
        A path (an existing folder is read as a folder) or a URL.

    Returns
    -------
    Reader

    Raises
    ------
    SourceError
        If no reader is registered for the source's scheme or suffix; the message names
        the source and lists the known file types and URL schemes.
    """
    text = str(source)
    if "://" not in text and Path(text).is_dir():
        return _FOLDER
    key = reader_key(text)
    if key == "env" and reader_key(database(text).url) in _READERS:  # the reader of the URL the variable holds
        key = reader_key(database(text).url)
    try:
        return _READERS[key]
    except KeyError:
        what = f"URL scheme {key!r}" if "://" in text else (f"file type {key!r}" if key else "a file without a suffix")
        raise SourceError(redact(text), f"cannot read {what}; {_known_text()}") from None


def read_source(source: str | Path, request: ReadRequest | None = None) -> ReadResult:
    """Read every canonical table found in ``source`` with its registered reader.

    Parameters
    ----------
    source : str or Path
        A folder, a file (a workbook, a database file, or one table file read as accounts)
        or a URL.
    request : ReadRequest, optional
        Names per table and the text encoding; by default each table's own name.

    Returns
    -------
    ReadResult

    Raises
    ------
    SourceError
        If the source does not exist, has no reader, or cannot be read.
    """
    request = request or ReadRequest()
    text = str(source)
    if not is_database_source(text) and not Path(text).exists():
        raise SourceError(text, "no such file or folder")
    reader = get_reader(text)
    if request.queries and not isinstance(reader, SQLReader):
        raise SourceError(redact(text), f"the mapping has SQL queries (sql: {', '.join(request.queries)}), but this "
                                        "is not a database; give a database URL or env:PLAYBOOK_DB_URL, or remove "
                                        "`sql:` from the mapping")
    return reader.read(text, request)


def read_table_file(path: str | Path, request: ReadRequest | None = None) -> RawTable:
    """Read one file holding one table (a folder member, or e.g. a proposed contact plan).

    Parameters
    ----------
    path : str or Path
        The file; its suffix selects a registered :class:`FileReader`.
    request : ReadRequest, optional
        Carries the text encoding.

    Returns
    -------
    RawTable

    Raises
    ------
    SourceError
        If the file is missing, no file reader serves its suffix, or it cannot be read.
    """
    request = request or ReadRequest()
    p = Path(path)
    if not p.is_file():
        raise SourceError(str(p), "no such file")
    reader = get_reader(p)
    if not isinstance(reader, FileReader):
        raise SourceError(str(p), f"a {reader.description} file cannot hold a single table here; "
                                  f"use one of {', '.join(table_suffixes())}")
    return reader.read_table(p, request)


# ------------------------------------------------------------------------ helpers


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def frame_digest(df: pd.DataFrame) -> str:
    """sha256 of a frame's values (for sources that are not files)."""
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()


def _guarded(path: Path, what: str, read: Callable[[], Any]) -> Any:
    """Run ``read``; any failure but a :class:`SourceError` becomes one naming ``path``."""
    try:
        return read()
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes an actionable error
        raise SourceError(str(path), f"cannot read {what} file: {exc}") from None


def _decode(path: Path, request: ReadRequest) -> str:
    """The file's text: in the declared encoding, else UTF-8 (with or without BOM), else GBK/GB18030."""
    data = path.read_bytes()
    if request.encoding:
        try:
            return data.decode(request.encoding)
        except LookupError:
            raise SourceError(str(path), f"unknown encoding {request.encoding!r} in the mapping; "
                                         "use e.g. utf-8, gb18030 or latin-1") from None
        except UnicodeDecodeError as exc:
            raise SourceError(str(path), f"cannot decode as {request.encoding} (byte {exc.start}); "
                                         "fix `encoding` in the mapping") from None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise SourceError(str(path), "cannot decode as UTF-8 or GBK/GB18030; set `encoding` in the mapping")


def _dedupe(names: list[str]) -> list[str]:
    """Unique column names, renaming repeats as pandas does (``a``, ``a.1``)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        out.append(n if k == 0 else f"{n}.{k}")
        seen[n] = k + 1
    return out


def _scan_csv(text: str) -> tuple[list[str], list[int], list[list[str]] | None, list[dict]]:
    """Header, the line number of every record, and (only when some record has a different
    field count than the header) every record, with one problem per such line."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    lines: list[int] = []
    counts: list[int] = []
    records: list[list[str]] = []
    last = 0
    for rec in reader:
        start, last = last + 1, reader.line_num
        if not rec:  # a blank line, skipped as pandas skips it
            continue
        if header is None:
            header = rec
            continue
        lines.append(start)
        counts.append(len(rec))
        records.append(rec)
    header = header or []
    n = len(header)
    problems = []
    ragged = [i for i, k in enumerate(counts) if k != n]
    for i in ragged:
        k = counts[i]
        if k < n:
            problems.append(dict(row=lines[i], column=header[k], value=None,
                                 reason=f"line has {k} fields, the header has {n}: {', '.join(header[k:])} missing "
                                        "(check separators and quotes)"))
        else:
            problems.append(dict(row=lines[i], column=f"field {n + 1}", value=str(records[i][n])[:60],
                                 reason=f"line has {k} fields, the header has {n} (an unquoted separator?)"))
    return header, lines, (records if ragged else None), problems


def _read_csv_table(path: Path, request: ReadRequest) -> RawTable:
    """Every value as text, with the line number of every row and every ragged line reported."""
    import io

    text = _decode(path, request)
    header, lines, records, problems = _scan_csv(text)
    names = _dedupe([h.strip().lstrip("\ufeff") for h in header])
    if records is None:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                            names=names, header=0, skip_blank_lines=True)
        if len(frame) != len(lines):  # pandas and csv disagree on records: trust the csv module
            records = [r for r in __import__("csv").reader(io.StringIO(text, newline="")) if r][1:]
    if records is not None:
        n = len(names)
        frame = pd.DataFrame([(r + [""] * n)[:n] for r in records], columns=names).astype("str")
        frame = frame.mask(frame == "")
    return RawTable(frame, path.name, 2, rows=lines, problems=problems, header=header)


def _read_csv(path: Path, request: ReadRequest) -> pd.DataFrame:
    """Every value as text; UTF-8 (with or without BOM), else GBK/GB18030, unless declared."""
    return _read_csv_table(path, request).frame


class CSVReader(FileReader):
    """CSV files: every value as text, line numbers as a person sees them, ragged lines reported."""

    def __init__(self) -> None:
        super().__init__(_read_csv, first_row=2, description=".csv")

    def read_table(self, path: Path, request: ReadRequest) -> RawTable:
        """Read one CSV file (see :meth:`FileReader.read_table`)."""
        return _guarded(path, self.description, lambda: _read_csv_table(path, request))


def _excel_checks(path: Path, sheet: str | int, frame: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """The sheet's header as written, and every formula cell with no cached value (pandas
    reads it as empty: the workbook was written by a program that does not compute
    formulas, and was never opened and saved in a spreadsheet application)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
        rows = ws.iter_rows()
        header = ["" if c.value is None else str(c.value) for c in next(rows, ())]
        formulas: dict[tuple[int, int], str] = {}
        if len(frame) and frame.isna().to_numpy().any():
            for row in rows:
                for c in row:
                    if getattr(c, "data_type", None) == "f":
                        formulas[(c.row, c.column)] = str(c.value)
    finally:
        book.close()
    problems: list[dict] = []
    if formulas:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
            for row in ws.iter_rows(min_row=2):
                for c in row:
                    key = (getattr(c, "row", None), getattr(c, "column", None))
                    if key in formulas and c.value is None:
                        col = header[key[1] - 1] if key[1] - 1 < len(header) else f"column {key[1]}"
                        problems.append(dict(row=key[0], column=col.strip(), value=formulas[key][:60],
                                             reason="Excel formula without a cached value; open and save the "
                                                    "workbook in a spreadsheet application, or export values"))
        finally:
            book.close()
    return header, problems


def _read_parquet(path: Path, request: ReadRequest) -> pd.DataFrame:
    import pyarrow.parquet as pq

    def of(per_table: Mapping[str, frozenset[str]]) -> set[str]:
        return set().union(*(cols for t, cols in per_table.items() if Path(request.name_of(t)).stem == path.stem))

    skip, dictionary = of(request.skip), of(request.dictionary)
    names = [c for c in pq.read_schema(path).names if c not in skip and not c.startswith("__index_level_")]
    return pd.read_parquet(path, columns=names, read_dictionary=sorted(dictionary & set(names)) or None)


# ------------------------------------------------------------------------ built-in registrations

register_reader(".parquet", FileReader(_read_parquet, first_row=1, description=".parquet"))
register_reader(".csv", CSVReader())
register_reader(".xlsx", ExcelReader(".xlsx"))
register_reader(".xlsm", ExcelReader(".xlsm"))
_DUCKDB = DuckDBReader()
for _key in (".duckdb", ".db", ".ddb"):
    register_reader(_key, _DUCKDB)
_SQL = SQLReader()
for _key in ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "env",
             "redshift", "snowflake", "bigquery", "trino", "clickhouse", "cockroachdb", "databricks"):
    register_reader(_key, _SQL)
del _key
