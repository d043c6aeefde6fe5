"""Reading a portfolio from a database: per-table queries, bound parameters, Arrow drivers, no leaked password.

A database source is an SQLAlchemy URL (``postgresql://collector:secret@db.internal/loans``)
or ``env:PLAYBOOK_DB_URL`` (``env:NAME`` reads any environment variable), so that the
password never has to be written on a command line. The mapping never holds credentials;
it holds per-table queries under ``sql:`` whose parameters the command binds:

``:as_of``
    the as-of day (a date);
``:as_of_end``
    the first moment after the as-of day, in the business time zone (a timestamp without
    a zone: compare it with ``<``);
``:window_start``
    the first moment the command counts events from: the as-of day's end less the
    command's window (``segment --window-days``, the KPI window, the 90-day feature
    window of briefings and what-if), in the business time zone.

A command without an as-of day (``compliance``, ``validate`` without ``--as-of``) binds
``:as_of`` to 9999-12-31 and ``:window_start`` to 1900-01-01: every row.

Rows are read through the first driver installed that serves the URL: ``adbc`` (the ADBC
PostgreSQL driver, Arrow batches straight from libpq), ``connectorx`` (PostgreSQL, MySQL,
MariaDB, ...), else ``sqlalchemy`` (any database SQLAlchemy reaches, streamed in chunks of
:data:`CHUNK_ROWS` rows, each turned into typed Arrow columns before the next is fetched,
so at most one chunk is ever held as Python objects). A fast driver that fails is
retried through SQLAlchemy, with a note.

Every text this module produces (labels, notes, errors) names the database by its
:func:`redact`-ed URL, and every driver message passes through :meth:`Database.scrub`
before it is shown.

Only :mod:`playbook.errors` and :mod:`playbook.schema` are imported from the package;
:mod:`playbook.readers` registers :class:`~playbook.readers.SQLReader` on top of
:func:`read_database`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import quote, quote_plus, unquote

from .errors import ArgumentError, SourceError, UnknownKeyError
from .schema import TABLES

__all__ = ["ENV_VAR", "PARAMETERS", "CHUNK_ROWS", "Database", "Driver", "DatabaseRead", "database", "redact",
           "is_database_source", "bind_values", "register_driver", "get_driver", "known_drivers", "choose_driver",
           "read_database", "query_parameters"]

#: the environment variable a source ``env:`` reads the URL from
ENV_VAR = "PLAYBOOK_DB_URL"

#: the parameters a mapping's queries may use, with what they hold
PARAMETERS = {
    "as_of": "the as-of day (a date)",
    "as_of_end": "the first moment after the as-of day, business time zone (compare with <)",
    "window_start": "the first moment the command counts events from, business time zone",
}

#: rows fetched per round trip on the SQLAlchemy path (and per Arrow batch on the fast paths)
CHUNK_ROWS = 65_536

#: what a command without an as-of day or a window binds: every row
UNBOUNDED_AS_OF = dt.date(9999, 12, 31)
UNBOUNDED_END = dt.datetime(9999, 12, 31, 23, 59, 59)
UNBOUNDED_START = dt.datetime(1900, 1, 1)

_SECRET_KEYS = re.compile(r"pass|pwd|secret|token|key", re.I)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^/@:\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)", re.I)


# ------------------------------------------------------------------------ the database and its secrets


@dataclass(frozen=True)
class Database:
    """A database to read from: the URL (secret) and how every message names it.

    Attributes
    ----------
    url : str
        The full URL, credentials included; never shown.
    label : str
        The URL with its password replaced by ``***`` (for ``env:NAME``: ``env:NAME``
        followed by that), the only name messages use.
    scheme : str
        The URL scheme without ``+driver`` (``postgresql``, ``mysql``, ``mariadb``, ...).
    secrets : tuple of str
        The password and other secret query values, in the forms they may appear in a
        driver's message (as written, percent-decoded, percent-encoded).
    """

    url: str
    label: str
    scheme: str
    secrets: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        """``text`` with the URL and every secret replaced (for driver messages).

        Parameters
        ----------
        text : str
            A message, e.g. a driver's exception text.

        Returns
        -------
        str
        """
        text = str(text).replace(self.url, self.label)
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***" + m.group("tail"), text)
        for s in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return re.sub(r"(password\s*=\s*)('[^']*'|\"[^\"]*\"|\S+)", r"\1***", text, flags=re.I)

    def __repr__(self) -> str:  # never the URL, also not in a traceback's locals
        return f"Database({self.label!r})"


def is_database_source(source: object) -> bool:
    """True for a URL (``scheme://...``) or an environment reference (``env:NAME``)."""
    text = str(source)
    return "://" in text or text.startswith("env:")


def redact(source: object) -> str:
    """``source`` as messages, reports and manifests may show it: with no password.

    Parameters
    ----------
    source : str or Path
        A path, a URL or ``env:NAME``.

    Returns
    -------
    str
        A path unchanged; a URL with its password (and secret query values) as ``***``;
        ``env:NAME`` unchanged (the variable is not read).
    """
    text = str(source)
    if "://" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***" + m.group("tail"), text)
    head, sep, query = text.partition("?")
    if sep:
        parts = []
        for item in query.split("&"):
            k, eq, v = item.partition("=")
            parts.append(f"{k}=***" if eq and _SECRET_KEYS.search(k) else item)
        text = head + "?" + "&".join(parts)
    return text


def database(source: str) -> Database:
    """The :class:`Database` a source names: a URL, or ``env:NAME`` (default ``env:PLAYBOOK_DB_URL``).

    Parameters
    ----------
    source : str
        ``scheme://user:password@host:port/database`` or ``env:NAME``.

    Returns
    -------
    Database

    Raises
    ------
    SourceError
        If the environment variable is unset or empty, or the URL cannot be parsed; the
        message shows no password.
    """
    text = str(source)
    shown_as = None
    if text.startswith("env:"):
        name = text[4:] or ENV_VAR
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SourceError(text, "write env:NAME with the name of an environment variable, e.g. env:PLAYBOOK_DB_URL")
        value = os.environ.get(name, "").strip()
        if not value:
            raise SourceError(f"env:{name}", f"the environment variable {name} is not set; set it to the database "
                                             f"URL, e.g. export {name}=postgresql://user:password@host:5432/database")
        if "://" not in value:
            raise SourceError(f"env:{name}", f"{name} does not hold a URL (scheme://user:password@host/database)")
        shown_as, text = f"env:{name}", value
    secrets: set[str] = set()
    try:
        from sqlalchemy.engine import make_url

        url = make_url(text)
        scheme = url.drivername.split("+", 1)[0].lower()
        if url.password:
            secrets.add(str(url.password))
        for k, v in url.query.items():
            if _SECRET_KEYS.search(k):
                secrets.update([v] if isinstance(v, str) else list(v))
    except Exception:  # noqa: BLE001 - an unparsable URL: say so without showing it
        raise SourceError(shown_as or redact(text), "not a database URL; write "
                                                    "scheme://user:password@host:port/database") from None
    forms = set()
    for s in secrets:
        if s:
            forms |= {s, unquote(s), quote(s, safe=""), quote_plus(s)}
    label = redact(text) if shown_as is None else f"{shown_as} ({redact(text)})"
    return Database(text, label, scheme, tuple(sorted(f for f in forms if len(f) >= 3)))


# ------------------------------------------------------------------------ parameters


def bind_values(*, as_of: Any = None, window_days: int | None = None, timezone: str | None = None) -> dict[str, Any]:
    """The values a command binds to ``:as_of``, ``:as_of_end`` and ``:window_start``.

    Parameters
    ----------
    as_of : date-like, optional
        The command's as-of day; ``None``: unbounded (9999-12-31).
    window_days : int, optional
        How many days before the end of the as-of day the command counts events over;
        ``None``: unbounded (1900-01-01).
    timezone : str, optional
        The business time zone: the window starts exactly ``window_days`` x 24 hours
        before the end of the as-of day there (also across a daylight-saving change).
        ``None``: local calendar arithmetic.

    Returns
    -------
    dict
        ``as_of`` (``datetime.date``), ``as_of_end`` and ``window_start`` (naive
        ``datetime.datetime`` in the business time zone).
    """
    import pandas as pd

    if as_of is None:
        if window_days is not None:
            raise ArgumentError("window_days", window_days, "None when as_of is None (a window ends on an as-of day)")
        return {"as_of": UNBOUNDED_AS_OF, "as_of_end": UNBOUNDED_END, "window_start": UNBOUNDED_START}
    try:
        day = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise ArgumentError("as_of", as_of, "a date such as '2026-11-29'") from None
    day = (day.tz_localize(None) if day.tzinfo is not None else day).normalize()
    end = day + pd.Timedelta(days=1)
    if window_days is None:
        start = pd.Timestamp(UNBOUNDED_START)
    elif isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ArgumentError("window_days", window_days, "an integer >= 1")
    elif timezone:
        local_end = end.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
        start = (local_end - pd.Timedelta(days=window_days)).tz_convert(timezone).tz_localize(None)
    else:
        start = end - pd.Timedelta(days=window_days)
    return {"as_of": day.date(), "as_of_end": end.to_pydatetime(), "window_start": start.to_pydatetime()}


def query_parameters(query: str) -> list[str]:
    """The ``:name`` parameters a query uses, in order of first use (``::`` casts and
    ``\\:`` are not parameters).

    Parameters
    ----------
    query : str
        SQL text.

    Returns
    -------
    list of str
    """
    import sqlalchemy as sa

    return list(sa.text(query)._bindparams)


# ------------------------------------------------------------------------ drivers


@dataclass(frozen=True)
class Driver:
    """One way of running a query and getting an Arrow table back.

    Attributes
    ----------
    name : str
        The registry key (``adbc``, ``connectorx``, ``sqlalchemy``).
    description : str
        How notes name it.
    schemes : tuple of str, optional
        The URL schemes it serves; ``None``: every scheme.
    module : str
        The module that must be importable for the driver to be used.
    fetch : callable
        ``fetch(db, query, params, chunk_rows, timezone) -> pyarrow.Table``.
    """

    name: str
    description: str
    schemes: tuple[str, ...] | None
    module: str
    fetch: Callable[..., Any] = field(repr=False)

    def available(self, db: Database) -> bool:
        """True when the driver serves ``db``'s scheme and its module is installed."""
        import importlib.util

        if self.schemes is not None and db.scheme not in self.schemes:
            return False
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False


_DRIVERS: dict[str, Driver] = {}


def register_driver(driver: Driver) -> Driver | None:
    """Register ``driver`` under its name (after those registered before); returns the one it replaces."""
    if not isinstance(driver, Driver):
        raise ArgumentError("driver", driver, "a playbook.sql.Driver")
    previous = _DRIVERS.get(driver.name)
    _DRIVERS[driver.name] = driver
    return previous


def get_driver(name: str) -> Driver:
    """The driver registered as ``name``.

    Raises
    ------
    UnknownKeyError
        If none is; the message lists the known drivers.
    """
    try:
        return _DRIVERS[name]
    except KeyError:
        raise UnknownKeyError("database driver", name, _DRIVERS) from None


def known_drivers() -> list[str]:
    """The registered drivers, in the order they are tried."""
    return list(_DRIVERS)


def choose_driver(db: Database, preferred: str | None = None) -> Driver:
    """The driver to read ``db`` with: ``preferred`` if given, else the first available.

    Raises
    ------
    SourceError
        If ``preferred`` cannot serve ``db`` (not installed, or another database).
    """
    if preferred is not None:
        d = get_driver(preferred)
        if not d.available(db):
            raise SourceError(db.label, f"the {d.description} driver cannot read {db.scheme} here (install "
                                        f"{d.module}, or serves {', '.join(d.schemes or ())})")
        return d
    for d in _DRIVERS.values():
        if d.available(db):
            return d
    raise SourceError(db.label, "no database driver installed for this URL; pip install sqlalchemy and the "
                                "database's DBAPI driver (e.g. psycopg[binary] or pymysql)")


def _sqlalchemy_url(db: Database) -> Any:
    """The URL with a DBAPI driver SQLAlchemy can load (``postgresql`` -> ``postgresql+psycopg`` when
    psycopg2 is absent, ``mysql``/``mariadb`` -> ``+pymysql`` when mysqlclient is absent)."""
    import importlib.util

    from sqlalchemy.engine import make_url

    url = make_url(db.url)
    if "+" in url.drivername:
        return url
    preferred = {"postgresql": [("psycopg2", "psycopg2"), ("psycopg", "psycopg"), ("pg8000", "pg8000")],
                 "mysql": [("MySQLdb", "mysqldb"), ("pymysql", "pymysql"), ("mysql.connector", "mysqlconnector")],
                 "mariadb": [("MySQLdb", "mysqldb"), ("pymysql", "pymysql"), ("mysql.connector", "mysqlconnector")]}
    for module, name in preferred.get(db.scheme, []):
        try:
            if importlib.util.find_spec(module) is not None:
                return url.set(drivername=f"{url.drivername}+{name}")
        except (ImportError, ValueError):
            continue
    return url


def _set_zone(timezone: str) -> str:
    """``SET TIME ZONE`` for an IANA zone name (checked: it is written into the statement)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", timezone):
        raise ArgumentError("timezone", timezone, "an IANA time zone name such as 'Asia/Shanghai'")
    return f"SET TIME ZONE '{timezone}'"


def _libpq_url(db: Database) -> str:
    """The URL as libpq writes it (``postgresql://...``, without ``+driver``)."""
    scheme, rest = db.url.split("://", 1)
    return "postgresql://" + rest if scheme.split("+", 1)[0] in ("postgresql", "postgres") else db.url


def _fetch_adbc(db: Database, query: str, params: Mapping[str, Any], chunk_rows: int, timezone: str | None) -> Any:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import asyncpg

    compiled = sa.text(query).compile(dialect=asyncpg.dialect())  # :name -> $1, $2, ... in order of use
    values = tuple(params[name] for name in (compiled.positiontup or []))
    with adbc.connect(_libpq_url(db)) as conn:
        with conn.cursor() as cur:
            if timezone:
                cur.execute(_set_zone(timezone))
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(16 << 20)})
            cur.execute(compiled.string, values if values else None)
            reader = cur.fetch_record_batch()
            return pa.Table.from_batches(list(reader), schema=reader.schema)


