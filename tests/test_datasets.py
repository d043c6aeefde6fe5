"""The KPI layer on real data: the UCI credit card clients (Taiwan, 2005)."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from playbook import metrics as M
from playbook.datasets import uci_credit_card

from .conftest import SHARED_DATA

UCI = SHARED_DATA / "uci_credit_card" / "UCI_Credit_Card.csv"
pytestmark = pytest.mark.skipif(not UCI.is_file(), reason=f"UCI data not present at {UCI} (see its SOURCE.md)")

ORDER = ["PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0"]


def _bucket(code: str) -> str:
    v = int(float(code))
    return "current" if v <= 0 else {1: "M1", 2: "M2"}.get(v, "M3+")


@pytest.fixture(scope="module")
def independent_counts():
    """Transition counts straight from the CSV, with the standard library only."""
    counts: dict[tuple[str, str], int] = {}
    with UCI.open(newline="") as fh:
        for row in csv.DictReader(fh):
            path = [_bucket(row[c]) for c in ORDER]
            for a, b in zip(path, path[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts


def test_canonical_history_shape():
    h = uci_credit_card(UCI.parent)
    assert len(h) == 30000 * 6 and h["account_id"].nunique() == 30000
    assert set(h["bucket"]) == {"current", "M1", "M2", "M3+"}
    assert (h.groupby("account_id")["month"].is_monotonic_increasing).all()
    assert h["month"].min().month == 4 and h["month"].max().month == 9


def test_roll_rates_match_an_independent_count(independent_counts):
    counts = M.roll_counts(uci_credit_card(UCI))
    for (a, b), n in independent_counts.items():
        assert counts.loc[a, b] == n, (a, b)
    assert counts.to_numpy().sum() == 30000 * 5
    rr = M.roll_rates(uci_credit_card(UCI))
    for a in rr.index:
        tot = sum(n for (x, _), n in independent_counts.items() if x == a)
        for b in rr.columns:
            assert rr.loc[a, b] == pytest.approx(independent_counts.get((a, b), 0) / tot)


def test_quirks_are_reported_not_smoothed(independent_counts):
    q = M.transition_quirks(uci_credit_card(UCI)).set_index("quirk")
    # the data jumps straight from current to M2 thousands of times; the report says so
    assert q.loc["current>M2", "count"] == independent_counts[("current", "M2")] > 1000
    assert q.loc["M3+>M1", "count"] == independent_counts.get(("M3+", "M1"), 0)


def test_negative_bills_are_kept_visible():
    h = uci_credit_card(UCI)
    assert (h["bill"] < 0).any() and (h["balance"] >= 0).all()
    assert ((h["bill"] < 0) == ((h["balance"] == 0) & (h["bill"] != 0))).all()


def test_uci_runs_every_command_end_to_end(tmp_path, capsys):
    """Real data with no contact log: validate, segment, kpis, compliance, whatif, briefings."""
    import json

    from playbook.cli import main
    from playbook.datasets import uci_portfolio
    from playbook.loading import write_portfolio

    pf = uci_portfolio(UCI)
    assert pf.missing == ("interactions", "payments") and len(pf.accounts) == 30_000
    assert pf.currency == "TWD"  # amounts are New Taiwan dollars, never labelled with costs.yaml's CNY
    delayed = pf.accounts["dpd"] > 0
    assert (pf.accounts.loc[delayed, "overdue_amount"] == pf.accounts.loc[delayed, "balance"]).all()
    d = tmp_path / "uci"
    write_portfolio(pf, d)
    day = "2005-09-30"
    assert main(["validate", str(d)]) == 0
    assert main(["segment", str(d), "--as-of", day, "--out", str(tmp_path / "seg.parquet")]) == 0
    seg = pd.read_parquet(tmp_path / "seg.parquet")
    # the stage mix follows the September repayment status exactly
    raw = uci_credit_card(UCI)
    expected = pd.Series([_bucket(str(v)) for v in raw.loc[raw["month"] == "2005-09-01", "status"]])
    assert seg["stage"].astype(str).value_counts().sort_index().tolist() == expected.value_counts().sort_index().tolist()
    assert set(seg["behaviour_type"].astype(str)) == {"unclassified"}  # no contact log: no type is guessed
    capsys.readouterr()
    assert main(["kpis", str(d), "--as-of", day, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["kpis"][0]
    assert row["attempts"] is None and row["collected"] is None and row["roll_forward_rate"] is not None
    assert main(["compliance", str(d)]) == 0
    assert "no interactions to check" in capsys.readouterr().out
    assert main(["whatif", str(d), "--as-of", day, "--draws", "100"]) == 0
    assert main(["briefings", str(d), "--as-of", day, "--teams", "mid", "--out", str(tmp_path / "r"),
                 "--jobs", "1"]) == 0
