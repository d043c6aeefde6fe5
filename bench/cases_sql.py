"""Benchmark cases: reading the portfolio straight from PostgreSQL (playbook.sql).

``python -m bench segment_from_postgres`` starts a throwaway PostgreSQL server on loopback
(tests/fixtures/sql/servers.py; needs the Debian package ``postgresql``), loads the cached
1,000,000-account demo (~10M interactions) into it once, and times ``playbook segment``
reading it through each driver path, each in its own process, against DuckDB running the
features query of :mod:`bench.reference` (through its ``postgres`` scanner when that
extension can be installed, else on the same data as Parquet, which the result says).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench.cases import AS_OF, _cached_demo, case
from bench.cases_loading import _run  # wall seconds and peak resident MiB of one child process

TABLES = ("accounts", "interactions", "payments", "history")
MAPPING = """\
sql:
  accounts: SELECT * FROM accounts
  interactions: SELECT * FROM interactions WHERE ts >= :window_start AND ts < :as_of_end
  payments: SELECT * FROM payments WHERE paid_at < :as_of_end
  history: SELECT * FROM history
"""


def _load(url: str, folder: Path) -> dict[str, int]:
    """Copy the Parquet tables into PostgreSQL through ADBC's bulk ingest (COPY), batch by batch."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {}
    with adbc.connect(url) as conn:
        for t in TABLES:
            f = pq.ParquetFile(folder / f"{t}.parquet")
            schema = pa.schema([fld.with_type(pa.string()) if pa.types.is_large_string(fld.type) else fld
                                for fld in f.schema_arrow]).remove_metadata()
            batches = (b.cast(schema) for b in f.iter_batches(batch_size=200_000))
            with conn.cursor() as cur:
                cur.adbc_ingest(t, pa.RecordBatchReader.from_batches(schema, batches), mode="create")
            rows[t] = f.metadata.num_rows
        conn.commit()
        with conn.cursor() as cur:
            cur.execute("CREATE INDEX ON interactions (ts)")
            cur.execute("ANALYZE")
        conn.commit()
    return rows


def _duckdb_child(mode: str, where: str) -> None:
    """Run the reference features query in DuckDB (``mode`` postgres: scanner on ``where`` = URL;
    parquet: on the files in ``where``)."""
    import duckdb
    import pandas as pd

    from bench.reference import features_sql
    from playbook.content import load_playbook

    pb = load_playbook()
    day = pd.Timestamp(AS_OF)
    cut_s = int((day + pd.Timedelta(days=1)).tz_localize("Asia/Shanghai").tz_convert("UTC").timestamp())
    month_hi = day.to_period("M").to_timestamp()
    month_lo = month_hi - pd.DateOffset(months=12)
    con = duckdb.connect()
    if mode == "postgres":
        con.execute("LOAD postgres")
        con.execute(f"ATTACH '{os.environ['PLAYBOOK_DB_URL']}' AS pg (TYPE postgres, READ_ONLY)")
        for t in TABLES:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM pg.public.{t}")
    else:
        for t in TABLES:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{Path(where) / f'{t}.parquet'}')")
    out = con.execute(features_sql(pb, cut_s, cut_s - 90 * 86400, str(month_hi), str(month_lo))).df()
    if len(out) == 0:
        raise SystemExit("no features computed")


def _segment_child(driver: str, mapping: str, out: str) -> None:
    """``playbook segment env:PLAYBOOK_DB_URL`` with the reader forced onto one driver."""
    from playbook import readers, sql
    from playbook.cli import main

    class Checked(readers.SQLReader):
        """Fails the run when the forced driver fell back to another one."""

        def read(self, source, request):  # noqa: ANN001, ANN202
            result = super().read(source, request)
            fell_back = [n for n in result.notes if "failed" in n]
            if fell_back or not any(n.endswith(sql.get_driver(driver).description) for n in result.notes):
                raise SystemExit(f"not read through {driver}: {result.notes}")
            return result

    with readers.registered("postgresql", Checked(driver=driver)):
        code = main(["segment", "env:PLAYBOOK_DB_URL", "--mapping", mapping, "--as-of", AS_OF, "--out", out])
    raise SystemExit(code)