class _Literal:
    """Values inlined as typed SQL literals (ConnectorX takes no bound parameters; the values
    are the command's own dates, never text from a file or a person)."""

    @staticmethod
    def render(value: Any) -> str:
        if isinstance(value, dt.datetime):
            return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
        if isinstance(value, dt.date):
            return f"DATE '{value:%Y-%m-%d}'"
        raise ArgumentError("parameter", value, "a date or a timestamp")


def _inline(query: str, params: Mapping[str, Any]) -> str:
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import asyncpg

    compiled = sa.text(query).compile(dialect=asyncpg.dialect())
    text = compiled.string
    order = list(compiled.positiontup or [])
    for i in range(len(order), 0, -1):  # $10 before $1
        text = re.sub(rf"\${i}(?!\d)", _Literal.render(params[order[i - 1]]).replace("\\", "\\\\"), text)
    return text


def _fetch_connectorx(db: Database, query: str, params: Mapping[str, Any], chunk_rows: int,
                      timezone: str | None) -> Any:
    import connectorx as cx

    scheme, rest = db.url.split("://", 1)
    base = scheme.split("+", 1)[0]
    pg = base in ("postgresql", "postgres")
    url = ("postgresql://" if pg else "mysql://" if base in ("mysql", "mariadb") else base + "://") + rest
    if pg and timezone and "options=" not in rest:  # the session's zone, as SET TIME ZONE on the other paths
        url += ("&" if "?" in rest else "?") + "options=" + quote(f"-c TimeZone={timezone}", safe="")
    return cx.read_sql(url, _inline(query, params), return_type="arrow")


