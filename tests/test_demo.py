from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.errors import ArgumentError
from playbook.schema import bucket_of_dpd


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fmt):
    args = ["demo-data", "--accounts", "300", "--as-of", "2026-11-29", "--format", fmt]
    assert main(args + ["--seed", "5", "--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--seed", "5", "--out", str(tmp_path / "b")]) == 0
    assert main(args + ["--seed", "6", "--out", str(tmp_path / "c")]) == 0
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a[f"accounts.{fmt}"] != c[f"accounts.{fmt}"]
    assert f"truth.{fmt}" in a


def test_demo_output_passes_its_own_contract(tmp_path):
    assert main(["demo-data", "--accounts", "500", "--seed", "2", "--out", str(tmp_path)]) == 0
    assert main(["validate", str(tmp_path)]) == 0


def test_realistic_shapes(demo):
    acc, it = demo.accounts, demo.interactions
    assert acc["account_id"].is_unique
    # skewed balances: mean well above median
    assert acc["balance"].mean() > 1.2 * acc["balance"].median()
    # days past due spread across every bucket
    buckets = pd.Series(bucket_of_dpd(acc["dpd"])).value_counts(normalize=True)
    assert (buckets > 0.05).all() and len(buckets) == 4
    assert acc["occupation"].nunique() >= 3 and acc["age"].between(18, 80).all()
    assert acc["vulnerable"].notna().any()
    assert acc["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert acc["id_number"].str.fullmatch(r"\d{17}[\dX]").all()
    # interactions: 90 days, dispositions from the canonical set, promises kept and broken
    span = (it["ts"].max() - it["ts"].min()).days
    assert 80 <= span <= 90
    assert set(it["outcome"]) <= set(playbook.load_playbook().dispositions)
    ptp = it[it["outcome"] == "ptp"]
    assert ptp["ptp_amount"].gt(0).all() and ptp["ptp_date"].notna().all()
    paid = demo.payments.groupby("account_id")["amount"].sum()
    assert 0 < len(paid) < len(acc)
    # 12 months of history per account, ending with today's bucket
    h = demo.history
    assert (h.groupby("account_id").size() == 12).all()
    last = h[h["month"] == h["month"].max()].set_index("account_id")["bucket"]
    now = pd.Series(np.asarray(bucket_of_dpd(acc["dpd"])).astype(str), index=acc["account_id"])
    assert (last.reindex(now.index) == now).all()
    # contactability mix: some accounts never reached the debtor
    rpc = it[it["party"].eq("debtor") & it["outcome"].isin(playbook.load_playbook().disposition_ids("rpc"))]
    assert rpc["account_id"].nunique() < len(acc)


def test_truth_has_every_seed_type(demo):
    assert set(demo.truth["behaviour_type"]) >= {"hostile", "evasive", "victim", "defiant", "stubborn",
                                                 "sophisticated", "serial_promiser"}
    assert demo.truth["account_id"].equals(demo.accounts["account_id"])


def test_arguments_are_checked():
    with pytest.raises(ArgumentError, match="`n_accounts` must be an integer >= 1; got 0"):
        playbook.demo_portfolio(0, 1, "2026-11-29")
    with pytest.raises(ArgumentError, match="`as_of` must be a date"):
        playbook.demo_portfolio(10, 1, "someday")


def test_cli_bad_arguments_exit_2(capsys):
    assert main(["demo-data", "--accounts", "0", "--out", "/tmp/x"]) == 2
    assert "n_accounts" in capsys.readouterr().err
    with pytest.raises(SystemExit) as ei:
        main(["frobnicate"])
    assert ei.value.code == 2


def test_knobs_change_what_they_say():
    base = playbook.demo_portfolio(3000, 4, "2026-11-29")
    rpc = playbook.load_playbook().disposition_flags

    def rpc_share(pf):
        calls = pf.interactions[pf.interactions["channel"] == "call"]
        return rpc(calls["outcome"])["rpc"].mean()

    assert rpc_share(playbook.demo_portfolio(3000, 4, "2026-11-29", contact_rate=0.5)) < rpc_share(base)
    more = playbook.demo_portfolio(3000, 4, "2026-11-29", cadence=2.0)
    assert len(more.interactions) > 1.5 * len(base.interactions)
    only = playbook.demo_portfolio(1000, 4, "2026-11-29", type_mix={"victim": 1.0, "stubborn": 1.0})
    assert set(only.truth["behaviour_type"]) == {"victim", "stubborn"}
    leaky = playbook.demo_portfolio(1000, 4, "2026-11-29", leakage=0.3)
    assert (leaky.truth["second_type"] != leaky.truth["behaviour_type"]).all() and (base.truth["second_type"] == "").all()
    kept = playbook.demo_portfolio(3000, 4, "2026-11-29", promise_keeping=0.3)
    assert kept.payments["amount"].sum() < base.payments["amount"].sum()
    noisy = playbook.demo_portfolio(3000, 4, "2026-11-29", noise=0.5)
    hostile = lambda pf: pf.interactions.merge(pf.truth, on="account_id").query("behaviour_type == 'hostile'")["outcome"]  # noqa: E731
    assert (hostile(noisy) == "hostile").mean() < (hostile(base) == "hostile").mean()
    with pytest.raises(ArgumentError):
        playbook.demo_portfolio(100, 4, "2026-11-29", type_mix={"victim": 0.0})
