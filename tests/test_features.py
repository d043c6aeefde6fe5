from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import playbook

from playbook.features import derive_features, promise_states

from .helpers import calls, tiny_portfolio

AS_OF = "2026-11-29"


def _ptp(account, ts, amount, due):
    return {"account_id": account, "ts": ts, "outcome": "ptp", "ptp_amount": amount, "ptp_date": due}


def test_counts_rates_and_recency():
    pf = tiny_portfolio(
        [{"account_id": "A", "monthly_income": 1000.0, "external_debts": 500.0}, {"account_id": "B"}],
        calls("A", "2026-11-20", ["no_answer", "rpc", "hostile", "hang_up", "refuse"])
        + calls("A", "2026-11-21", ["third_party_contact", "wrong_number"])
        + [{"account_id": "A", "ts": "2026-11-22 10:00:00", "outcome": "delivered", "channel": "sms"},
           {"account_id": "A", "ts": "2026-11-23 10:00:00", "outcome": "callback", "direction": "inbound"},
           {"account_id": "A", "ts": "2026-06-01 10:00:00", "outcome": "dispute"}],  # outside the 90 days
        [{"account_id": "A", "paid_at": "2026-11-25 12:00:00", "amount": 100.0}],
    )
    f = derive_features(pf, AS_OF)
    a = f.loc["A"]
    assert a["attempts"] == 7  # calls only, not SMS, not inbound
    assert a["rpc_count"] == 5  # rpc, hostile, hang_up, refuse + the inbound callback
    assert a["rpc_rate"] == pytest.approx(4 / 7)
    assert a["contact_rate"] == pytest.approx(5 / 7)
    assert (a["hostile_count"], a["refuse_count"], a["hang_up_count"], a["dispute_count"]) == (1, 1, 1, 0)
    assert (a["third_party_count"], a["wrong_number_count"], a["callback_count"]) == (1, 1, 1)
    assert a["hostile_share"] == pytest.approx(1 / 5)
    assert a["amount_paid"] == 100 and a["payment_to_overdue"] == pytest.approx(0.2)
    assert a["days_since_last_payment"] == 4 and a["days_since_last_rpc"] == 6
    assert a["debt_to_income"] == pytest.approx(1.5)
    b = f.loc["B"]
    assert b["attempts"] == 0 and np.isnan(b["rpc_rate"]) and np.isnan(b["days_since_last_rpc"])


def test_window_is_configurable():
    pf = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-01", ["rpc"]) + calls("A", "2026-11-25", ["rpc"]))
    assert derive_features(pf, AS_OF, window_days=10).loc["A", "rpc_count"] == 1
    assert derive_features(pf, AS_OF, window_days=90).loc["A", "rpc_count"] == 2


def test_promise_states_at_the_boundaries():
    pf = tiny_portfolio(
        [{"account_id": x} for x in "KLBPE"],
        [_ptp("K", "2026-11-10 10:00:00", 300.0, "2026-11-15"),   # paid in full late on the due date: kept
         _ptp("L", "2026-11-10 10:00:00", 300.0, "2026-11-15"),   # paid a day late: broken
         _ptp("B", "2026-11-10 10:00:00", 300.0, "2026-11-15"),   # paid less than promised: broken
         _ptp("P", "2026-11-27 10:00:00", 300.0, "2026-12-02"),   # not yet due: pending
         _ptp("E", "2026-11-27 10:00:00", 300.0, "2026-12-02")],  # paid early in full: kept
        [{"account_id": "K", "paid_at": "2026-11-15 23:59:00", "amount": 300.0},
         {"account_id": "L", "paid_at": "2026-11-16 00:01:00", "amount": 300.0},
         {"account_id": "B", "paid_at": "2026-11-12 10:00:00", "amount": 299.0},
         {"account_id": "E", "paid_at": "2026-11-28 10:00:00", "amount": 150.0},
         {"account_id": "E", "paid_at": "2026-11-28 11:00:00", "amount": 150.0}],
    )
    st = promise_states(pf.interactions, pf.payments, AS_OF).set_index("account_id")["state"]
    assert st.to_dict() == {"K": "kept", "L": "broken", "B": "broken", "P": "pending", "E": "kept"}
    f = derive_features(pf, AS_OF)
    assert f.loc["K", "ptp_kept_rate"] == 1 and f.loc["L", "ptp_kept_rate"] == 0
    assert f.loc["P", "promises_pending"] == 1 and np.isnan(f.loc["P", "ptp_kept_rate"])


def test_history_features():
    pf = tiny_portfolio([{"account_id": "A"}], history=[
        {"account_id": "A", "month": m, "bucket": b, "balance": 1.0}
        for m, b in [("2025-10-01", "M3+"), ("2026-09-01", "M1"), ("2026-10-01", "M2"), ("2026-11-01", "current")]])
    f = derive_features(pf, AS_OF)
    assert f.loc["A", "months_delinquent_12m"] == 2  # October 2025 is outside the 12 months
    assert f.loc["A", "worst_bucket_12m"] == 2


def test_every_declared_feature_is_derived_and_caller_data_untouched(demo):
    before = demo.interactions.copy()
    f = derive_features(demo, AS_OF)
    from playbook import load_playbook
    assert list(f.columns) == list(load_playbook().features)
    assert len(f) == len(demo.accounts) and f.index.is_unique
    assert demo.interactions.equals(before)


