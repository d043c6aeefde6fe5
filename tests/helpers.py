"""Small hand-made portfolios for exact tests."""

from __future__ import annotations

import pandas as pd

import playbook


def tiny_portfolio(accounts: list[dict], interactions: list[dict] = (), payments: list[dict] = (),
                   history: list[dict] = ()) -> playbook.Portfolio:
    """Build a canonical portfolio from dicts; timestamps are China Standard Time strings."""
    base = {"product": "card", "balance": 1000.0, "overdue_amount": 500.0, "dpd": 20, "timezone": "Asia/Shanghai"}
    acc = pd.DataFrame([{**base, **a} for a in accounts])
    defaults = {"channel": "call", "direction": "outbound", "party": "debtor", "ptp_amount": float("nan"),
                "ptp_date": None, "agent_id": "AG1", "duration_s": 60.0}
    it = pd.DataFrame([{**defaults, **i} for i in interactions],
                      columns=["account_id", "ts", "channel", "direction", "party", "outcome",
                               "ptp_amount", "ptp_date", "agent_id", "duration_s", "contact_ref", "message",
                               "staff_count"])
    it["ts"] = pd.to_datetime(it["ts"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    it["ptp_date"] = pd.to_datetime(it["ptp_date"])
    pay = pd.DataFrame(list(payments), columns=["account_id", "paid_at", "amount"])
    pay["paid_at"] = pd.to_datetime(pay["paid_at"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    hist = pd.DataFrame(list(history), columns=["account_id", "month", "bucket", "balance"])
    hist["month"] = pd.to_datetime(hist["month"])
    for col in ("occupation", "vulnerable", "monthly_income", "age", "external_debts"):
        if col not in acc:
            acc[col] = None if col in ("occupation", "vulnerable") else float("nan")
    return playbook.Portfolio(acc, it, pay, hist)


def calls(account: str, day: str, outcomes: list[str], **extra) -> list[dict]:
    """One outbound call per outcome, an hour apart from 09:00 on ``day``."""
    return [{"account_id": account, "ts": f"{day} {9 + i:02d}:00:00", "outcome": o, **extra}
            for i, o in enumerate(outcomes)]