def _fetch_sqlalchemy(db: Database, query: str, params: Mapping[str, Any], chunk_rows: int,
                      timezone: str | None) -> Any:
    import pyarrow as pa
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(_sqlalchemy_url(db), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if timezone and db.scheme in ("postgresql", "postgres"):
                conn.exec_driver_sql(_set_zone(timezone))
            stmt = sa.text(query)
            used = list(stmt._bindparams)
            result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
                stmt, {k: params[k] for k in used})
            names = list(result.keys())
            parts = [_arrow_chunk(names, rows) for rows in result.partitions(chunk_rows)]
    finally:
        engine.dispose()
    if not parts:
        return pa.table({n: pa.array([], pa.null()) for n in names})
    return pa.concat_tables(parts, promote_options="permissive", memory_pool=_pool())


def _arrow_chunk(names: list[str], rows: list[Any]) -> Any:
    """One chunk of rows as typed Arrow columns (a column whose values Arrow cannot type
    together, e.g. numbers and text in SQLite, is kept as text)."""
    import pyarrow as pa

    cols = list(zip(*rows)) if rows else [() for _ in names]
    arrays = []
    for values in cols:
        try:
            arrays.append(pa.array(values, memory_pool=_pool()))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string(), memory_pool=_pool()))
    return pa.Table.from_arrays(arrays, names=names)