def _postgres_scanner_available() -> str | None:
    """``None`` when DuckDB's postgres extension loads, else why not."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("INSTALL postgres")
        con.execute("LOAD postgres")
        return None
    except duckdb.Error as exc:
        return str(exc).splitlines()[0][:160]
    finally:
        con.close()


@case
def segment_from_postgres() -> dict:
    """`playbook segment` on 1,000,000 accounts / ~10M interactions read from PostgreSQL through ADBC, ConnectorX and SQLAlchemy chunks vs DuckDB running the features query (postgres scanner, else Parquet)."""
    import importlib.util

    from tests.fixtures.sql import servers

    if servers.postgres_binaries() is None:
        return {"skipped": "PostgreSQL server binaries not found (Debian package postgresql; make system-deps)"}
    d = _cached_demo(1_000_000)
    password = "bench-" + os.urandom(6).hex()
    server = servers.start_postgres(password, settings={
        "shared_buffers": "512MB", "max_wal_size": "8GB", "wal_level": "minimal", "max_wal_senders": "0",
        "checkpoint_timeout": "30min", "work_mem": "64MB"})
    result: dict = {"accounts": 1_000_000}
    try:
        url = server.url()
        t0 = time.perf_counter()
        result["rows_loaded"] = _load(url, d)
        result["load_into_postgres_seconds"] = round(time.perf_counter() - t0, 1)
        os.environ["PLAYBOOK_DB_URL"] = url  # the children read it (env:PLAYBOOK_DB_URL); never on a command line
        me = [sys.executable, "-m", "bench.cases_sql"]
        with tempfile.TemporaryDirectory() as tmp:
            mapping = Path(tmp) / "mapping.yaml"
            mapping.write_text(MAPPING, encoding="utf-8")
            paths = {}
            for driver, module in (("adbc", "adbc_driver_postgresql"), ("connectorx", "connectorx"),
                                   ("sqlalchemy", "sqlalchemy")):
                if importlib.util.find_spec(module) is None:
                    paths[driver] = f"not installed ({module})"
                    continue
                secs, peak = _run([*me, "segment", driver, str(mapping), f"{tmp}/seg_{driver}.parquet"])
                paths[driver] = {"seconds": round(secs, 1), "peak_mib": round(peak)}
            secs, peak = _run([str(Path(sys.executable).parent / "playbook"), "segment", str(d), "--as-of", AS_OF,
                               "--out", f"{tmp}/seg_files.parquet"])
            files = {"seconds": round(secs, 1), "peak_mib": round(peak)}
            why_not = _postgres_scanner_available()
            mode = "postgres" if why_not is None else "parquet"
            secs, peak = _run([*me, "duckdb", mode, str(d)])
        result["playbook_segment"] = paths
        result["playbook_segment_from_parquet_files"] = files
        result["duckdb_reference"] = {"reads": "PostgreSQL through its postgres scanner" if mode == "postgres" else
                                      "the same tables as Parquet files", "seconds": round(secs, 1),
                                      "peak_mib": round(peak)}
        if why_not:
            result["note"] = ("DuckDB's postgres extension cannot be installed offline here "
                              f"({why_not}); the reference reads the Parquet files instead")
        result["ratio_to_duckdb"] = {k: round(v["seconds"] / secs, 2) for k, v in paths.items() if isinstance(v, dict)}
        result["ratio_to_duckdb"]["files"] = round(files["seconds"] / secs, 2)
        result["ratio_to_playbook_on_files"] = {k: round(v["seconds"] / files["seconds"], 2)
                                                for k, v in paths.items() if isinstance(v, dict)}
    finally:
        os.environ.pop("PLAYBOOK_DB_URL", None)
        server.stop()
    return result


if __name__ == "__main__":  # the child processes of segment_from_postgres
    if sys.argv[1] == "segment":
        _segment_child(*sys.argv[2:5])
    elif sys.argv[1] == "duckdb":
        _duckdb_child(*sys.argv[2:4])
    else:
        raise SystemExit(f"unknown child {sys.argv[1]!r}")
