"""DuckDB end to end: read the Parquet tables, compute the features, write them (the load reference).

``python -m bench.duckdb_end_to_end DIR AS_OF OUT`` does what ``playbook segment DIR --as-of AS_OF
--out OUT`` does short of the rules: it reads the four tables from Parquet, runs
:func:`bench.reference.features_sql` and writes one row per account to ``OUT``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(folder: str, as_of: str, out: str, window_days: int = 90) -> None:
    import duckdb

    from bench.reference import features_sql
    from playbook.content import load_playbook

    d = Path(folder)
    day = pd.Timestamp(as_of)
    cut_s = int((day + pd.Timedelta(days=1)).tz_localize("Asia/Shanghai").timestamp())
    month_hi = day.to_period("M").to_timestamp()
    con = duckdb.connect()
    for name in ("accounts", "interactions", "payments", "history"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{d / (name + '.parquet')}')")
    sql = features_sql(load_playbook(), cut_s, cut_s - window_days * 86400, str(month_hi),
                       str(month_hi - pd.DateOffset(months=12)))
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
    con.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
