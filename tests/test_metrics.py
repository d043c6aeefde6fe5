from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook import metrics as M
from playbook.cli import main
from playbook.schema import BUCKETS

from .helpers import calls, tiny_portfolio

AS_OF = "2026-11-29"


def _hist(rows):
    return pd.DataFrame([{"account_id": a, "month": pd.Timestamp(m), "bucket": b, "balance": bal} for a, m, b, bal in rows])


def test_roll_rates_by_count_and_balance():
    h = _hist([("A", "2026-01-01", "current", 100), ("A", "2026-02-01", "M1", 110), ("A", "2026-03-01", "M2", 120),
               ("B", "2026-01-01", "current", 300), ("B", "2026-02-01", "current", 300),
               ("C", "2026-01-01", "M1", 50), ("C", "2026-02-01", "current", 0),
               ("D", "2026-01-01", "M1", 10), ("D", "2026-03-01", "M3+", 10)])  # gap: no pair
    counts = M.roll_counts(h)
    assert counts.loc["current", "M1"] == 1 and counts.loc["current", "current"] == 1
    assert counts.loc["M1", "M2"] == 1 and counts.loc["M1", "current"] == 1
    assert counts.to_numpy().sum() == 4
    rr = M.roll_rates(h)
    assert rr.loc["current", "M1"] == 0.5 and rr.loc["M1", "M2"] == 0.5
    assert rr.loc["M3+"].isna().all()
    rb = M.roll_rates(h, weight="balance")
    assert rb.loc["current", "M1"] == pytest.approx(100 / 400)
    assert rb.loc["M1", "M2"] == pytest.approx(110 / 160)
    assert list(rr.index) == list(BUCKETS) == list(rr.columns)
    q = M.transition_quirks(h).set_index("quirk")
    assert q.loc["missing months", "count"] == 1


def test_flow_and_cure_rates():
    h = _hist([("A", "2026-01-01", "current", 100), ("A", "2026-02-01", "M1", 100),
               ("B", "2026-01-01", "M1", 200), ("B", "2026-02-01", "current", 0),
               ("C", "2026-01-01", "M1", 50), ("C", "2026-02-01", "M2", 60)])
    fr = M.flow_rates(h)
    assert fr.loc[pd.Timestamp("2026-02-01"), "current>M1"] == pytest.approx(100 / 100)
    assert fr.loc[pd.Timestamp("2026-02-01"), "M1>M2"] == pytest.approx(60 / 250)
    it = tiny_portfolio([{"account_id": "B"}], calls("B", "2026-02-10", ["rpc"])).interactions
    cr = M.cure_rates(h, it)
    row = cr.loc[pd.Timestamp("2026-02-01")]
    assert row["delinquent"] == 2 and row["cured"] == 1 and row["cure_rate"] == 0.5
    assert row["self_cured"] == 0  # B was reached in February
    assert M.cure_rates(h).loc[pd.Timestamp("2026-02-01"), "cure_rate"] == 0.5


_bucket = st.sampled_from(BUCKETS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 11), _bucket, st.floats(0, 1e6)), min_size=1, max_size=200),
       st.sampled_from(["count", "balance"]))
def test_roll_rate_invariants(rows, weight):
    h = _hist([(f"A{a}", f"2026-{m + 1:02d}-01", b, bal) for a, m, b, bal in rows])
    h = h.drop_duplicates(["account_id", "month"])
    counts = M.roll_counts(h, weight="count")
    # conservation: every consecutive pair counted once
    per = h["month"].dt.month
    pairs = sum(int(((g["month"].dt.month.diff()) == 1).sum()) for _, g in h.sort_values("month").groupby("account_id"))
    assert counts.to_numpy().sum() == pairs
    # from-bucket totals equal the number of pairs starting in that bucket
    t = M.transitions(h)
    assert (counts.sum(axis=1).to_numpy() == t["from_bucket"].value_counts().reindex(BUCKETS).to_numpy()).all()
    rr = M.roll_rates(h, weight=weight)
    sums = rr.sum(axis=1, min_count=1).dropna()
    assert np.allclose(sums, 1.0)
    assert ((rr.fillna(0) >= 0) & (rr.fillna(0) <= 1 + 1e-12)).all().all()
    del per


def test_contact_and_ptp_rates():
    pf = tiny_portfolio([{"account_id": "A"}],
                        calls("A", "2026-11-20", ["no_answer", "third_party_contact", "rpc", "ptp"], ptp_amount=50.0,
                              ptp_date="2026-11-21"),
                        [{"account_id": "A", "paid_at": "2026-11-21 10:00:00", "amount": 50.0}])
    cr = M.contact_rates(pf.interactions)
    assert (cr["attempts"], cr["rpc"], cr["contacts"]) == (4, 2, 3)
    pr = M.ptp_rates(pf.interactions, pf.payments, AS_OF)
    # every row carries ptp fields here, but only the ptp outcome is a promise
    assert pr["promises"] == 1 and pr["rpc"] == 2 and pr["ptp_rate"] == 0.5 and pr["ptp_kept_rate"] == 1


def test_kpis_by_group_reconcile_with_the_total(demo):
    total = M.kpis(demo, AS_OF).iloc[0]
    for by in ("team", "stage", "behaviour_type"):
        g = M.kpis(demo, AS_OF, by=by)
        for col in ("accounts", "attempts", "rpc", "promises", "kept", "collected", "cost"):
            assert g[col].sum() == pytest.approx(total[col]), (by, col)
        assert list(g.columns) == M.KPI_COLUMNS
    assert total["rpc_rate"] == pytest.approx(total["rpc"] / total["attempts"])
    assert total["cost_to_collect"] == pytest.approx(total["cost"] / total["collected"])
    by_month = M.kpis(demo, AS_OF, by="month", window_days=90)
    assert by_month["attempts"].sum() == pytest.approx(M.kpis(demo, AS_OF, window_days=90).iloc[0]["attempts"])


def test_kpis_rejects_unknown_grouping(demo):
    from playbook.errors import ArgumentError
    with pytest.raises(ArgumentError, match="`by` must be .*'team'.*got 'colour'"):
        M.kpis(demo, AS_OF, by="colour")


def test_cli_kpis_json(tmp_path, capsys):
    import json
    assert main(["demo-data", "--accounts", "300", "--seed", "2", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["kpis", str(tmp_path), "--as-of", AS_OF, "--by", "team", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert {r["team"] for r in body["kpis"]} <= {"early", "mid", "late_legal", "skip_trace", "care"}
    assert set(body["roll_rates"]) == set(BUCKETS)
    assert all("ptp_kept_rate" in r for r in body["kpis"])


def test_cost_kpis_are_in_the_books_currency():
    """The cost of a call is written in yuan (costs.yaml); a book in New Taiwan dollars counts
    it at settings.yaml's rate, and a book in a currency with no rate gets its cost figures
    n/a while every other KPI stands."""
    import dataclasses

    import numpy as np

    import playbook
    from playbook.metrics import kpis

    pf = playbook.demo_portfolio(400, 5, "2026-11-29")
    cny = kpis(pf, "2026-11-29")
    twd = kpis(dataclasses.replace(pf, currency="TWD"), "2026-11-29")
    xaf = kpis(dataclasses.replace(pf, currency="XAF"), "2026-11-29")
    rate = playbook.load_playbook().settings.rate_of("TWD")
    assert cny["cost"].sum() > 0
    assert np.allclose(twd["cost"], cny["cost"] / rate)
    assert np.allclose(twd["collected"], cny["collected"])
    assert xaf["cost"].isna().all() and np.allclose(xaf["collected"], cny["collected"])
