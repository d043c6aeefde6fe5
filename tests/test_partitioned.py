"""Account-partitioned datasets (issue 17): layout, hash, round trip, demo generation, CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.errors import ArgumentError, SourceError
from playbook.loading import write_portfolio
from playbook.partitioned import (DATASET_FILE, is_partitioned, open_dataset, partition_of, read_partition,
                                  read_positions, write_demo_partitioned, write_partitioned)
from playbook.schema import TABLES
from tests.helpers import calls, tiny_portfolio

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-29"


def _whole(ds, table: str) -> pd.DataFrame:
    """Every partition of ``table`` put back in the source's order."""
    frames = [read_partition(ds, i).tables()[table] for i in range(ds.partitions)]
    pos = np.concatenate([read_positions(ds, i, table) for i in range(ds.partitions)])
    return pd.concat(frames, ignore_index=True).iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)


def _tiny() -> playbook.Portfolio:
    ids = [f"X{k}" for k in range(12)]
    its = [row for k, a in enumerate(ids) for row in calls(a, "2026-11-2%d" % (k % 9), ["no_answer", "rpc"][: 1 + k % 2])]
    pays = [{"account_id": a, "paid_at": "2026-11-20 10:00:00", "amount": 10.0 + k} for k, a in enumerate(ids) if k % 3]
    hist = [{"account_id": a, "month": m, "bucket": b, "balance": 900.0}
            for a in ids for m, b in (("2026-10-01", "M1"), ("2026-11-01", "M2"))]
    return tiny_portfolio([{"account_id": a} for a in ids], its, pays, hist)


