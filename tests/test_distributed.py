"""The Dask engine gives the single-machine results (issue 17).

A small demo portfolio is written as 3 partitions and every function of
:mod:`playbook.distributed` is compared with the pandas function on the whole portfolio,
on a LocalCluster of 2 workers. One test starts a scheduler and two workers as separate
processes on loopback, as the README's deployment section does, and runs the CLI
against them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook import distributed as D
from playbook.cli import main
from playbook.compliance import check_compliance, headroom
from playbook.errors import ArgumentError, RunError
from playbook.loading import write_portfolio
from playbook.metrics import kpis, roll_rates, transition_quirks
from playbook.partitioned import write_partitioned
from playbook.prepared import prepare
from playbook.whatif import calibrate, simulate
from tests.helpers import calls, tiny_portfolio

AS_OF = "2026-11-29"
NOW = "2026-11-29 09:00"
MONEY = ["balance", "overdue", "collected", "cost", "recovery_rate", "liquidation_rate", "cost_to_collect",
         "collector_hours", "collected_per_collector_hour"]


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal cell by cell and dtype by dtype; a categorical's category order may differ (an encoding)."""
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        x, y = a[c], b[c]
        if isinstance(x.dtype, pd.CategoricalDtype):
            assert isinstance(y.dtype, pd.CategoricalDtype), c
            x, y = x.astype(object), y.astype(object)
        pd.testing.assert_series_equal(x, y, obj=c)


