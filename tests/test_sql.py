"""Reading the portfolio from real PostgreSQL and MariaDB servers (playbook.sql).

The servers are started here, on loopback with throwaway data directories
(tests/fixtures/sql/servers.py); the tests skip, saying why, when the Debian packages
``postgresql`` / ``mariadb-server`` or the Python drivers are absent. Each server holds a
demo portfolio under a loan system's own table names, column names and codes
(tests/fixtures/sql/loan_system.yaml), plus soft-deleted accounts and contact history from
before the demo's 90 days.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import playbook
from playbook import readers, sql
from playbook.cli import main
from playbook.errors import ArgumentError, SourceError, UnknownKeyError
from playbook.loading import Mapping, load_portfolio, read_mapping
from tests.fixtures.sql import servers

HERE = Path(__file__).resolve().parent
MAPPING = HERE / "fixtures" / "sql" / "loan_system.yaml"
AS_OF = "2026-11-29"
ZONE = "Asia/Shanghai"
PASSWORD = "Pl@y/b00k%S3cret"  # URL-special characters: the URL holds it percent-encoded

FOREIGN = {
    "accounts": {"account_id": "loan_no", "balance": "principal_outstanding", "overdue_amount": "amount_overdue",
                 "dpd": "days_overdue", "product": "product_code", "status": "loan_status", "name": "cust_name",
                 "phone": "mobile"},
    "interactions": {"account_id": "loan_no", "ts": "call_time", "outcome": "result_code",
                     "ptp_amount": "promise_amount", "ptp_date": "promise_date", "agent_id": "agent",
                     "duration_s": "duration_sec"},
    "payments": {"account_id": "loan_no", "paid_at": "paid_time", "amount": "amt"},
    "history": {"account_id": "loan_no", "month": "stat_month", "bucket": "bucket_code", "balance": "bal"},
}
CODES = {("interactions", "outcome"): {"ptp": "PTP", "no_answer": "NOANS", "rpc": "RPC", "busy": "BUSY",
                                       "power_off": "PWROFF", "refuse": "REFUSE"},
         ("accounts", "status"): {"open": "A", "closed": "C"}}
TABLE_NAMES = {"accounts": "loan_master", "interactions": "call_log", "payments": "repayments",
               "history": "monthly_status"}
OLD_DAYS = 200  # contact history this much older than the demo's own 90 days


# ------------------------------------------------------------------------ the loan system's export


def _foreign_tables() -> dict[str, pd.DataFrame]:
    """A demo portfolio as the loan system holds it: its names and codes, naive local times,
    money in cents, soft-deleted accounts, and contact history older than 90 days."""
    pf = playbook.demo_portfolio(300, 11, AS_OF)
    out = {}
    for t, df in pf.tables().items():
        df = df.copy()
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.tz_convert(ZONE).dt.tz_localize(None).astype("datetime64[us]")
        for c in ("balance", "overdue_amount", "amount", "ptp_amount"):
            if c in df:
                df[c] = df[c].round(2)
        if t == "interactions":
            old = df.iloc[::7].copy()
            old["ts"] = old["ts"] - pd.Timedelta(days=OLD_DAYS)
            old["ptp_date"] = old["ptp_date"] - pd.Timedelta(days=OLD_DAYS)
            df = pd.concat([old, df], ignore_index=True)
        for (table, col), codes in CODES.items():
            if table == t:
                df[col] = df[col].map(lambda v: codes.get(v, v)).astype("str")
        df = df.rename(columns=FOREIGN[t])
        if t == "accounts":
            deleted = df.iloc[:5].copy()
            deleted["loan_no"] = "DEL-" + deleted["loan_no"].astype(str)
            deleted["principal_outstanding"] = -1.0  # would be rejected if the query read it
            df = pd.concat([df.assign(is_deleted=0), deleted.assign(is_deleted=1)], ignore_index=True)
        out[TABLE_NAMES[t]] = df
    return out


@pytest.fixture(scope="module")
def foreign() -> dict[str, pd.DataFrame]:
    return _foreign_tables()


@pytest.fixture(scope="module")
def files(foreign, tmp_path_factory) -> Path:
    """The same export as Parquet files (soft-deleted accounts left out, as the query does)."""
    d = tmp_path_factory.mktemp("loan_files")
    for name, df in foreign.items():
        if name == "loan_master":
            df = df[df["is_deleted"] == 0]
        df.to_parquet(d / f"{name}.parquet", index=False)
    return d


def _file_mapping() -> Mapping:
    raw = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    raw.pop("sql")
    raw["files"] = {t: f"{n}.parquet" for t, n in TABLE_NAMES.items()}
    return Mapping.model_validate(raw)


def _write(url: str, foreign: dict[str, pd.DataFrame]) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    mysql = engine.dialect.name in ("mysql", "mariadb")
    try:
        for name, df in foreign.items():
            types = {}
            for c in df.columns:
                if mysql and pd.api.types.is_datetime64_any_dtype(df[c]):
                    from sqlalchemy.dialects.mysql import DATETIME

                    types[c] = DATETIME(fsp=6)
                elif c in ("principal_outstanding", "amount_overdue", "amt", "promise_amount"):
                    types[c] = sa.Numeric(14, 2)
                elif pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object:
                    types[c] = sa.String(64) if mysql else sa.Text()
                elif c == "promise_date":
                    types[c] = sa.Date()
            frame = df.copy()
            if "promise_date" in frame:
                frame["promise_date"] = frame["promise_date"].dt.date
            frame.to_sql(name, engine, index=False, dtype=types, chunksize=2000)
    finally:
        engine.dispose()


def _need(*modules: str) -> None:
    for m in modules:
        if importlib.util.find_spec(m) is None:
            pytest.skip(f"Python package {m} not installed (pip install -e '.[dev]')")


def _serve(kind: str, foreign: dict[str, pd.DataFrame]):
    """Start a server of ``kind``, load the loan system into it, yield it, stop it."""
    found, package, module = ((servers.postgres_binaries(), "postgresql", "psycopg") if kind == "postgresql" else
                              (servers.mariadb_binaries(), "mariadb-server", "pymysql"))
    if found is None:
        pytest.skip(f"{kind} server binaries not found: install the Debian package {package} (make system-deps)")
    _need(module)
    server = servers.start_postgres(PASSWORD) if kind == "postgresql" else servers.start_mariadb(PASSWORD)
    try:
        _write(server.url("postgresql+psycopg" if kind == "postgresql" else "mysql+pymysql"), foreign)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pg(foreign):
    """A PostgreSQL server holding the loan system."""
    yield from _serve("postgresql", foreign)


@pytest.fixture(scope="module")
def maria(foreign):
    """A MariaDB server holding the loan system."""
    yield from _serve("mariadb", foreign)


def _assert_same(a: playbook.Portfolio, b: playbook.Portfolio) -> None:
    for t in ("accounts", "interactions", "payments", "history"):
        fa, fb = getattr(a, t), getattr(b, t)
        key = [c for c in ("account_id", "ts", "paid_at", "month", "channel", "outcome") if c in fa]
        fa = fa.sort_values(key, kind="stable").reset_index(drop=True)
        fb = fb.sort_values(key, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(fa, fb, check_dtype=True, obj=t)
    ca = a.report.counts.drop(columns="file").reset_index(drop=True)
    cb = b.report.counts.drop(columns="file").reset_index(drop=True)
    pd.testing.assert_frame_equal(ca, cb)


def _no_secret(*texts: object) -> None:
    from urllib.parse import quote

    for text in texts:
        for form in (PASSWORD, quote(PASSWORD, safe=""), "S3cret"):
            assert form not in str(text), f"password leaked: {str(text)[:300]}"


# ------------------------------------------------------------------------ parameters, URLs, secrets


def test_bind_values_are_the_command_window_in_the_business_zone():
    v = sql.bind_values(as_of="2026-11-29", window_days=90, timezone=ZONE)
    assert v == {"as_of": dt.date(2026, 11, 29), "as_of_end": dt.datetime(2026, 11, 30),
                 "window_start": dt.datetime(2026, 9, 1)}
    # across a daylight-saving change the window is exactly 90 x 24 hours (here 1 hour later in local time)
    la = sql.bind_values(as_of="2026-11-29", window_days=90, timezone="America/Los_Angeles")
    assert la["window_start"] == dt.datetime(2026, 9, 1, 1, 0)
    end = pd.Timestamp("2026-11-30", tz="America/Los_Angeles")
    assert pd.Timestamp(la["window_start"]).tz_localize("America/Los_Angeles") == end - pd.Timedelta(hours=90 * 24)
    # the features count from the same moment
    from playbook.arrays import NS_DAY, day_end_ns

    cut = day_end_ns(pd.Timestamp("2026-11-29"), "America/Los_Angeles")
    start = pd.Timestamp(cut - 90 * NS_DAY, tz="UTC")
    assert start == pd.Timestamp(la["window_start"]).tz_localize("America/Los_Angeles")
    assert sql.bind_values() == {"as_of": dt.date(9999, 12, 31), "as_of_end": dt.datetime(9999, 12, 31, 23, 59, 59),
                                 "window_start": dt.datetime(1900, 1, 1)}
    assert sql.bind_values(as_of="2026-11-29")["window_start"] == dt.datetime(1900, 1, 1)
    with pytest.raises(ArgumentError):
        sql.bind_values(window_days=30)
    with pytest.raises(ArgumentError):
        sql.bind_values(as_of="2026-11-29", window_days=0)


def test_query_parameters_ignore_casts_and_strings():
    q = "SELECT a::date FROM t WHERE ts >= :window_start AND d <= :as_of AND note <> 'x:y' AND ts < :window_start"
    assert sql.query_parameters(q) == ["window_start", "as_of"]


@pytest.mark.parametrize("url,shown", [
    ("postgresql://collector:Pl%40y%2Fb00k%25S3cret@db:5432/loans", "postgresql://collector:***@db:5432/loans"),
    ("mysql+pymysql://u:S3cretpw@h/db?charset=utf8mb4", "mysql+pymysql://u:***@h/db?charset=utf8mb4"),
    ("postgresql://u@h/db?password=S3cretpw&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    ("postgresql://h/db", "postgresql://h/db"),
    ("data/demo", "data/demo"),
])
def test_redact(url, shown):
    assert sql.redact(url) == shown


def test_database_scrubs_every_form_of_the_password(monkeypatch):
    db = sql.database("postgresql://collector:Pl%40y%2Fb00k%25S3cret@db:5432/loans")
    text = ("FATAL for postgresql://collector:Pl%40y%2Fb00k%25S3cret@db:5432/loans: password Pl@y/b00k%S3cret "
            "dsn host=db password=whatever")
    out = db.scrub(text)
    _no_secret(out, repr(db))
    assert "whatever" not in out and "postgresql://collector:***@db:5432/loans" in out
    monkeypatch.setenv("PLAYBOOK_DB_URL", "postgresql://collector:Pl%40y%2Fb00k%25S3cret@db/loans")
    env = sql.database("env:PLAYBOOK_DB_URL")
    assert env.label == "env:PLAYBOOK_DB_URL (postgresql://collector:***@db/loans)"
    assert sql.database("env:").label == env.label
    monkeypatch.delenv("PLAYBOOK_DB_URL")
    with pytest.raises(SourceError, match="PLAYBOOK_DB_URL is not set"):
        sql.database("env:PLAYBOOK_DB_URL")


def test_driver_registry_names_known_drivers():
    assert sql.known_drivers()[:3] == ["adbc", "connectorx", "sqlalchemy"]
    with pytest.raises(UnknownKeyError, match="adbc, connectorx, sqlalchemy"):
        sql.get_driver("odbc")


def test_mapping_refuses_credentials_and_sql_with_files(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("url: postgresql://u:S3cretpw@h/db\nsql: {accounts: SELECT 1}\n", encoding="utf-8")
    with pytest.raises(SourceError) as e:
        read_mapping(p)
    assert "credentials and URLs never go in a mapping" in str(e.value)
    _no_secret(e.value)
    p.write_text("files: {accounts: a.csv}\nsql: {accounts: SELECT 1, calls: SELECT 2}\n", encoding="utf-8")
    with pytest.raises(SourceError) as e:
        read_mapping(p)
    assert "'calls' is not a table" in str(e.value) or "calls" in str(e.value)


def test_queries_need_a_database(tmp_path, files):
    m = Mapping.model_validate({"sql": {"accounts": "SELECT * FROM loan_master"}})
    with pytest.raises(SourceError, match="not a database"):
        load_portfolio(files, m)


def test_sqlite_through_chunks_equals_files(tmp_path, foreign, files):
    """SQLite needs no server: the SQLAlchemy path in chunks of 97 rows gives the file portfolio."""
    url = f"sqlite:///{tmp_path / 'loans.db'}"
    _write(url, foreign)
    want = load_portfolio(files, _file_mapping())
    with readers.registered("sqlite", readers.SQLReader(driver="sqlalchemy")):
        from unittest import mock

        with mock.patch.object(sql, "CHUNK_ROWS", 97):
            got = load_portfolio(url, MAPPING)
    _assert_same(want, got)


# ------------------------------------------------------------------------ real servers


def _drivers_for(kind: str) -> list:
    names = ["adbc", "connectorx", "sqlalchemy"] if kind == "postgresql" else ["connectorx", "sqlalchemy"]
    return [pytest.param(n, id=n) for n in names]


@pytest.mark.parametrize("driver", _drivers_for("postgresql"))
def test_postgres_through_the_mapping_equals_files(pg, files, driver):
    _need({"adbc": "adbc_driver_postgresql", "connectorx": "connectorx", "sqlalchemy": "sqlalchemy"}[driver])
    want = load_portfolio(files, _file_mapping())
    with readers.registered("postgresql", readers.SQLReader(driver=driver)):
        got = load_portfolio(pg.url(), MAPPING)
    _assert_same(want, got)
    assert len(got.accounts) == 300  # the soft-deleted rows were never read
    assert int(got.report.counts.set_index("table").loc["accounts", "read"]) == 300
    assert any(n.endswith(f"through {sql.get_driver(driver).description}") for n in got.report.notes)
    assert not any("failed" in n for n in got.report.notes)  # no fallback: the driver itself read every table
    _no_secret(got.report.to_text(), got.report.source, json.dumps(got.sources))


@pytest.mark.parametrize("driver", _drivers_for("mariadb"))
def test_mariadb_through_the_mapping_equals_files(maria, files, driver):
    _need({"connectorx": "connectorx", "sqlalchemy": "sqlalchemy"}[driver])
    want = load_portfolio(files, _file_mapping())
    url = maria.url("mysql")
    with readers.registered("mysql", readers.SQLReader(driver=driver)):
        got = load_portfolio(url, MAPPING)
    _assert_same(want, got)
    assert any(n.endswith(f"through {sql.get_driver(driver).description}") for n in got.report.notes)
    assert not any("failed" in n for n in got.report.notes)
    _no_secret(got.report.to_text())


@pytest.mark.parametrize("days", [30, 90])
def test_a_windowed_query_reads_only_the_window(pg, foreign, days):
    got = load_portfolio(pg.url(), MAPPING, as_of=AS_OF, window_days=days)
    calls = foreign["call_log"]
    start = pd.Timestamp("2026-11-30") - pd.Timedelta(days=days)  # Asia/Shanghai has no DST
    expected = int(((calls["call_time"] >= start) & (calls["call_time"] < pd.Timestamp("2026-11-30"))).sum())
    counts = got.report.counts.set_index("table")
    assert int(counts.loc["interactions", "read"]) == expected < len(calls)
    assert len(got.interactions) == expected
    assert any(f"interactions: {expected} rows read by the mapping's query" in n for n in got.report.notes)


@pytest.mark.parametrize("driver", ["adbc", "connectorx", "sqlalchemy"])
def test_a_window_on_a_timestamptz_column_is_local_to_the_business_zone(pg, foreign, driver):
    """Bound times are local times of the mapping's zone, also against a column with a zone
    (every driver's session runs in that zone)."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg.url("postgresql+psycopg"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS call_log_tz AS "
                             "SELECT *, call_time AT TIME ZONE 'Asia/Shanghai' AS call_time_tz FROM call_log")
    engine.dispose()
    m = read_mapping(MAPPING).model_copy(update={"sql": {
        "accounts": "SELECT * FROM loan_master WHERE is_deleted = 0",
        "interactions": "SELECT loan_no, call_time_tz AS call_time, channel, direction, party, result_code "
                        "FROM call_log_tz WHERE call_time_tz >= :window_start AND call_time_tz < :as_of_end"}})
    with readers.registered("postgresql", readers.SQLReader(driver=driver)):
        got = load_portfolio(pg.url(), m, as_of=AS_OF, window_days=30)
    calls = foreign["call_log"]
    start = pd.Timestamp("2026-10-31")
    expected = int(((calls["call_time"] >= start) & (calls["call_time"] < pd.Timestamp("2026-11-30"))).sum())
    assert len(got.interactions) == expected
    assert got.interactions["ts"].min() >= pd.Timestamp(start, tz=ZONE)
    assert str(got.interactions["ts"].dtype) == "datetime64[us, UTC]"  # one form whatever the driver returned


