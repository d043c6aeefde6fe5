"""Benchmark cases: the Dask engine on account-partitioned data (issue 17).

``dask_overhead`` runs in ``make bench``. ``dask_scale_10m`` generates and segments 10
million accounts (about 20 minutes on 2 cores) and runs only with
``PLAYBOOK_BENCH_10M=1``; without it, it says so and measures nothing.
"""

from __future__ import annotations

import os
import shutil
import time

from bench.cases import AS_OF, CACHE, _cached_demo, _read, case  # noqa: F401

WORKERS = 2


def _worker_reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _worker_hwm_mib() -> float:
    """Peak resident memory of the calling process since its start or the last reset (run on
    each worker with ``client.run``; ``ru_maxrss`` would include the parent's peak at fork)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _cluster():  # noqa: ANN202
    from playbook.distributed import connect

    return connect(workers=WORKERS, memory_limit="4GiB")


@case
def dask_overhead() -> dict:
    """Dask engine overhead: segment 1,000,000 accounts, LocalCluster of 2 workers vs pandas (target ratio <= 1.5)."""
    import playbook
    from playbook.distributed import write_segments
    from playbook.partitioned import is_partitioned, open_dataset, write_partitioned

    src = _cached_demo(1_000_000)
    parts = CACHE / f"{src.name}_partitioned_8"
    if not is_partitioned(parts):
        write_partitioned(_read(src), parts, partitions=8)  # generated data: read as written, not re-validated
    ds = open_dataset(parts)
    out = CACHE / "bench_segments_dask"
    shutil.rmtree(out, ignore_errors=True)

    t0 = time.perf_counter()  # pandas: read the Parquet tables, segment, write one Parquet file
    seg = playbook.segment(_read(src), AS_OF)
    seg.to_parquet(CACHE / "bench_segments_pandas.parquet", index=False)
    pandas_s = time.perf_counter() - t0
    n = len(seg)
    del seg

    t0 = time.perf_counter()
    with _cluster() as client:
        start_s = time.perf_counter() - t0
        t1 = time.perf_counter()  # dask: the workers read their partitions, segment, write one file each
        done = write_segments(ds, AS_OF, out, client=client)
        dask_s = time.perf_counter() - t1
        peaks = client.run(_worker_hwm_mib)
    shutil.rmtree(out, ignore_errors=True)
    (CACHE / "bench_segments_pandas.parquet").unlink(missing_ok=True)
    return {"accounts": n, "partitions": ds.partitions, "workers": WORKERS, "pandas_seconds": round(pandas_s, 2),
            "dask_seconds": round(dask_s, 2), "cluster_start_seconds": round(start_s, 2),
            "ratio_dask_to_pandas": round(dask_s / pandas_s, 2),
            "ratio_with_cluster_start": round((dask_s + start_s) / pandas_s, 2),
            "peak_mib_per_worker": sorted(peaks.values()), "same_accounts": done.accounts == n,
            "meets_target": dask_s / pandas_s <= 1.5}


@case
def dask_scale_10m() -> dict:
    """10,000,000 accounts: partitioned generation and segmentation on 2 workers (<= 4 GiB each), DuckDB reference; needs PLAYBOOK_BENCH_10M=1."""
    n = int(os.environ.get("PLAYBOOK_BENCH_ACCOUNTS", "10000000"))
    if os.environ.get("PLAYBOOK_BENCH_10M") != "1":
        print("skipped: set PLAYBOOK_BENCH_10M=1 to run (about 20 minutes on 2 cores, 8 GiB of memory, "
              "about 6 GB of disk under bench/.cache)")
        return {"skipped": True}
    from playbook.distributed import demo_data, write_segments

    data = CACHE / f"demo_{n}_partitioned"
    out = CACHE / f"segments_{n}"
    shutil.rmtree(out, ignore_errors=True)
    partitions = max(1, n // 250_000)
    res = {"accounts": n, "partitions": partitions, "workers": WORKERS}
    with _cluster() as client:
        t0 = time.perf_counter()
        ds = demo_data(data, n_accounts=n, seed=1, as_of=AS_OF, partitions=partitions, client=client)
        res["generate_seconds"] = round(time.perf_counter() - t0, 1)
        res["generate_peak_mib_per_worker"] = sorted(client.run(_worker_hwm_mib).values())
        res["rows"] = ds.rows
        client.run(_worker_reset_peak)
        t0 = time.perf_counter()
        done = write_segments(ds, AS_OF, out, client=client)
        secs = time.perf_counter() - t0
        res["segment_seconds"] = round(secs, 1)
        res["segment_peak_mib_per_worker"] = sorted(client.run(_worker_hwm_mib).values())
        res["segment_accounts_per_second_per_core"] = round(done.accounts / secs / WORKERS)
    peak = max(res["generate_peak_mib_per_worker"] + res["segment_peak_mib_per_worker"])
    res["within_4_gib_per_worker"] = peak <= 4096
    res.update(_duckdb_features(ds))
    res["ratio_segment_to_duckdb_features"] = round(secs / res["duckdb_features_seconds"], 2)
    shutil.rmtree(out, ignore_errors=True)
    return res


def _duckdb_features(ds) -> dict:  # noqa: ANN001 - a PartitionedDataset
    """The features query of bench.reference, out of core on the same Parquet part files (2 threads, 4 GiB)."""
    import resource

    import duckdb
    import pandas as pd

    from bench.reference import features_sql
    from playbook.content import load_playbook

    day = pd.Timestamp(AS_OF)
    cut_s = int((day + pd.Timedelta(days=1)).tz_localize("Asia/Shanghai").tz_convert("UTC").timestamp())
    month_hi = day.to_period("M").to_timestamp()
    spill = CACHE / "duckdb_spill"
    target = CACHE / "duckdb_features.parquet"
    con = duckdb.connect()
    con.execute(f"SET threads = {WORKERS}; SET memory_limit = '4GB'; SET temp_directory = '{spill}'; "
                "SET preserve_insertion_order = false")
    for t in ("accounts", "interactions", "payments", "history"):
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{ds.path / t}/*.parquet')")
    sql = features_sql(load_playbook(), cut_s, cut_s - 90 * 86400, str(month_hi), str(month_hi - pd.DateOffset(months=12)))
    t0 = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
    secs = time.perf_counter() - t0
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]
    con.close()
    target.unlink(missing_ok=True)
    shutil.rmtree(spill, ignore_errors=True)
    return {"duckdb_features_seconds": round(secs, 1), "duckdb_rows": int(rows),
            "duckdb_accounts_per_second_per_core": round(rows / secs / WORKERS),
            "duckdb_process_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