def same_kpis(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Counts and rates of counts identical; sums of money equal up to the order floats were added in."""
    exact = [c for c in a.columns if c not in MONEY]
    pd.testing.assert_frame_equal(a[exact], b[exact], check_dtype=False)
    pd.testing.assert_frame_equal(a[MONEY], b[MONEY], check_exact=False, rtol=1e-12)


@pytest.fixture(scope="module")
def whole():
    return playbook.demo_portfolio(600, 5, AS_OF)


@pytest.fixture(scope="module")
def ds(whole, tmp_path_factory):
    return write_partitioned(whole, tmp_path_factory.mktemp("dist") / "ds", partitions=3)


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 workers (threads: the process workers are tested on loopback below)."""
    with D.connect(workers=2, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def prep(whole):
    return prepare(whole, AS_OF)


def test_segment_is_the_pandas_segmentation(ds, prep, client):
    same_frame(D.segment(ds, AS_OF, client=client), playbook.segment(prep))


def test_priority_is_ranked_over_every_account_not_per_partition(ds, prep, client):
    got = D.segment(ds, AS_OF, client=client)
    ref = playbook.segment(prep)
    np.testing.assert_array_equal(got["priority"].to_numpy(), ref["priority"].to_numpy())
    # a per-partition rank would differ: each partition's own top account would score 100
    assert (got.groupby(np.arange(len(got)) % 3)["priority"].max() <= 100).all()
    assert (got["priority"] == 100).sum() <= (ref["priority"] == 100).sum()


def test_segment_in_chinese_and_a_shorter_window(ds, whole, client):
    ref = playbook.segment(whole, AS_OF, window_days=30, lang="zh")
    same_frame(D.segment(ds, AS_OF, window_days=30, lang="zh", client=client), ref)


def test_written_segments_are_the_same_rows(ds, prep, client, tmp_path):
    done = D.write_segments(ds, AS_OF, tmp_path / "seg", client=client)
    parts = pd.concat([pd.read_parquet(f) for f in sorted((tmp_path / "seg").glob("part-*.parquet"))])
    got = parts.sort_values("_pos").drop(columns="_pos").reset_index(drop=True)
    ref = playbook.segment(prep)
    assert done.accounts == len(ref)
    for c in ("account_id", "team", "behaviour_type", "priority", "reasons", "recommended_treatment"):
        assert got[c].astype(object).tolist() == ref[c].astype(object).tolist(), c
    for d in ("behaviour_type", "stage"):
        assert done.counts[d].to_dict() == ref[d].value_counts().to_dict()
    assert done.counts["team"].to_dict() == ref.loc[ref["worked"], "team"].value_counts().to_dict()  # queues: worked


@pytest.mark.parametrize("by", [None, "team", "month", "status", "behaviour_type"])
def test_kpis_and_roll_rates_are_the_pandas_figures(ds, prep, client, by):
    seg = playbook.segment(prep) if by in ("team", "behaviour_type") else None
    rep = D.kpi_report(ds, AS_OF, by=by, client=client)
    same_kpis(rep.table, kpis(prep, by=by, segments=seg))
    pd.testing.assert_frame_equal(rep.roll_rates, roll_rates(prep.portfolio.history))
    pd.testing.assert_frame_equal(rep.quirks, transition_quirks(prep.portfolio.history))


def test_kpis_recompute_rates_from_summed_counts_on_a_hand_made_portfolio(tmp_path):
    """Two accounts in different partitions: rates are pooled (3/4), never averaged ((1/1 + 2/3) / 2)."""
    ids = ["P1", "P0"]
    parts = {a: i for a, i in zip(ids, playbook.partitioned.partition_of(ids, 2))}
    assert len(set(parts.values())) == 2  # the two accounts do sit in different partitions
    its = calls("P1", "2026-11-20", ["rpc"]) + calls("P0", "2026-11-21", ["rpc", "no_answer", "rpc"])
    hist = [{"account_id": a, "month": m, "bucket": b, "balance": 100.0}
            for a, seq in (("P1", ["M1", "M2"]), ("P0", ["M1", "current"])) for m, b in zip(["2026-10-01", "2026-11-01"], seq)]
    pf = tiny_portfolio([{"account_id": a} for a in ids], its, [], hist)
    ds = write_partitioned(pf, tmp_path / "ds", partitions=2)
    got = D.kpis(ds, AS_OF, engine="pandas").loc["all"]
    assert got["attempts"] == 4 and got["rpc"] == 3 and got["rpc_rate"] == 0.75
    assert got["roll_forward_rate"] == 0.5 and got["cure_rate"] == 0.5
    assert got["collectors"] == 1  # the same agent in both partitions is one collector
    assert np.isnan(got["collected"])  # no payments anywhere: n/a, not 0
    same_kpis(D.kpis(ds, AS_OF, engine="pandas"), kpis(pf, AS_OF))


def test_compliance_violations_rows_and_summary_are_the_pandas_check(ds, prep, client):
    for pack in ("cn", "us", "uk"):
        ref = check_compliance(prep, pack)
        got = D.check_compliance_partitioned(ds, pack, client=client)
        pd.testing.assert_frame_equal(got.violations, ref.violations)
        pd.testing.assert_frame_equal(got.summary, ref.summary)
        assert got.checked == ref.checked and got.not_checkable == ref.not_checkable
    assert len(ref.violations) or len(check_compliance(prep, "cn").violations)  # the demo plants violations


def test_headroom_is_the_pandas_headroom(ds, prep, client):
    pd.testing.assert_frame_equal(D.headroom(ds, NOW, "cn", client=client), headroom(prep, NOW, "cn"))


def test_calibration_and_simulation_equal_the_single_machine_run(ds, prep, client):
    ref = calibrate(prep)
    got = D.calibrate(ds, AS_OF, client=client)
    pd.testing.assert_frame_equal(got.cells, ref.cells, check_exact=False, rtol=1e-12)
    seg = playbook.segment(prep)
    a = simulate(prep, ["champion", "payday_calling"], 30, 200, 3, segments=seg, model=ref)
    b = simulate(prep, ["champion", "payday_calling"], 30, 200, 3, segments=seg, model=got)
    pd.testing.assert_frame_equal(a.totals, b.totals, check_exact=False, rtol=1e-9)


def test_missing_tables_give_the_same_n_a_figures(tmp_path, whole, client):
    pf = playbook.Portfolio(whole.accounts, whole.interactions.iloc[:0], whole.payments, whole.history.iloc[:0],
                            timezone=whole.timezone)
    ds = write_partitioned(pf, tmp_path / "ds", partitions=2)
    same_kpis(D.kpis(ds, AS_OF, client=client), kpis(pf, AS_OF))
    same_frame(D.segment(ds, AS_OF, client=client), playbook.segment(pf, AS_OF))
    assert D.check_compliance_partitioned(ds, "cn", client=client).checked == 0


def test_the_pandas_engine_runs_the_partitions_here(ds, prep):
    same_frame(D.segment(ds, AS_OF, engine="pandas"), playbook.segment(prep))


def test_bad_engine_and_unreachable_scheduler_are_clear_errors(ds):
    with pytest.raises(ArgumentError, match="engine"):
        D.segment(ds, AS_OF, engine="spark")
    with pytest.raises(RunError, match="cannot reach the scheduler at tcp://127.0.0.1:9"):
        with D.connect("tcp://127.0.0.1:9", timeout="2s"):
            pass


def test_cli_dask_on_data_that_is_not_partitioned_is_bad_input(whole, tmp_path, capsys):
    src = tmp_path / "src"
    write_portfolio(whole, src)
    assert main(["segment", str(src), "--as-of", AS_OF, "--out", str(tmp_path / "s.parquet"), "--engine", "dask"]) == 2
    assert "playbook partition" in capsys.readouterr().err


# ---------------------------------------------------------------- a separately started cluster on loopback

def _dask(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    """``dask scheduler`` and ``dask worker`` started as separate processes, as in the README."""
    folder = tmp_path_factory.mktemp("loopback")
    sched_file = folder / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen(_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                                    "--scheduler-file", str(sched_file)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=folder)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        procs.append(subprocess.Popen(_dask("worker", "--scheduler-file", str(sched_file), "--nworkers", "2",
                                            "--nthreads", "1", "--memory-limit", "2GiB", "--no-dashboard",
                                            "--local-directory", str(folder)),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=folder))
        import json

        address = json.loads(sched_file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_partition_then_segment_with_dask_on_a_loopback_scheduler(whole, loopback, tmp_path, capsys, monkeypatch):
    src = tmp_path / "src"
    write_portfolio(whole, src)
    assert main(["partition", str(src), "--out", str(tmp_path / "ds"), "--partitions", "3"]) == 0
    capsys.readouterr()
    assert main(["segment", str(src), "--as-of", AS_OF, "--out", str(tmp_path / "pandas.parquet")]) == 0
    pandas_text = capsys.readouterr().out.replace("pandas.parquet", "OUT")
    assert main(["segment", str(tmp_path / "ds"), "--as-of", AS_OF, "--out", str(tmp_path / "dask.parquet"),
                 "--engine", "dask", "--scheduler", loopback]) == 0
    assert capsys.readouterr().out.replace("dask.parquet", "OUT") == pandas_text
    same_frame(pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "pandas.parquet"))
    # the same through the environment variable, and KPIs as the CLI prints them
    monkeypatch.setenv(D.SCHEDULER_ENV, loopback)
    assert main(["kpis", str(src), "--as-of", AS_OF, "--by", "team"]) == 0
    pandas_kpis = capsys.readouterr().out
    assert main(["kpis", str(tmp_path / "ds"), "--as-of", AS_OF, "--by", "team", "--engine", "dask"]) == 0
    assert capsys.readouterr().out == pandas_kpis
    assert main(["compliance", str(src), "--pack", "cn"]) == main(["compliance", str(tmp_path / "ds"), "--pack", "cn",
                                                                   "--engine", "dask"])
    out = capsys.readouterr().out
    half = len(out) // 2
    assert out[:half] == out[half:]


def test_demo_data_partitioned_on_the_cluster_equals_the_local_run(loopback, tmp_path, capsys):
    args = ["demo-data", "--accounts", "700", "--seed", "3", "--partitions", "3", "--chunk-accounts", "300"]
    assert main([*args, "--out", str(tmp_path / "a"), "--engine", "dask", "--scheduler", loopback]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert "rows read" in capsys.readouterr().out
    for f in sorted((tmp_path / "b").rglob("*.parquet")):
        assert f.read_bytes() == (tmp_path / "a" / f.relative_to(tmp_path / "b")).read_bytes(), f
    shutil.rmtree(tmp_path / "a")


def test_briefing_preparation_writes_the_single_machine_files(ds, whole, client, tmp_path):
    import json

    from playbook.briefing import prepare as prepare_briefing

    a = prepare_briefing(whole, AS_OF, tmp_path / "pandas", top_n=5)
    b = D.prepare_briefings(ds, AS_OF, tmp_path / "dask", top_n=5, client=client)
    files = sorted(f.relative_to(a) for f in a.rglob("*.parquet"))
    assert files == sorted(f.relative_to(b) for f in b.rglob("*.parquet")) and len(files) > 10
    for f in files:
        x, y = pd.read_parquet(a / f), pd.read_parquet(b / f)
        if f.name == "kpis.parquet":
            same_kpis(x.set_index("team").drop(columns=["book_accounts"]), y.set_index("team").drop(columns=["book_accounts"]))
            assert x["book_accounts"].tolist() == y["book_accounts"].tolist()
        else:
            same_frame(x, y)
    pa, pb = (json.loads((d / "provenance.json").read_text()) for d in (a, b))
    assert {k: v for k, v in pa.items() if k != "data_path"} == {k: pb[k] for k in pa if k != "data_path"}
    reasons = pd.read_parquet(b / "teams" / "early" / "segments.parquet")["reason_en"]
    assert 0 < reasons.notna().sum() <= 5  # reasons in words for the team's top accounts only


@pytest.mark.parametrize("export", ["lending_club", "uci"])
def test_real_shaped_exports_give_the_pandas_segments_and_kpis(export, client, tmp_path):
    from tests.conftest import ROOT, SHARED_DATA

    if export == "lending_club":
        pf = playbook.load_portfolio(ROOT / "tests" / "fixtures" / "lending_club",
                                     ROOT / "data" / "mappings" / "lending_club.yaml", on_error="keep_valid")
        as_of = pf.history["month"].max() + pd.offsets.MonthEnd(0)
    else:
        path = SHARED_DATA / "uci_credit_card" / "UCI_Credit_Card.csv"
        if not path.is_file():
            pytest.skip(f"the UCI data is not at {path} (CI has no ../shared)")
        from playbook.datasets import uci_portfolio

        pf, as_of = uci_portfolio(path), "2005-09-30"
    ds = write_partitioned(pf, tmp_path / "ds", partitions=3)
    same_frame(D.segment(ds, as_of, client=client), playbook.segment(pf, as_of))
    same_kpis(D.kpis(ds, as_of, by="stage", client=client), kpis(pf, as_of, by="stage"))
