"""Public data sets turned into canonical tables.

Data files are never shipped: pass the path of your own copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SourceError
from .schema import BUCKETS

__all__ = ["uci_credit_card", "UCI_MONTHS"]

# Repayment-status columns in time order, with the month each describes (2005).
UCI_MONTHS = {"PAY_6": "2005-04-01", "PAY_5": "2005-05-01", "PAY_4": "2005-06-01",
              "PAY_3": "2005-07-01", "PAY_2": "2005-08-01", "PAY_0": "2005-09-01"}
_BILL = {"PAY_6": "BILL_AMT6", "PAY_5": "BILL_AMT5", "PAY_4": "BILL_AMT4",
         "PAY_3": "BILL_AMT3", "PAY_2": "BILL_AMT2", "PAY_0": "BILL_AMT1"}
_PAID = {"PAY_6": "PAY_AMT6", "PAY_5": "PAY_AMT5", "PAY_4": "PAY_AMT4",
         "PAY_3": "PAY_AMT3", "PAY_2": "PAY_AMT2", "PAY_0": "PAY_AMT1"}


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
    p = Path(path)
    if p.is_dir():
        p = p / "UCI_Credit_Card.csv"
    if not p.is_file():
        raise SourceError(str(p), "UCI credit card file not found")
    raw = pd.read_csv(p)
    missing = [c for c in ["ID", *UCI_MONTHS, *_BILL.values(), *_PAID.values()] if c not in raw.columns]
    if missing:
        raise SourceError(str(p), f"not the UCI credit card file: missing columns {missing}")
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
