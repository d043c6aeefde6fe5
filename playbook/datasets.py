"""Public data sets turned into canonical tables.

Data files are never shipped: pass the path of your own copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SourceError
from .portfolio import LoadReport, Portfolio, errors_frame
from .coercion import empty_column
from .schema import BUCKETS, contract

__all__ = ["uci_credit_card", "uci_portfolio", "UCI_MONTHS"]

# Repayment-status columns in time order, with the month each describes (2005).
UCI_MONTHS = {"PAY_6": "2005-04-01", "PAY_5": "2005-05-01", "PAY_4": "2005-06-01",
              "PAY_3": "2005-07-01", "PAY_2": "2005-08-01", "PAY_0": "2005-09-01"}
_BILL = {"PAY_6": "BILL_AMT6", "PAY_5": "BILL_AMT5", "PAY_4": "BILL_AMT4",
         "PAY_3": "BILL_AMT3", "PAY_2": "BILL_AMT2", "PAY_0": "BILL_AMT1"}
_PAID = {"PAY_6": "PAY_AMT6", "PAY_5": "PAY_AMT5", "PAY_4": "PAY_AMT4",
         "PAY_3": "PAY_AMT3", "PAY_2": "PAY_AMT2", "PAY_0": "PAY_AMT1"}


def _read_uci(path: str | Path) -> tuple[Path, pd.DataFrame]:
    p = Path(path)
    if p.is_dir():
        p = p / "UCI_Credit_Card.csv"
    if not p.is_file():
        raise SourceError(str(p), "UCI credit card file not found")
    raw = pd.read_csv(p)
    missing = [c for c in ["ID", "LIMIT_BAL", "AGE", *UCI_MONTHS, *_BILL.values(), *_PAID.values()] if c not in raw.columns]
    if missing:
        raise SourceError(str(p), f"not the UCI credit card file: missing columns {missing}")
    return p, raw


def uci_portfolio(path: str | Path) -> Portfolio:
    """The UCI credit card clients as a portfolio as of 2005-09-30: accounts and history.

    Parameters
    ----------
    path : str or Path
        ``UCI_Credit_Card.csv`` or the folder holding it.

    Returns
    -------
    Portfolio
        ``accounts`` (one row per card: ``balance`` = the September statement floored at 0,
        ``credit_limit`` = ``LIMIT_BAL``, ``age``, ``dpd`` = 30 x the September delay in
        months (0 when not delayed), ``overdue_amount`` = the whole balance when delayed,
        else 0 — the data has no arrears amount, so this is an upper bound; ``product``
        credit_card; ``timezone`` Asia/Taipei; amounts in New Taiwan dollars, ``currency``
        TWD), and ``history`` from
        :func:`uci_credit_card`. There is no contact log and no dated payment: those tables
        are empty, and every command says what it cannot compute without them.
    """
    p, raw = _read_uci(path)
    delay = raw["PAY_0"].to_numpy(dtype="float64")
    balance = np.maximum(raw["BILL_AMT1"].to_numpy(dtype="float64"), 0)
    dpd = np.where(delay >= 1, 30 * delay, 0).astype("int64")
    accounts = pd.DataFrame({
        "account_id": raw["ID"].astype("int64").astype(str), "balance": balance,
        "overdue_amount": np.where(delay >= 1, balance, 0.0), "dpd": dpd, "product": "credit_card",
        "credit_limit": raw["LIMIT_BAL"].to_numpy(dtype="float64"), "age": raw["AGE"].to_numpy(dtype="float64"),
        "timezone": "Asia/Taipei", "status": "open",
    })
    history = uci_credit_card(p)[["account_id", "month", "bucket", "balance", "paid"]]
    tables = {"accounts": accounts, "history": history,
              "interactions": pd.DataFrame(index=pd.RangeIndex(0)), "payments": pd.DataFrame(index=pd.RangeIndex(0))}
    spec = contract([])
    for t, frame in tables.items():  # every contract column, in contract order, missing ones empty
        tables[t] = pd.DataFrame({c.name: frame[c.name] if c.name in frame else empty_column(c.kind, frame.index)
                                  for c in spec[t]})
    accounts, history, interactions, payments = (tables[t] for t in ("accounts", "history", "interactions", "payments"))
    counts = pd.DataFrame([dict(table=t, file=p.name, read=len(f), accepted=len(f), rejected=0)
                           for t, f in (("accounts", accounts), ("history", history))])
    report = LoadReport(str(p), counts, errors_frame(), ["interactions: not in the UCI data", "payments: not dated in the UCI data"])
    return Portfolio(accounts, interactions, payments, history, report=report, sources={p.name: p.name},
                     timezone="Asia/Taipei", currency="TWD")


def uci_credit_card(path: str | Path) -> pd.DataFrame:
    """The UCI "default of credit card clients" data as canonical monthly history.

    Parameters
    ----------
    path : str or Path
        ``UCI_Credit_Card.csv`` or the folder holding it.

    Returns
    -------
    DataFrame
        ``account_id``, ``month``, ``bucket``, ``status`` (the raw code), ``balance``,
        ``bill`` and ``paid``: six rows per account, months April to September 2005.
        Status <= 0 (no use, paid in full, revolving) is ``current``, 1 ``M1``, 2 ``M2``,
        3 or more ``M3+``. ``bill`` is the statement amount as published, negative when
        the account is in credit; ``balance`` is that amount floored at 0, as the data
        contract requires; nothing else is altered (see
        :func:`playbook.metrics.transition_quirks` for the jumps the data contains).
    """
    p, raw = _read_uci(path)
    n, k = len(raw), len(UCI_MONTHS)
    status = raw[list(UCI_MONTHS)].to_numpy(dtype="float64")
    bill = raw[[_BILL[c] for c in UCI_MONTHS]].to_numpy(dtype="float64")
    paid = raw[[_PAID[c] for c in UCI_MONTHS]].to_numpy(dtype="float64")
    code = np.select([status <= 0, status == 1, status == 2], [0, 1, 2], default=3)
    return pd.DataFrame({
        "account_id": np.repeat(raw["ID"].astype("int64").astype(str).to_numpy(), k),
        "month": np.tile(pd.to_datetime(list(UCI_MONTHS.values())).to_numpy().astype("datetime64[us]"), n),
        "bucket": np.array(BUCKETS)[code].ravel(),
        "status": status.ravel().astype("int64"),
        "balance": np.maximum(bill, 0).ravel(),
        "bill": bill.ravel(),
        "paid": paid.ravel(),
    })