def test_skipped_columns_are_not_selected_or_converted(pg, files):
    """A column a command does not read is left out: by the query's result, and by a table read by name."""
    counting = _Counting()
    m = read_mapping(MAPPING).model_copy(update={"sql": {"accounts": "SELECT * FROM loan_master WHERE is_deleted = 0"},
                                                 "files": {"interactions": "call_log"}})
    with readers.registered("postgresql", counting):
        got = load_portfolio(pg.url(), m, skip={"interactions": ["message", "notes"], "accounts": ["id_number"]})
    assert "message" not in got.interactions and "notes" not in got.interactions
    assert "id_number" not in got.accounts
    assert "message" not in counting.frames["interactions"] and "id_number" not in counting.frames["accounts"]
    want = load_portfolio(files, _file_mapping(), skip={"interactions": ["message", "notes"], "accounts": ["id_number"]})
    pd.testing.assert_frame_equal(want.interactions.sort_values(["account_id", "ts", "channel"]).reset_index(drop=True),
                                  got.interactions.sort_values(["account_id", "ts", "channel"]).reset_index(drop=True))


@pytest.mark.parametrize("driver", ["connectorx", "sqlalchemy"])
def test_mariadb_query_leaves_skipped_columns_out(maria, files, driver):
    _need({"connectorx": "connectorx", "sqlalchemy": "sqlalchemy"}[driver])
    with readers.registered("mysql", readers.SQLReader(driver=driver)):
        got = load_portfolio(maria.url("mysql"), MAPPING, skip={"interactions": ["message"]})
    want = load_portfolio(files, _file_mapping(), skip={"interactions": ["message"]})
    _assert_same(want, got)
    assert "message" not in got.interactions


