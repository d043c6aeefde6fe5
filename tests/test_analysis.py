"""Each analysis recomputed independently, by hand, on a small hand-made portfolio."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from playbook import analysis as A
from tests.helpers import tiny_portfolio

AS_OF = "2026-11-29"


def _accounts():
    return [{"account_id": "a", "dpd": 0, "balance": 500.0},
            {"account_id": "b", "dpd": 20, "balance": 800.0},
            {"account_id": "c", "dpd": 45, "balance": 3000.0},
            {"account_id": "d", "dpd": 90, "balance": 5000.0},
            {"account_id": "e", "dpd": 25, "balance": 2500.0}]


def test_bucket_of_dpd_and_bands():
    assert list(A.bucket_of_dpd([0, 1, 30, 31, 60, 61, 400])) == ["current", "M1", "M1", "M2", "M2", "M3+", "M3+"]
    band, edges = A.amount_bands([5, 10, 11, 30], [10, 20])
    assert edges == [10.0, 20.0]
    assert list(band.astype(str)) == ["<= 10", "<= 10", "10-20", "> 20"]


def test_repayment_by_band_from_payments():
    pays = [{"account_id": "a", "paid_at": "2026-11-20 10:00:00", "amount": 100.0},
            {"account_id": "b", "paid_at": "2026-11-01 10:00:00", "amount": 200.0},
            {"account_id": "b", "paid_at": "2026-10-01 10:00:00", "amount": 999.0},  # before the 30 days
            {"account_id": "e", "paid_at": "2026-11-29 23:00:00", "amount": 500.0}]  # the last evening counts
    pf = tiny_portfolio(_accounts(), payments=pays)
    res = A.repayment_by_band(pf, as_of=AS_OF, window_days=30, balance_edges=[1000])
    assert res.available and res.notes == ["source: payments"]
    # by hand: outstanding = balance today + collected in the window
    expected = {}
    collected = {"a": 100.0, "b": 200.0, "c": 0.0, "d": 0.0, "e": 500.0}
    bucket = {"a": "current", "b": "M1", "c": "M2", "d": "M3+", "e": "M1"}
    for acc in _accounts():
        i = acc["account_id"]
        out = acc["balance"] + collected[i]
        key = (bucket[i], "<= 1,000" if out <= 1000 else "> 1,000")
        n, p, o, c = expected.get(key, (0, 0, 0.0, 0.0))
        expected[key] = (n + 1, p + (collected[i] > 0), o + out, c + collected[i])
    cells = res.tables["cells"].set_index(["bucket", "band"])
    for key, (n, p, o, c) in expected.items():
        row = cells.loc[key]
        assert row["accounts"] == n and row["payers"] == p
        assert row["outstanding"] == pytest.approx(o) and row["collected"] == pytest.approx(c)
        assert row["repayment_rate"] == pytest.approx(c / o)
        assert row["payer_rate"] == pytest.approx(p / n)
    empty = cells.loc[("current", "> 1,000")]
    assert empty["accounts"] == 0 and math.isnan(empty["repayment_rate"])  # no accounts: n/a, not 0
    m1 = res.tables["by_bucket"].set_index("bucket").loc["M1"]
    assert m1["repayment_rate"] == pytest.approx(700 / (1000 + 3000))
    assert res.period["start"] == "2026-10-31" and res.period["end"] == AS_OF


def test_repayment_falls_back_to_the_history_paid_column_and_says_na_without_it():
    hist = [{"account_id": "a", "month": "2026-10-01", "bucket": "M1", "balance": 1000.0},
            {"account_id": "a", "month": "2026-11-01", "bucket": "current", "balance": 600.0},
            {"account_id": "b", "month": "2026-10-01", "bucket": "M1", "balance": 3000.0},
            {"account_id": "b", "month": "2026-11-01", "bucket": "M2", "balance": 3000.0}]
    pf = tiny_portfolio(_accounts()[:2], history=hist)
    assert not A.repayment_by_band(pf, as_of=AS_OF).available  # no payments, no paid amounts
    pf.history["paid"] = [0.0, 400.0, 0.0, 0.0]
    res = A.repayment_by_band(pf, as_of=AS_OF, balance_edges=[2000])
    assert res.available and res.notes == ["source: history"]
    cells = res.tables["cells"].set_index(["bucket", "band"])
    assert cells.loc[("M1", "<= 2,000"), "repayment_rate"] == pytest.approx(400 / 1000)
    assert cells.loc[("M1", "> 2,000"), "repayment_rate"] == 0
    assert res.period == {"start": "2026-10", "end": "2026-11", "balance_edges": [2000.0],
                          "description": "paid in 2026-11 against the 2026-10 balance (monthly history)"}


def test_delinquency_profile_counts_spells_by_hand():
    months = pd.date_range("2026-01-01", "2026-11-01", freq="MS")
    paths = {"a": "CCCCCCCCCCC", "b": "CMMCCMMMCCC", "c": "CCCCCCCCMMM", "d": "MMMMMMMMMMM"}
    code = {"C": "current", "M": "M1"}
    hist = [{"account_id": k, "month": str(m.date()), "bucket": code[s], "balance": 100.0 * (i + 1)}
            for k, path in paths.items() for i, (m, s) in enumerate(zip(months, path))]
    hist = [h for h in hist if not (h["account_id"] == "d" and h["month"] == "2026-06-01")]  # a gap ends a spell
    pf = tiny_portfolio(_accounts()[:4], history=hist)
    res = A.delinquency_profile(pf, as_of=AS_OF, months=12)
    per = res.tables["accounts"].set_index("account_id")

    def by_hand(path: str, gap: int | None = None) -> tuple[int, int, int]:
        flags = [s == "M" and i != gap for i, s in enumerate(path)]
        spells, longest, run = 0, 0, 0
        for f in flags:
            run = run + 1 if f else 0
            spells += f and run == 1
            longest = max(longest, run)
        return sum(flags), spells, longest

    for k, path in paths.items():
        want = by_hand(path, gap=5 if k == "d" else None)
        assert tuple(per.loc[k, ["months_delinquent", "episodes", "longest_spell"]]) == want
    dist = res.tables["months_delinquent"].set_index("months_delinquent")
    assert dist.loc[0, "accounts"] == 1 and dist.loc[0, "share"] == pytest.approx(1 / 4)
    bm = res.tables["by_month"].set_index("month")
    assert bm.loc["2026-06-01", "accounts"] == 3  # d has no row that month
    assert bm.loc["2026-02-01", "delinquency_rate"] == pytest.approx(2 / 4)
    assert bm.loc["2026-02-01", "delinquent_balance"] == pytest.approx(200 + 200)
    amt = res.tables["amount"]
    assert amt["accounts"].sum() == 3  # b, c, d are overdue today (dpd > 0)


def test_delinquency_without_history_says_what_it_cannot_compute():
    res = A.delinquency_profile(tiny_portfolio(_accounts()), as_of=AS_OF)
    assert not res.available and "needs the monthly history" in res.missing[0]
    assert res.tables["amount"]["accounts"].sum() == 4


def _promise(acc, day, amount, due, channel="call", direction="outbound"):
    return {"account_id": acc, "ts": f"{day} 10:00:00", "outcome": "ptp", "ptp_amount": amount, "ptp_date": due,
            "channel": channel, "direction": direction}


def test_promise_reliability_by_amount_days_type_and_broken_before():
    it = [_promise("a", "2026-10-01", 100, "2026-10-03"),     # kept
          _promise("a", "2026-10-10", 100, "2026-10-12"),     # broken
          _promise("a", "2026-10-20", 100, "2026-10-30"),     # broken, 1 broken before
          _promise("a", "2026-11-05", 100, "2026-11-06"),     # kept, 2 broken before
          _promise("b", "2026-10-01", 5000, "2026-10-02", channel="call", direction="inbound"),  # broken
          _promise("b", "2026-11-01", 5000, "2026-11-08"),    # kept
          _promise("c", "2026-11-28", 50, "2026-12-05"),      # pending: not in the denominator
          _promise("c", "2026-06-01", 50, "2026-06-02")]      # outside the 90 days
    pays = [{"account_id": "a", "paid_at": "2026-10-02 09:00:00", "amount": 100.0},
            {"account_id": "a", "paid_at": "2026-11-06 20:00:00", "amount": 100.0},
            {"account_id": "b", "paid_at": "2026-11-07 09:00:00", "amount": 5000.0}]
    pf = tiny_portfolio(_accounts()[:3], interactions=it, payments=pays)
    res = A.promise_reliability(pf, as_of=AS_OF, window_days=90, amount_edges=[1000], days_edges=[0, 3, 7, 14])
    assert res.available
    ov = res.tables["overall"].iloc[0]
    assert (ov["promises"], ov["kept"], ov["broken"]) == (6, 3, 3)
    amt = res.tables["by_amount"].set_index("amount_band")
    assert amt.loc["<= 1,000", "kept_rate"] == pytest.approx(2 / 4)
    assert amt.loc["> 1,000", "kept_rate"] == pytest.approx(1 / 2)
    days = res.tables["by_days"].set_index("days_band")
    # days to promise: 2, 2, 10, 1, 1, 7
    assert days.loc["1-3", "promises"] == 4 and days.loc["4-7", "promises"] == 1 and days.loc["8-14", "promises"] == 1
    assert days.loc["4-7", "kept_rate"] == 1.0
    typ = res.tables["by_type"].set_index("type")
    assert typ.loc["call inbound", "promises"] == 1 and typ.loc["call inbound", "kept"] == 0
    bb = res.tables["by_broken_before"].set_index("broken_before_band")
    # broken before, by hand: a1 0, a2 0, a3 1 (a2), a4 2 (a2, a3), b1 0, b2 1 (b1)
    assert bb.loc["0", "promises"] == 3 and bb.loc["0", "kept"] == 1
    assert bb.loc["1", "promises"] == 2 and bb.loc["1", "kept"] == 1
    assert bb.loc["2", "promises"] == 1 and bb.loc["2", "kept"] == 1


def test_promise_reliability_needs_interactions_and_payments():
    res = A.promise_reliability(tiny_portfolio(_accounts()), as_of=AS_OF)
    assert not res.available and len(res.missing) == 2
    assert res.tables == {}


def _value_portfolio():
    """Seven accounts; a paid up during November (M1 at the start, current today)."""
    accounts = [{"account_id": "a", "dpd": 0, "balance": 400.0, "overdue_amount": 0.0},
                {"account_id": "b", "dpd": 20, "balance": 800.0},    # M1 -> M1, no payment
                {"account_id": "c", "dpd": 45, "balance": 3000.0},   # M1 -> M2, no payment
                {"account_id": "d", "dpd": 90, "balance": 5000.0},   # M2 -> M3+, paid
                {"account_id": "e", "dpd": 25, "balance": 2500.0},   # M1 -> M1, paid
                {"account_id": "f", "dpd": 0, "balance": 700.0, "overdue_amount": 0.0},  # current, paid
                {"account_id": "g", "dpd": 70, "balance": 1000.0}]   # no history row: M3+ from today's dpd
    start = {"a": "M1", "b": "M1", "c": "M1", "d": "M2", "e": "M1", "f": "current"}
    hist = [{"account_id": k, "month": "2026-10-01", "bucket": v, "balance": 1000.0} for k, v in start.items()]
    pays = [{"account_id": k, "paid_at": "2026-11-20 10:00:00", "amount": amt}
            for k, amt in (("a", 600.0), ("d", 300.0), ("e", 100.0), ("f", 50.0))]
    pf = tiny_portfolio(accounts, payments=pays, history=hist)
    seg = pd.DataFrame({"account_id": list("abcdefg"), "stage": "ignored", "contactability": "reachable"})
    return A.customer_value(pf, as_of=AS_OF, window_days=29, segments=seg, by=("stage",), min_cell=1)


def test_customer_value_propensity_by_the_stage_at_the_start_and_ranks_only_overdue_accounts():
    res = _value_portfolio()
    prop = res.tables["propensity"].set_index("stage")
    # by hand: M1 at the start a (paid up), b, c, e (paid): 2 of 4; a is not counted as current
    assert prop.loc["M1", "accounts"] == 4 and prop.loc["M1", "propensity"] == pytest.approx(2 / 4)
    assert prop.loc["current", "accounts"] == 1 and prop.loc["current", "propensity"] == 1.0  # f only
    assert prop.loc["M2", "propensity"] == 1.0 and prop.loc["M3+", "propensity"] == 0.0    # d; g
    acc = res.tables["accounts"].set_index("account_id")
    assert sorted(acc.index) == ["b", "c", "d", "e", "g"]  # a and f have nothing overdue today
    # today's stage picks the propensity, today's balance is valued
    want = {"b": 0.5 * 800, "c": 1.0 * 3000, "d": 0.0 * 5000, "e": 0.5 * 2500, "g": 0.0 * 1000}
    for k, v in want.items():
        assert acc.loc[k, "value"] == pytest.approx(v)
    assert list(acc.sort_values("rank").index[:2]) == ["c", "e"]
    assert res.tables["deciles"]["value"].sum() == pytest.approx(sum(want.values()))
    assert {k: res.period[k] for k in ("estimated_on", "accounts", "overdue", "valued", "no_estimate")} == \
        {"estimated_on": 7, "accounts": 7, "overdue": 5, "valued": 5, "no_estimate": 0}


def test_customer_value_split_adds_up_to_the_gap_to_the_reference_account():
    res = _value_portfolio()
    p = {"b": 0.5, "c": 1.0, "d": 0.0, "e": 0.5, "g": 0.0}
    b = {"b": 800.0, "c": 3000.0, "d": 5000.0, "e": 2500.0, "g": 1000.0}
    pm, bm = sum(p.values()) / 5, sum(b.values()) / 5
    ref = pm * bm
    assert res.period["reference_value"] == pytest.approx(ref)
    assert res.period["mean_value"] == pytest.approx(sum(p[k] * b[k] for k in p) / 5)
    acc = res.tables["accounts"].set_index("account_id")
    for k in p:
        fp, fb = (p[k] - pm) * (b[k] + bm) / 2, (b[k] - bm) * (p[k] + pm) / 2
        assert acc.loc[k, "from_propensity"] == pytest.approx(fp) and acc.loc[k, "from_balance"] == pytest.approx(fb)
        assert fp + fb == pytest.approx(p[k] * b[k] - ref)  # exact: the gap is to the reference account
    con = res.tables["contribution"].set_index("stage")
    for stage, members in (("M1", "be"), ("M2", "c"), ("M3+", "dg")):
        gap = sum(p[k] * b[k] for k in members) / len(members) - ref
        assert con.loc[stage, "gap"] == pytest.approx(gap)
        assert con.loc[stage, "from_propensity"] + con.loc[stage, "from_balance"] == pytest.approx(gap)


def test_customer_value_small_cells_take_the_first_dimension_and_na_without_collections():
    pays = [{"account_id": "a", "paid_at": "2026-11-20 10:00:00", "amount": 100.0}]
    pf = tiny_portfolio([{**a, "dpd": 20} for a in _accounts()], payments=pays)  # all M1, start and today
    seg = pd.DataFrame({"account_id": list("abcde"), "stage": ["M1"] * 5,
                        "contactability": ["reachable", "lost", "lost", "lost", "lost"]})
    res = A.customer_value(pf, as_of=AS_OF, segments=seg, min_cell=2)
    acc = res.tables["accounts"].set_index("account_id")
    assert acc.loc["a", "propensity"] == pytest.approx(1 / 5)  # cell of 1 < 2: the stage's rate
    assert acc.loc["b", "propensity"] == 0.0                   # cell of 4: its own rate
    assert not A.customer_value(tiny_portfolio(_accounts()), as_of=AS_OF, segments=seg).available


def test_action_effectiveness_cost_yield_rpc_by_attempt_and_hour():
    it = [{"account_id": "a", "ts": "2026-11-01 09:00:00", "outcome": "no_answer", "duration_s": 0.0},
          {"account_id": "a", "ts": "2026-11-01 10:00:00", "outcome": "rpc", "duration_s": 120.0},
          {"account_id": "a", "ts": "2026-11-03 09:30:00", "outcome": "no_answer", "duration_s": 0.0},
          {"account_id": "b", "ts": "2026-11-02 09:00:00", "outcome": "rpc", "duration_s": 60.0},
          {"account_id": "b", "ts": "2026-11-02 10:00:00", "channel": "sms", "outcome": "delivered", "duration_s": 0.0},
          {"account_id": "b", "ts": "2026-11-28 09:00:00", "outcome": "rpc", "duration_s": 60.0},  # too recent
          {"account_id": "c", "ts": "2026-11-05 11:00:00", "outcome": "rpc", "direction": "inbound"}]  # not an action
    pays = [{"account_id": "a", "paid_at": "2026-11-04 12:00:00", "amount": 300.0},   # -> a's 3rd call (11-03)
            {"account_id": "b", "paid_at": "2026-11-06 12:00:00", "amount": 200.0},   # -> b's SMS (latest)
            {"account_id": "b", "paid_at": "2026-11-20 12:00:00", "amount": 999.0},   # > 7 days after: nobody's
            {"account_id": "c", "paid_at": "2026-11-06 12:00:00", "amount": 50.0}]    # no outbound action
    pf = tiny_portfolio(_accounts()[:3], interactions=it, payments=pays)
    res = A.action_effectiveness(pf, as_of=AS_OF, window_days=90, yield_days=7)
    ch = res.tables["by_channel"].set_index("channel")
    # costs.yaml: call 0.8 per action + 0.15 per minute; sms 0.05
    call_cost = 4 * 0.8 + 0.15 * (120 + 60) / 60
    assert ch.loc["call", "actions"] == 4 and ch.loc["call", "cost"] == pytest.approx(call_cost)
    assert ch.loc["call", "rpc"] == 2 and ch.loc["call", "rpc_rate"] == pytest.approx(2 / 4)
    assert ch.loc["call", "collected"] == pytest.approx(300.0)
    assert ch.loc["sms", "collected"] == pytest.approx(200.0) and math.isnan(ch.loc["sms", "rpc_rate"])
    assert ch.loc["call", "cost_per_collected"] == pytest.approx(call_cost / 300)
    assert ch.loc["sms", "yield_per_action"] == pytest.approx(200.0)
    att = res.tables["by_attempt"].set_index("attempt_band")
    assert att.loc["1", "actions"] == 2 and att.loc["1", "rpc_rate"] == pytest.approx(1 / 2)  # a: no answer, b: rpc
    assert att.loc["2", "rpc_rate"] == 1.0 and att.loc["3", "rpc_rate"] == 0.0
    assert att.loc["3", "collected"] == pytest.approx(300.0)
    hour = res.tables["by_hour"].set_index("hour")
    assert hour.loc[9, "actions"] == 3 and hour.loc[10, "rpc"] == 1
    assert res.period["end"] == "2026-11-22"
    # a book in New Taiwan dollars pays the yuan costs at settings.yaml's rate; with no rate: n/a
    import dataclasses

    from playbook.content import load_playbook

    twd = A.action_effectiveness(dataclasses.replace(pf, currency="TWD"), as_of=AS_OF, window_days=90, yield_days=7)
    twd_call = twd.tables["by_channel"].set_index("channel").loc["call"]
    assert twd_call["cost"] == pytest.approx(call_cost / load_playbook().settings.rate_of("TWD"))
    assert twd_call["collected"] == pytest.approx(300.0)
    xaf = A.action_effectiveness(dataclasses.replace(pf, currency="XAF"), as_of=AS_OF, window_days=90, yield_days=7)
    xaf_call = xaf.tables["by_channel"].set_index("channel").loc["call"]
    assert math.isnan(xaf_call["cost"]) and math.isnan(xaf_call["cost_per_collected"])
    assert xaf_call["collected"] == pytest.approx(300.0)


def test_action_effectiveness_without_payments_or_interactions():
    it = [{"account_id": "a", "ts": "2026-11-01 09:00:00", "outcome": "rpc"}]
    res = A.action_effectiveness(tiny_portfolio(_accounts()[:1], interactions=it), as_of=AS_OF)
    assert res.available and any("needs payments" in m for m in res.missing)
    assert res.tables["by_channel"]["collected"].isna().all()
    none = A.action_effectiveness(tiny_portfolio(_accounts()[:1]), as_of=AS_OF)
    assert not none.available and "needs interactions" in none.missing[0]


def test_to_dict_is_json_ready():
    import json

    pays = [{"account_id": "a", "paid_at": "2026-11-20 10:00:00", "amount": 100.0}]
    res = A.repayment_by_band(tiny_portfolio(_accounts(), payments=pays), as_of=AS_OF)
    json.dumps(res.to_dict(), allow_nan=False)


def test_explorer_tabs_run_the_analyses_on_the_filtered_accounts_only():
    from playbook.widgets.explorer import ANALYSIS_TABS, PortfolioExplorer

    pays = [{"account_id": "b", "paid_at": "2026-11-20 10:00:00", "amount": 200.0},
            {"account_id": "c", "paid_at": "2026-11-20 10:00:00", "amount": 300.0}]
    it = [{"account_id": "b", "ts": "2026-11-01 09:00:00", "outcome": "rpc"},
          {"account_id": "c", "ts": "2026-11-01 09:00:00", "outcome": "no_answer"}]
    pf = tiny_portfolio(_accounts(), interactions=it, payments=pays)
    seg = pd.DataFrame({"account_id": list("abcde"), "stage": ["current", "M1", "M2", "M3+", "M1"],
                        "team": "early", "behaviour_type": "unclassified", "contactability": "reachable",
                        "priority": [1.0, 2, 3, 4, 5], "confidence": 0.5})
    app = PortfolioExplorer(pf, seg, lang="en", as_of=AS_OF)
    app.controls["stage"].value = ("M1",)
    sub = app.filtered_portfolio()
    assert sorted(sub.accounts["account_id"]) == ["b", "e"] and list(sub.payments["account_id"]) == ["b"]
    table, notes, period = app.analysis("repayment")
    m1 = table.set_index(app.pb.text("report.bucket", "en")).loc[app.pb.label("stage", "M1", "en")]
    # by hand: b and e are M1; collected 200 of (800 + 200) + 2500
    assert m1[app.pb.text("report.repayment_rate", "en")] == f"{200 / 3500:.1%}"
    assert m1[app.pb.text("report.accounts", "en")] == "2"
    eff, _, _ = app.analysis("effectiveness")
    assert eff[app.pb.text("report.actions", "en")].tolist() == ["1"]  # c's call is filtered out
    _, notes, _ = app.analysis("delinquency")
    assert notes == [app.pb.text("missing.history", "en")]
    for name in ANALYSIS_TABS:  # every tab renders in both languages, escaped
        assert "<script" not in app.analysis_html(name)


def test_repayment_buckets_accounts_where_they_started_the_period():
    # "a" paid up during November: today it is current, but it started the period in M1
    hist = [{"account_id": "a", "month": "2026-10-01", "bucket": "M1", "balance": 1000.0},
            {"account_id": "b", "month": "2026-10-01", "bucket": "M2", "balance": 3000.0}]
    pays = [{"account_id": "a", "paid_at": "2026-11-20 10:00:00", "amount": 100.0}]
    pf = tiny_portfolio(_accounts()[:3], payments=pays, history=hist)
    res = A.repayment_by_band(pf, as_of=AS_OF, window_days=29, balance_edges=[100000])
    by = res.tables["by_bucket"].set_index("bucket")
    assert by.loc["M1", "accounts"] == 1 and by.loc["M1", "collected"] == 100.0  # a, from its October bucket
    # b from its October history (M2), c without history from today's 45 days past due (M2); none current
    assert by.loc["M2", "accounts"] == 2 and by.loc["current", "accounts"] == 0
    assert "2026-10 history month for 2 accounts" in res.period["description"]


def _hours_effectiveness():
    """The log is in China Standard Time: 22:00 in Shanghai is 20:00 in Urumqi (UTC+6)."""
    accounts = [{"account_id": "a", "timezone": "Asia/Urumqi"}, {"account_id": "b"},
                {"account_id": "c", "timezone": None}]
    it = [{"account_id": "a", "ts": "2026-11-02 22:00:00", "outcome": "rpc"},
          {"account_id": "a", "ts": "2026-11-03 10:30:00", "outcome": "no_answer"},
          {"account_id": "b", "ts": "2026-11-02 22:00:00", "outcome": "no_answer"},
          {"account_id": "c", "ts": "2026-11-02 21:00:00", "outcome": "rpc"},
          {"account_id": "c", "ts": "2026-11-02 21:30:00", "channel": "sms", "outcome": "delivered"}]
    return A.action_effectiveness(tiny_portfolio(accounts, interactions=it), as_of=AS_OF)


def test_action_effectiveness_hours_are_the_debtors_local_hours():
    res = _hours_effectiveness()
    hour = res.tables["by_hour"].set_index("hour")
    # by hand: a 20 and 8 (Urumqi), b 22 (Shanghai, its own zone), c 21 (no zone: the business zone)
    assert dict(hour["actions"]) == {8: 1, 20: 1, 21: 1, 22: 1}
    assert hour.loc[20, "rpc_rate"] == 1.0 and hour.loc[22, "rpc_rate"] == 0.0
    p = res.period
    assert (p["hour_fallback_attempts"], p["hour_fallback_accounts"], p["voice_attempts"]) == (1, 1, 4)
    assert p["business_timezone"] == "Asia/Shanghai"