# the built-in drivers, in the order they are tried (nothing is imported until one is used)
register_driver(Driver("adbc", "ADBC PostgreSQL", ("postgresql", "postgres"), "adbc_driver_postgresql", _fetch_adbc))
register_driver(Driver("connectorx", "ConnectorX", ("postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle",
                                                    "redshift"), "connectorx", _fetch_connectorx))
register_driver(Driver("sqlalchemy", "SQLAlchemy (chunks)", None, "sqlalchemy", _fetch_sqlalchemy))


# ------------------------------------------------------------------------ reading


@dataclass
class DatabaseRead:
    """What :func:`read_database` read.

    Attributes
    ----------
    frames : dict of str to DataFrame
        The canonical tables found, as the database returned them (numbers as float,
        dates as timestamps, text as text).
    labels : dict of str to str
        Per table, how reports name its origin (``loan_master (sql)``, ``accounts (sql query)``).
    header : dict of str to list of str
        Per table, the column names exactly as the database returned them.
    notes : list of str
        The driver used, the parameters bound and the rows each query read.
    label : str
        The database as messages name it (no password).
    """

    frames: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    header: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    label: str = ""


def read_database(source: str, *, queries: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None,
                  named: frozenset[str] = frozenset(), params: Mapping[str, Any] | None = None,
                  timezone: str | None = None, driver: str | None = None,
                  chunk_rows: int = CHUNK_ROWS, skip: Mapping[str, frozenset[str]] | None = None) -> DatabaseRead:
    """Read the canonical tables from a database: by the mapping's query, else by table name.

    Parameters
    ----------
    source : str
        A database URL or ``env:NAME``.
    queries : Mapping[str, str], optional
        Per canonical table, the SQL that returns its rows (the mapping's ``sql:``); it may
        use the parameters of :data:`PARAMETERS`.
    names : Mapping[str, str], optional
        Per canonical table without a query, the database table to read whole (default:
        the table's own name; ``schema.table`` is allowed).
    named : frozenset of str
        Tables whose name the mapping gave: a missing one is an error, not an absent table.
    params : Mapping[str, Any], optional
        The values bound to the parameters (:func:`bind_values`); default: unbounded.
    timezone : str, optional
        The business time zone; PostgreSQL sessions use it, so that a bound timestamp
        compared with a ``timestamptz`` column means a local time there.
    driver : str, optional
        Force one driver (``adbc``, ``connectorx``, ``sqlalchemy``); default: the first
        installed that serves the URL.
    chunk_rows : int
        Rows per chunk on the SQLAlchemy path.
    skip : Mapping[str, frozenset of str], optional
        Per canonical table, source columns the command does not need: a table read by
        name selects only the others; a query's result leaves them out before it is
        converted (the query itself is run as written).

    Returns
    -------
    DatabaseRead

    Raises
    ------
    SourceError
        For an unknown parameter, a connection or query failure, a missing named table;
        the message names the table and the database, and shows no password.
    """
    db = database(source)
    queries = dict(queries or {})
    names = dict(names or {})
    values = dict(params) if params is not None else bind_values()
    for t in queries:
        if t not in TABLES:
            raise SourceError(db.label, f"sql.{t}: not a table; tables: {', '.join(TABLES)}")
        unknown = [p for p in query_parameters(queries[t]) if p not in values]
        if unknown:
            raise SourceError(db.label, f"sql.{t}: unknown parameter {', '.join(':' + p for p in unknown)}; "
                                        f"known: {', '.join(':' + p for p in PARAMETERS)}")
    chosen = choose_driver(db, driver)
    out = DatabaseRead(label=db.label)
    plain = [t for t in TABLES if t not in queries]
    statements: dict[str, tuple[str, str]] = {t: (q, f"{t} (sql query)") for t, q in queries.items()}
    skip = {t: frozenset(c) for t, c in (skip or {}).items()}
    if plain:
        present = _table_names(db, plain, names, skip)
        for t in plain:
            name = names.get(t, t)
            if name in present:
                statements[t] = (present[name], f"{name} (sql)")
            elif t in named:
                raise SourceError(db.label, f"the mapping names table {name!r} for {t}, but the database has no "
                                            "such table (or this user cannot see it)")
    shown = ", ".join(f"{k} {v:%Y-%m-%d %H:%M:%S}" if isinstance(v, dt.datetime) else f"{k} {v}"
                      for k, v in values.items())
    out.notes.append(f"read {db.label} through {chosen.description}")
    for t in TABLES:
        if t not in statements:
            continue
        query, label = statements[t]
        if t in queries and skip.get(t):
            query = _without(db, chosen, query, values, skip[t], timezone)
        fetched = list(_fetch(db, chosen, t, query, values, chunk_rows, timezone, out.notes))
        used, n = fetched[1], fetched[0].num_rows
        out.header[t] = list(fetched[0].column_names)
        unused = [c for c in out.header[t] if c in skip.get(t, ())]
        if unused:
            fetched[0] = fetched[0].drop_columns(unused)
        out.frames[t] = _to_frame(fetched)  # takes the Arrow table out of ``fetched``: freed while converted
        out.labels[t] = label
        if t in queries:
            out.notes.append(f"{t}: {n} rows read by the mapping's query"
                             + (f" ({shown})" if query_parameters(query) else "")
                             + ("" if used is chosen else f" through {used.description}"))
    return out