def test_new_codes_unanswered_and_tone_are_counted():
    pf = tiny_portfolio([{"account_id": "A"}],
                        calls("A", "2026-11-20", ["conditional_ptp", "deflect", "claims_money", "fee_dispute",
                                                  "hang_up_after_id", "plan_agreed", "no_answer", "voicemail", "power_off"]))
    it = pf.interactions.copy()
    it["tone"] = ["angry", "evasive", "calm", "polite", "angry", "polite", None, None, None]
    f = derive_features(playbook.Portfolio(pf.accounts, it, pf.payments, pf.history), AS_OF).loc["A"]
    assert f["rpc_count"] == 6 and f["attempts"] == 9
    for col in ("conditional_ptp_count", "deflect_count", "claims_money_count", "fee_dispute_count",
                "hang_up_after_id_count", "plan_agreed_count"):
        assert f[col] == 1, col
    assert f["deflect_share"] == pytest.approx(1 / 6)
    assert f["unanswered_count"] == 2 and f["unanswered_share"] == pytest.approx(2 / 9)  # power_off is a dead line
    assert (f["angry_tone_count"], f["polite_tone_count"], f["upset_tone_count"], f["evasive_tone_count"]) == (2, 2, 0, 1)
    assert f["angry_share"] == pytest.approx(2 / 6)


def test_note_lexicon_counts_each_matching_note_once_in_zh_and_en():
    pf = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-20", ["rpc", "rpc", "rpc", "rpc"])
                        + calls("A", "2026-06-01", ["rpc"]))  # outside the window
    it = pf.interactions.copy()
    it["notes"] = ["有钱就处理，有钱再还", "Said: I'll pay WHEN I HAVE MONEY", None, "客户说不差这点钱", "有钱就处理"]
    f = derive_features(playbook.Portfolio(pf.accounts, it, pf.payments, pf.history), AS_OF).loc["A"]
    assert f["note_conditional_count"] == 2 and f["note_money_count"] == 1 and f["note_refuse_count"] == 0
    assert derive_features(pf, AS_OF).loc["A", "note_conditional_count"] == 0  # no notes column: nothing matches


def test_promise_lead_days_is_the_mean_wait_from_promise_to_promised_date():
    """Days from the day a promise was made (business time zone) to the date promised,
    averaged over the account's promises in the window; missing without a dated promise."""
    pf = tiny_portfolio([{"account_id": "A"}, {"account_id": "B"}, {"account_id": "C"}],
                        calls("A", "2026-11-20", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-21")
                        + calls("A", "2026-11-22", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-25")
                        + calls("B", "2026-11-01", ["ptp"], ptp_amount=100.0, ptp_date="2026-12-01")
                        + calls("C", "2026-11-20", ["rpc"]))
    f = derive_features(pf, AS_OF)
    assert f.loc["A", "ptp_lead_days"] == pytest.approx((1 + 3) / 2)
    assert f.loc["B", "ptp_lead_days"] == pytest.approx(30)
    assert np.isnan(f.loc["C", "ptp_lead_days"])


def test_account_positions_are_kept_only_for_the_very_id_arrays(demo):
    from playbook.features import account_positions
    from playbook.arrays import codes_of

    pf = playbook.Portfolio(demo.accounts, demo.interactions, demo.payments, demo.history)
    assert pf.known_positions("interactions") is None  # a portfolio built by hand: nothing kept yet
    pos = account_positions(pf, "interactions")
    np.testing.assert_array_equal(pos, codes_of(pf.interactions["account_id"], pf.accounts["account_id"]))
    assert pf.known_positions("interactions") is pos and not pos.flags.writeable
    memo = next(f for f in dataclasses.fields(pf) if f.name == "_positions")
    assert not memo.compare and not memo.repr and not memo.init
    pf.interactions = pf.interactions.iloc[::-1].reset_index(drop=True)  # replaced: other rows
    assert pf.known_positions("interactions") is None
    np.testing.assert_array_equal(account_positions(pf, "interactions"), pos[::-1])
    pf.accounts = pf.accounts.iloc[1:].reset_index(drop=True)  # other accounts: every kept position is stale
    assert all(pf.known_positions(t) is None for t in ("interactions", "payments", "history"))
    held = pf.interactions.assign(account_id=pf.interactions["account_id"].astype(object))
    pf.interactions = held  # ids not held as Arrow text (could change in place): never kept
    account_positions(pf, "interactions")
    assert pf.known_positions("interactions") is None


def test_loading_keeps_the_positions_of_its_orphan_check(demo, tmp_path):
    from playbook.arrays import codes_of
    from playbook.loading import load_portfolio, write_portfolio

    inter = demo.interactions.copy()
    inter.loc[[3, 50], "account_id"] = "NOBODY"  # orphans: rejected, the kept positions skip them
    write_portfolio(playbook.Portfolio(demo.accounts, inter, demo.payments, demo.history), tmp_path)
    pf = load_portfolio(tmp_path, on_error="keep_valid")
    for t in ("interactions", "payments", "history"):
        kept = pf.known_positions(t)
        assert kept is not None
        np.testing.assert_array_equal(kept, codes_of(getattr(pf, t)["account_id"], pf.accounts["account_id"]))


def test_promise_states_from_positions_equal_those_from_ids(demo):
    from playbook.features import account_positions

    pf = playbook.Portfolio(demo.accounts, demo.interactions, demo.payments, demo.history)
    plain = promise_states(pf.interactions, pf.payments, AS_OF)
    pos = (account_positions(pf, "interactions"), account_positions(pf, "payments"))
    pd.testing.assert_frame_equal(promise_states(pf.interactions, pf.payments, AS_OF, positions=pos), plain)
    orphan = (np.where(np.arange(len(pos[0])) == 0, -1, pos[0]), pos[1])  # an id without a position: looked up as text
    pd.testing.assert_frame_equal(promise_states(pf.interactions, pf.payments, AS_OF, positions=orphan), plain)