def test_partition_of_is_the_same_in_every_process_and_in_range():
    ids = pd.Series([f"A{k:07d}" for k in range(1, 2001)])
    here = partition_of(ids, 7)
    assert here.min() >= 0 and here.max() < 7 and len(set(here)) == 7
    code = ("import sys; from playbook.partitioned import partition_of; "
            "print(','.join(map(str, partition_of([f'A{k:07d}' for k in range(1, 2001)], 7))))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.strip()
    assert other == ",".join(map(str, here))


def test_every_account_and_its_rows_sit_in_one_partition(tmp_path):
    pf = _tiny()
    ds = write_partitioned(pf, tmp_path / "ds", partitions=4)
    seen = {}
    for i in range(4):
        part = read_partition(ds, i)
        for t in TABLES:
            for a in part.tables()[t]["account_id"]:
                assert seen.setdefault(a, i) == i, f"{a} of {t} in partitions {seen[a]} and {i}"
    assert sorted(seen) == sorted(pf.accounts["account_id"])


def test_round_trip_gives_the_same_tables_dtypes_and_order(tmp_path, demo):
    ds = write_partitioned(demo, tmp_path / "ds", partitions=3)
    assert ds.rows == {t: len(f) for t, f in demo.tables().items()}
    for t in TABLES:
        pd.testing.assert_frame_equal(_whole(ds, t), demo.tables()[t])
    truth = pd.concat([read_partition(ds, i).truth for i in range(3)])
    assert sorted(truth["account_id"]) == sorted(demo.truth["account_id"])
    assert read_partition(ds, 0).timezone == demo.timezone


def test_missing_tables_are_the_datasets_not_the_partitions(tmp_path):
    pf = _tiny()
    pf = playbook.Portfolio(pf.accounts, pf.interactions.iloc[:0], pf.payments.iloc[:2], pf.history.iloc[:0])
    ds = write_partitioned(pf, tmp_path / "ds", partitions=5)
    assert ds.missing == ("interactions", "history")
    # a partition without payments still has them in the dataset: not missing there
    assert all(read_partition(ds, i).missing == ("interactions", "history") for i in range(5))
    assert any(len(read_partition(ds, i).payments) == 0 for i in range(5))


def test_open_dataset_names_a_missing_or_short_part_file(tmp_path, demo):
    ds = write_partitioned(demo, tmp_path / "ds", partitions=2)
    gone = ds.part_file("payments", 1)
    gone.unlink()
    with pytest.raises(SourceError, match=r"part-00001\.parquet.*part file missing"):
        open_dataset(ds.path)
    with pytest.raises(SourceError, match="not an account-partitioned dataset"):
        open_dataset(tmp_path)
    meta = json.loads((ds.path / DATASET_FILE).read_text())
    meta["rows"]["accounts"] += 1
    (ds.path / DATASET_FILE).write_text(json.dumps(meta))
    demo_ds = write_partitioned(demo, tmp_path / "ds2", partitions=2)
    (demo_ds.path / DATASET_FILE).write_text(json.dumps(meta))
    with pytest.raises(SourceError, match="rows in the part files"):
        open_dataset(demo_ds.path)


def test_writing_never_replaces_a_folder_that_is_not_a_dataset(tmp_path, demo):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(ArgumentError, match="--out"):
        write_partitioned(demo, keep, partitions=2)
    assert (keep / "notes.txt").read_text() == "mine"
    ds = write_partitioned(demo, tmp_path / "ds", partitions=2)
    again = write_partitioned(demo, ds.path, partitions=3)  # a dataset is replaced whole
    assert again.partitions == 3 and not ds.part_file("accounts", 0).with_name("part-00003.parquet").exists()


def test_demo_of_one_chunk_is_the_demo_portfolio_partitioned(tmp_path):
    ds = write_demo_partitioned(tmp_path / "ds", n_accounts=300, seed=4, as_of=AS_OF, partitions=3)
    ref = playbook.demo_portfolio(300, 4, AS_OF)
    for t in TABLES:
        pd.testing.assert_frame_equal(_whole(ds, t), ref.tables()[t])
    assert ds.report.rows_read == sum(len(f) for f in ref.tables().values())


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*.parquet")):
        h.update(f.relative_to(folder).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_demo_in_chunks_is_deterministic_unique_and_reconciles(tmp_path):
    a = write_demo_partitioned(tmp_path / "a", n_accounts=500, seed=9, as_of=AS_OF, partitions=3, chunk_accounts=200)
    b = write_demo_partitioned(tmp_path / "b", n_accounts=500, seed=9, as_of=AS_OF, partitions=3, chunk_accounts=200)
    assert _digest(a.path) == _digest(b.path)
    acc = _whole(a, "accounts")
    assert acc["account_id"].is_unique and len(acc) == 500
    assert list(acc["account_id"][:2]) == ["A0000001", "A0000002"] and acc["account_id"].iloc[-1] == "A0000500"
    assert acc["customer_id"].is_unique
    first = playbook.demo_portfolio(200, 9, AS_OF)  # the first chunk is the seed's own portfolio
    pd.testing.assert_frame_equal(acc.iloc[:200].reset_index(drop=True), first.accounts)
    for t in TABLES:
        assert a.rows[t] == len(_whole(a, t)) == int(a.report.counts.set_index("table").loc[t, "accepted"])
        assert set(_whole(a, t)["account_id"]) <= set(acc["account_id"])
    assert not (a.path / ".chunks").exists()


def test_partition_command_reports_like_validate_and_reconciles(tmp_path, capsys, demo):
    src = tmp_path / "src"
    write_portfolio(demo, src)
    assert main(["partition", str(src), "--out", str(tmp_path / "ds"), "--partitions", "3"]) == 0
    out = capsys.readouterr().out
    assert f"rows read {demo.report.rows_read} = accepted {demo.report.rows_read} + rejected 0" in out
    assert "3 partitions by hash of account_id" in out
    ds = open_dataset(tmp_path / "ds")
    assert ds.rows == {t: len(f) for t, f in demo.tables().items()}
    assert ds.report.rows_accepted == demo.report.rows_read


def test_partition_command_writes_nothing_when_rows_are_rejected(tmp_path, capsys):
    mapping = ROOT / "data" / "mappings" / "lending_club.yaml"
    tape = ROOT / "tests" / "fixtures" / "lending_club"
    pf = playbook.load_portfolio(tape, mapping, on_error="keep_valid")
    out = tmp_path / "ds"
    code = main(["partition", str(tape), "--mapping", str(mapping), "--out", str(out), "--partitions", "2"])
    text = capsys.readouterr().out
    if pf.report.ok:  # the fixture loads clean: it is written and reconciles
        assert code == 0 and open_dataset(out).rows["accounts"] == len(pf.accounts)
        return
    assert code == 2 and not out.exists() and "nothing written" in text
    assert main(["partition", str(tape), "--mapping", str(mapping), "--out", str(out), "--partitions", "2",
                 "--keep-valid"]) == 2
    ds = open_dataset(out)
    assert ds.rows == {t: len(f) for t, f in pf.tables().items()}
    assert ds.report.rows_rejected == pf.report.rows_rejected


def test_real_shaped_export_partitions_and_reads_back(tmp_path):
    mapping = ROOT / "data" / "mappings" / "lending_club.yaml"
    pf = playbook.load_portfolio(ROOT / "tests" / "fixtures" / "lending_club", mapping, on_error="keep_valid")
    ds = write_partitioned(pf, tmp_path / "ds", partitions=3)
    for t in TABLES:
        pd.testing.assert_frame_equal(_whole(ds, t), pf.tables()[t])
    assert is_partitioned(ds.path) and not is_partitioned(tmp_path)


def test_uci_export_partitions(tmp_path):
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "uci_credit_card" / "UCI_Credit_Card.csv"
    if not path.is_file():
        pytest.skip(f"the UCI data is not at {path} (CI has no ../shared)")
    from playbook.datasets import uci_portfolio

    pf = uci_portfolio(path)
    ds = write_partitioned(pf, tmp_path / "ds", partitions=4)
    assert ds.rows == {t: len(f) for t, f in pf.tables().items()}
    assert ds.missing == pf.missing
    pd.testing.assert_frame_equal(_whole(ds, "history"), pf.history)