def _fetch(db: Database, chosen: Driver, table: str, query: str, values: Mapping[str, Any], chunk_rows: int,
           timezone: str | None, notes: list[str]) -> tuple[Any, Driver]:
    """Run one query through ``chosen``; a fast driver that fails is retried through SQLAlchemy."""
    try:
        return chosen.fetch(db, query, values, chunk_rows, timezone), chosen
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes one actionable error
        first = exc
    fallback = _DRIVERS.get("sqlalchemy")
    if fallback is not None and fallback is not chosen and fallback.available(db):
        try:
            result = fallback.fetch(db, query, values, chunk_rows, timezone)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(db.label, f"cannot read {table}: {_reason(db, exc)}") from None
        notes.append(f"{table}: {chosen.description} failed ({_reason(db, first)}); read through "
                     f"{fallback.description} instead")
        return result, fallback
    raise SourceError(db.label, f"cannot read {table}: {_reason(db, first)}") from None


def _without(db: Database, driver: Driver, query: str, values: Mapping[str, Any], unused: frozenset[str],
             timezone: str | None) -> str:
    """``query`` selecting every column of its result but ``unused`` (so that they are not
    transferred), found by running it with ``LIMIT 0``; the query as written when that fails."""
    from sqlalchemy.engine import make_url

    inner = query.strip().rstrip(";")
    try:
        names = driver.fetch(db, f"SELECT * FROM ({inner}) AS playbook_q LIMIT 0", values, 1, timezone).column_names
        quote = make_url(db.url).get_dialect()().identifier_preparer.quote
    except Exception:  # noqa: BLE001 - the query itself is run, and fails with its own message
        return query
    keep = [n for n in names if n not in unused]
    if len(keep) == len(names) or not keep or len(set(names)) < len(names):
        return query
    return f"SELECT {', '.join(quote(n) for n in keep)} FROM ({inner}) AS playbook_q"