class _Counting(readers.SQLReader):
    """The SQL reader, remembering the rows each table read and the request it got."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, int] = {}
        self.requests: list = []

    def read(self, source, request):  # noqa: ANN001, ANN201
        result = super().read(source, request)
        self.requests.append(request)
        self.rows = {t: len(r.frame) for t, r in result.tables.items()}
        self.frames = {t: list(r.frame.columns) for t, r in result.tables.items()}
        return result


def test_segment_reads_only_its_window_and_equals_the_segments_from_files(pg, files, foreign, tmp_path, capsys):
    """``segment --window-days 30`` reads the contact log from 45 days back (settings.yaml
    lost_after_days: the recency rule looks that far) and gives the segments of the whole export."""
    counting = _Counting()
    out = tmp_path / "seg.parquet"
    with readers.registered("postgresql", counting):
        code = main(["segment", pg.url(), "--mapping", str(MAPPING), "--as-of", AS_OF, "--window-days", "30",
                     "--out", str(out)])
    assert code == 0
    lost = playbook.load_playbook().settings.lost_after_days
    assert counting.requests[0].window_days == lost == 45
    calls = foreign["call_log"]
    start = pd.Timestamp("2026-11-30") - pd.Timedelta(days=lost)
    assert counting.rows["interactions"] == int(((calls["call_time"] >= start)
                                                 & (calls["call_time"] < pd.Timestamp("2026-11-30"))).sum())
    assert counting.rows["interactions"] < len(calls) / 2
    want = playbook.segment(load_portfolio(files, _file_mapping()), AS_OF, window_days=30)
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(want.reset_index(drop=True), got.reset_index(drop=True), check_dtype=False)
    _no_secret(capsys.readouterr())


@pytest.mark.parametrize("argv,days", [
    (["kpis", "--as-of", AS_OF], 30),
    (["kpis", "--as-of", AS_OF, "--by", "team"], 90),
    (["kpis", "--as-of", AS_OF, "--window-days", "120", "--by", "month"], 120),
    (["whatif", "--as-of", AS_OF, "--draws", "50", "--horizon", "30"], 90),
    (["whatif", "--draws", "50", "--horizon", "30"], None),
    (["compliance", "--pack", "cn"], None),
    (["validate", "--as-of", AS_OF], None),
])
def test_every_command_reads_through_the_mapping(pg, argv, days, capsys):
    counting = _Counting()
    url = pg.url()
    full = [argv[0], url, *argv[1:], "--mapping", str(MAPPING)]
    with readers.registered("postgresql", counting):
        code = main(full)
    out = capsys.readouterr()
    assert code in (0, 1), out.err  # compliance exits 1 when it finds violations
    req = counting.requests[0]
    assert req.window_days == days
    assert req.queries["interactions"].startswith("SELECT * FROM call_log")
    _no_secret(out.out, out.err)
    if argv[0] == "validate":
        assert "rows read" in out.out and "env:" not in out.out and "***" in out.out


def test_env_source_is_read_by_the_reader_of_its_scheme(pg, monkeypatch):
    monkeypatch.setenv("PLAYBOOK_DB_URL", pg.url())
    counting = _Counting()
    with readers.registered("postgresql", counting):
        assert readers.get_reader("env:PLAYBOOK_DB_URL") is counting
        pf = load_portfolio("env:PLAYBOOK_DB_URL", MAPPING)
    assert counting.rows["accounts"] == len(pf.accounts) == 300
    assert pf.report.source == "env:PLAYBOOK_DB_URL"
    monkeypatch.delenv("PLAYBOOK_DB_URL")
    with pytest.raises(SourceError, match="PLAYBOOK_DB_URL is not set"):
        load_portfolio("env:PLAYBOOK_DB_URL", MAPPING)


def test_env_source_and_briefings_keep_the_password_out(pg, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("PLAYBOOK_DB_URL", pg.url())
    caplog.set_level(logging.DEBUG)
    code = main(["briefings", "env:PLAYBOOK_DB_URL", "--mapping", str(MAPPING), "--as-of", AS_OF, "--teams", "early",
                 "--jobs", "1", "--out", str(tmp_path / "reports"), "--lang", "en"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    manifest = json.loads((tmp_path / "reports" / AS_OF / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"] == "env:PLAYBOOK_DB_URL"
    assert manifest["teams"][0]["parameters"]["data_path"] == "env:PLAYBOOK_DB_URL"
    for f in (tmp_path / "reports").rglob("*"):
        if f.is_file() and f.suffix in (".json", ".html", ".ipynb", ".txt"):
            _no_secret(f.read_text(encoding="utf-8", errors="replace"))
    _no_secret(out.out, out.err, caplog.text)


def test_the_url_with_its_password_is_redacted_in_the_manifest(pg, tmp_path, capsys):
    code = main(["briefings", pg.url(), "--mapping", str(MAPPING), "--as-of", AS_OF, "--teams", "care",
                 "--jobs", "1", "--out", str(tmp_path / "reports"), "--lang", "zh"])
    out = capsys.readouterr()
    assert code == 0, out.err
    text = (tmp_path / "reports" / AS_OF / "manifest.json").read_text(encoding="utf-8")
    assert f"postgresql://{servers.USER}:***@127.0.0.1:{pg.port}/{servers.DATABASE}" in text
    for f in (tmp_path / "reports").rglob("*"):
        if f.is_file() and f.suffix in (".json", ".html", ".ipynb", ".txt"):
            _no_secret(f.read_text(encoding="utf-8", errors="replace"))
    _no_secret(out.out, out.err)


# ------------------------------------------------------------------------ failures: exit 2, no password


def _mapping_with(tmp_path: Path, **queries: str) -> Path:
    raw = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    raw["sql"].update(queries)
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def _fails(argv: list[str], capsys, *expected: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    for e in expected:
        assert e in err, err
    _no_secret(err)
    return err


@pytest.mark.parametrize("driver", ["adbc", "connectorx", "sqlalchemy"])
def test_postgres_failures_exit_2_without_the_password(pg, tmp_path, capsys, driver, caplog):
    _need({"adbc": "adbc_driver_postgresql", "connectorx": "connectorx", "sqlalchemy": "sqlalchemy"}[driver])
    caplog.set_level(logging.DEBUG)
    url = pg.url()
    with readers.registered("postgresql", readers.SQLReader(driver=driver)):
        bad = _mapping_with(tmp_path, payments="SELEC loan_no FROM repayments")
        _fails(["validate", url, "--mapping", str(bad)], capsys, "cannot read payments", "syntax error")
        gone = _mapping_with(tmp_path, history="SELECT * FROM monthly_status_archive")
        _fails(["validate", url, "--mapping", str(gone)], capsys, "cannot read history", "monthly_status_archive")
        param = _mapping_with(tmp_path, history="SELECT * FROM monthly_status WHERE stat_month >= :month_start")
        _fails(["validate", url, "--mapping", str(param)], capsys, "unknown parameter :month_start",
               ":as_of, :as_of_end, :window_start")
        lost = _mapping_with(tmp_path, history="SELECT * FROM monthly_status WHERE pg_terminate_backend(pg_backend_pid())")
        _fails(["validate", url, "--mapping", str(lost)], capsys, "cannot read history")
        wrong = pg.url(password="Wr0ng-S3cret-pw")
        err = _fails(["segment", wrong, "--mapping", str(MAPPING), "--as-of", AS_OF, "--out", str(tmp_path / "s.csv")],
                     capsys, "password authentication failed", f"{servers.USER}:***@127.0.0.1")
        assert "Wr0ng" not in err
        down = pg.url().replace(f":{pg.port}/", f":{servers._free_port()}/")  # nothing listens there
        _fails(["kpis", down, "--mapping", str(MAPPING), "--as-of", AS_OF], capsys, "cannot")
    _no_secret(caplog.text)


def test_a_named_table_that_is_missing_is_an_error(pg, tmp_path, capsys):
    raw = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    del raw["sql"]["history"]
    raw["files"] = {"history": "monthly_status_2019"}
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(raw), encoding="utf-8")
    _fails(["validate", pg.url(), "--mapping", str(p)], capsys, "monthly_status_2019", "no such table")


@pytest.mark.parametrize("driver", ["connectorx", "sqlalchemy"])
def test_mariadb_failures_exit_2_without_the_password(maria, tmp_path, capsys, driver):
    _need({"connectorx": "connectorx", "sqlalchemy": "sqlalchemy"}[driver])
    url = maria.url("mysql")
    with readers.registered("mysql", readers.SQLReader(driver=driver)):
        bad = _mapping_with(tmp_path, payments="SELEC loan_no FROM repayments")
        _fails(["validate", url, "--mapping", str(bad)], capsys, "cannot read payments", "SQL syntax")
        gone = _mapping_with(tmp_path, history="SELECT * FROM monthly_status_archive")
        _fails(["validate", url, "--mapping", str(gone)], capsys, "cannot read history", "monthly_status_archive")
        _fails(["validate", maria.url("mysql", password="Wr0ng-S3cret-pw"), "--mapping", str(MAPPING)], capsys,
               "Access denied")


def test_lost_mariadb_connection_exits_2(maria, tmp_path, capsys):
    """The server ends the session while the query runs (max_statement_time)."""
    slow = _mapping_with(tmp_path, history="SET STATEMENT max_statement_time=0.001 FOR "
                                           "SELECT a.* FROM monthly_status a, monthly_status b, monthly_status c")
    with readers.registered("mysql", readers.SQLReader(driver="sqlalchemy")):
        _fails(["validate", maria.url("mysql"), "--mapping", str(slow)], capsys, "cannot read history")


def test_rejected_database_rows_are_reported_with_table_and_row(pg, tmp_path, capsys):
    import sqlalchemy as sa

    engine = sa.create_engine(pg.url("postgresql+psycopg"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE repayments_bad AS SELECT * FROM repayments")
        conn.exec_driver_sql("UPDATE repayments_bad SET amt = -5 WHERE loan_no = "
                             "(SELECT min(loan_no) FROM repayments_bad)")
        n_bad = conn.exec_driver_sql("SELECT count(*) FROM repayments_bad WHERE amt < 0").scalar()
        n_all = conn.exec_driver_sql("SELECT count(*) FROM repayments_bad").scalar()
    engine.dispose()
    p = _mapping_with(tmp_path, payments="SELECT * FROM repayments_bad ORDER BY loan_no, paid_time")
    code = main(["validate", pg.url(), "--mapping", str(p), "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 2
    pay = [c for c in body["counts"] if c["table"] == "payments"][0]
    assert (pay["read"], pay["rejected"]) == (n_all, n_bad) and pay["read"] == pay["accepted"] + pay["rejected"]
    probs = [p for p in body["problems"] if p["table"] == "payments"]
    assert len(probs) == n_bad and all(p["file"] == "payments (sql query)" and p["row"] <= n_bad for p in probs)
    _no_secret(json.dumps(body))