def _reason(db: Database, exc: BaseException) -> str:
    """A driver's message, scrubbed and shortened to what a person acts on."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    text = re.sub(r"\n\[SQL:.*", "", text, flags=re.S)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    text = "; ".join(lines[:4]) or type(exc).__name__
    if len(text) > 600:
        text = text[:600] + " ..."
    return f"{type(getattr(exc, 'orig', None) or exc).__name__}: {db.scrub(text)}"


def _table_names(db: Database, tables: list[str], names: Mapping[str, str],
                 skip: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """The requested database tables that exist, each with the query reading it (every column
    but those in ``skip``)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    try:
        engine = sa.create_engine(_sqlalchemy_url(db), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                insp = sa.inspect(conn)
                found: dict[str, str] = {}
                for t in tables:
                    name = names.get(t, t)
                    schema, _, bare = name.rpartition(".")
                    if insp.has_table(bare, schema=schema or None) or bare in insp.get_view_names(schema=schema or None):
                        cols = [c["name"] for c in insp.get_columns(bare, schema=schema or None)]
                        keep = [c for c in cols if c not in skip.get(t, ())]
                        what = [sa.column(c) for c in keep] if len(keep) < len(cols) else [sa.text("*")]
                        stmt = sa.select(*what).select_from(sa.table(bare, schema=schema or None))
                        found[name] = str(stmt.compile(dialect=engine.dialect))
                return found
        finally:
            engine.dispose()
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SourceError(db.label, f"cannot connect: {_reason(db, exc)}") from None


def _to_frame(holder: list) -> Any:
    """The Arrow table ``holder[0]`` as the loader reads a Parquet file (decimals as floats,
    dates as timestamps); the table is taken out of ``holder`` and its buffers are released
    column by column as they are converted, so the rows are not held twice."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = holder[0]
    holder[0] = None
    pool = _pool()
    cols = []
    for col in table.columns:
        t = col.type
        if isinstance(t, pa.BaseExtensionType):  # e.g. ADBC's PostgreSQL numeric: text in an opaque type
            numeric = getattr(t, "type_name", "") in ("numeric", "decimal")
            col = pa.chunked_array([c.storage for c in col.chunks], type=t.storage_type)
            if numeric:
                try:
                    col = pc.cast(col, pa.float64(), memory_pool=pool)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass  # e.g. Infinity: left as text, which the loader reads or reports
            t = col.type
        if pa.types.is_decimal(t):
            col = pc.cast(col, pa.float64(), memory_pool=pool)
        elif pa.types.is_date(t):
            col = pc.cast(col, pa.timestamp("us"), memory_pool=pool)
        elif pa.types.is_null(t):
            col = pc.cast(col, pa.string(), memory_pool=pool)
        elif pa.types.is_timestamp(t) and (t.unit != "us" or t.tz not in (None, "UTC")):
            # one form whatever the driver: microseconds, and instants in UTC (a session zone or +00:00 otherwise)
            col = pc.cast(col, pa.timestamp("us", "UTC" if t.tz else None), memory_pool=pool)
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = pc.cast(col, pa.string(), memory_pool=pool)
        cols.append(col)
    names = table.column_names
    table = col = None
    converted = pa.table(cols, names=names)
    del cols
    frame = converted.to_pandas(self_destruct=True, split_blocks=True, memory_pool=pool)
    del converted
    _trim()
    return frame


def _pool() -> Any:
    """Arrow's system (malloc) allocator: what a read frees goes back to the system with
    :func:`_trim`, where the default pool (mimalloc) would keep it for Arrow's own reuse."""
    import pyarrow as pa

    return pa.system_memory_pool()


def _trim() -> None:
    """Give freed heap memory back to the system (glibc ``malloc_trim``; elsewhere nothing)."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(ctypes.c_size_t(0))
    except (OSError, AttributeError):
        pass
