from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.whatif import replay_strategy as replay
from playbook.strategy import Strategy, get_strategy, list_strategies
from playbook.whatif import analyze_test, calibrate, design_test, expected_paid_share, simulate

AS_OF = "2026-11-29"
SHIPPED = ["champion", "payday_calling", "sms_first_low_risk", "early_instalments", "legal_long_term"]


@pytest.fixture(scope="module")
def world():
    pf = playbook.demo_portfolio(3000, 12, AS_OF)
    seg = playbook.segment(pf, AS_OF)
    return pf, seg, calibrate(pf, seg, AS_OF)


def test_shipped_champion_and_challengers_are_admissible():
    assert set(SHIPPED) <= set(list_strategies())
    for sid in SHIPPED:
        v = playbook.strategy_verdict(get_strategy(sid).model_dump(), "cn")
        assert v.admissible, (sid, v.violations)


def test_calibration_pulls_rich_cells_to_data_and_keeps_thin_cells_near_the_prior(world):
    pf, seg, model = world
    t = model.table()
    prior = model.priors.types
    rich = t[t["ptp_n"] >= 200].iloc[0]
    bt = rich.name[0]
    thin_a = model.cells.iloc[0]
    assert rich["ptp_n"] >= 200
    # a rich cell's posterior mean is within 2% of its observed rate
    cell = model.cells.loc[rich.name]
    observed = (cell["a_ptp"] - prior[bt].ptp * model.priors.strength) / cell["n_ptp"]
    assert abs(rich["ptp"] - observed) < 0.02
    # a cell with no observations is exactly the prior
    empty = model.cells[model.cells["n_keep"] == 0]
    if len(empty):
        e = empty.iloc[0]
        assert e["a_keep"] / (e["a_keep"] + e["b_keep"]) == pytest.approx(prior.get(e.name[0], prior["unclassified"]).keep)
    del thin_a


def test_expected_paid_share_matches_monte_carlo():
    rng = np.random.default_rng(3)
    lam, share, full = 0.8, 0.6, 0.1
    k = rng.poisson(lam, 400_000)
    paid = np.zeros(len(k))
    for i in range(1, 9):
        has = k >= i
        is_full = rng.random(len(k)) < full
        paid = np.where(has, np.where(is_full, 1.0, np.minimum(1.0, paid + share)), paid)
    m1, m2, p_all = expected_paid_share(np.array([lam]), np.array([share]), np.array([full]))
    assert m1[0] == pytest.approx(paid.mean(), abs=0.003)
    assert m2[0] == pytest.approx((paid ** 2).mean(), abs=0.003)
    assert p_all[0] == pytest.approx((paid >= 1).mean(), abs=0.003)


def test_simulation_totals_intervals_and_breakdowns(world):
    pf, seg, model = world
    res = simulate(pf, SHIPPED, 90, 400, 1, as_of=AS_OF, segments=seg, model=model)
    t = res.totals
    assert list(t.index) == SHIPPED and t["admissible"].all()
    assert (t["collected_p05"] < t["collected_mean"]).all() and (t["collected_mean"] < t["collected_p95"]).all()
    assert np.allclose(t["net_mean"], t["collected_mean"] - t["cost_mean"])
    assert t.loc["legal_long_term", "cost_visits"] > 0 and t.loc["champion", "cost_visits"] == 0
    assert t.loc["legal_long_term", "discount_given"] > 0
    for sid in SHIPPED:
        bt = res.by_segment[res.by_segment["strategy"] == sid]
        tm = res.by_team[res.by_team["strategy"] == sid]
        assert bt["collected"].sum() == pytest.approx(t.loc[sid, "collected_mean"], rel=1e-6)
        assert tm["hours_needed"].sum() == pytest.approx(t.loc[sid, "hours_needed"], rel=1e-6)
        assert bt["accounts"].sum() == t.loc[sid, "accounts"] == len(pf.accounts)
    # same seed, same answer
    again = simulate(pf, ["champion"], 90, 400, 1, as_of=AS_OF, segments=seg, model=model)
    assert again.totals.loc["champion", "collected_mean"] == t.loc["champion", "collected_mean"]


def test_inadmissible_strategies_are_reported_not_simulated(world):
    pf, seg, model = world
    base = get_strategy("champion").model_dump()
    late = Strategy.model_validate({**base, "id": "late_calls", "rules": [
        {"when": "True", "treatment": {"channels": ["call"], "attempts_per_week": 1, "call_window": ["20:00", "23:00"]}}]})
    relatives = Strategy.model_validate({**base, "id": "ask_relatives", "rules": [
        {"when": "True", "treatment": {"channels": ["call"], "attempts_per_week": 1,
                                        "third_party": {"purpose": "pay", "only_when_lost": False},
                                        "script": "他联系不上，只能找你来还钱"}}]})
    res = simulate(pf, ["champion", late, relatives], 30, 100, 0, as_of=AS_OF, segments=seg, model=model)
    d = res.to_dict()["strategies"]
    by = {s["name"]: s for s in d}
    assert by["champion"]["admissible"] and "collected" in by["champion"]
    assert not by["late_calls"]["admissible"] and "collected" not in by["late_calls"]
    assert {v["rule"] for v in by["late_calls"]["violations"]} == {"cn_quiet_hours"}
    rules = {v["rule"] for v in by["ask_relatives"]["violations"]}
    assert "prohibited:pressing_relatives" in rules and "cn_third_party_only_when_lost" in rules


def test_our_intervals_cover_the_generators_realised_outcome():
    # the benchmark (whatif_validation) does this over 200 seeds; here 12 small ones
    in90, in50, below = [], [], []
    for seed in range(40, 52):
        pf = playbook.demo_portfolio(1500, seed, AS_OF)
        seg = playbook.segment(pf, AS_OF)
        d = simulate(pf, ["champion"], 30, 1000, seed, as_of=AS_OF, segments=seg).per_draw["champion"]["collected"]
        rep = replay(pf, "champion", 30, 101, 10_000 + seed, segments=seg)
        real = rep[0]
        in90.append(np.quantile(d, 0.05) <= real <= np.quantile(d, 0.95))
        in50.append(np.quantile(d, 0.25) <= real <= np.quantile(d, 0.75))
        below.append(d.mean() < rep[1:].mean())
    assert sum(in90) >= 9, in90  # P(fewer than 9 of 12 | 90% coverage) is about 2.6%
    assert 2 <= sum(in50) <= 10, in50
    assert 1 <= sum(below) <= 11, below  # no side every time


def test_design_test_sample_size_and_stratified_split(world):
    _, seg, _ = world
    split, summary = design_test(seg, strata=["stage", "team"], baseline_rate=0.20, min_detectable_lift=0.05, seed=4)
    assert summary["required_per_arm"] == {"champion": 1094, "challenger": 1094}
    share = split.groupby(["stage", "team"])["arm"].apply(lambda a: (a == "challenger").mean())
    sizes = split.groupby(["stage", "team"]).size()
    assert (share[sizes >= 50].between(0.4, 0.6)).all()
    assert summary["sufficient"] is True  # about 1,500 accounts per arm
    _, small = design_test(seg, baseline_rate=0.20, min_detectable_lift=0.02)
    assert small["sufficient"] is False and small["required_per_arm"]["champion"] > 6000


def test_analyze_test_recovers_a_known_lift():
    rng = np.random.default_rng(0)
    n = 20_000
    arm = np.where(rng.random(n) < 0.5, "challenger", "champion")
    paid = rng.random(n) < np.where(arm == "challenger", 0.25, 0.20)
    out = analyze_test(pd.DataFrame({"arm": arm, "paid": paid}), outcome="paid")
    assert out["ci_low"] < 0.05 < out["ci_high"] and out["significant"]
    assert out["lift"] == pytest.approx(0.05, abs=0.015)


def test_cli_whatif_json_and_table(tmp_path, capsys):
    assert main(["demo-data", "--accounts", "400", "--seed", "2", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["whatif", str(tmp_path), "--strategies", *SHIPPED, "--draws", "200", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    names = [s["name"] for s in body["strategies"]]
    assert names == SHIPPED
    first = body["strategies"][0]
    assert {"name", "admissible", "violations", "collected", "cost", "net", "cost_to_collect", "cured",
            "hours_needed"} <= set(first)
    assert set(first["collected"]) == {"mean", "p05", "p95"}
    assert main(["whatif", str(tmp_path), "--strategies", "champion", "--draws", "100"]) == 0
    assert "champion" in capsys.readouterr().out
    assert main(["whatif", str(tmp_path), "--strategies", "nonesuch"]) == 2
    assert "known: champion" in capsys.readouterr().err


def test_paired_draws_identical_strategies_differ_by_exactly_zero(world):
    pf, seg, model = world
    twin = get_strategy("payday_calling").model_copy(update={"id": "twin"})
    res = simulate(pf, ["payday_calling", "champion", twin], 30, 300, 4, as_of=AS_OF, segments=seg, model=model)
    d = res.difference("twin", "payday_calling", "net")
    assert d == {"mean": 0.0, "p05": 0.0, "p95": 0.0}
    # the interval of a difference is the interval of the per-draw differences
    diff = res.per_draw["payday_calling"]["collected"] - res.per_draw["champion"]["collected"]
    got = res.difference("payday_calling", "champion")
    assert got["p05"] == pytest.approx(np.quantile(diff, 0.05)) and got["p95"] == pytest.approx(np.quantile(diff, 0.95))
    # paired: far narrower than the spread of either strategy alone
    width = got["p95"] - got["p05"]
    assert width < 0.5 * (res.totals.loc["champion", "collected_p95"] - res.totals.loc["champion", "collected_p05"])
    # adding a strategy to the run does not change another's draws
    alone = simulate(pf, ["payday_calling", "champion"], 30, 300, 4, as_of=AS_OF, segments=seg, model=model)
    assert np.array_equal(alone.per_draw["champion"]["net"], res.per_draw["champion"]["net"])
    assert res.response_version.startswith("v1 (shipped")


def _flat_history(months: int = 5) -> pd.DataFrame:
    """600 current accounts paying 100 a month on a balance of 1,000; 400 in M2 paying nothing; nothing moves."""
    rows = []
    for m in pd.date_range("2026-01-01", periods=months, freq="MS"):
        for i in range(1000):
            cur = i < 600
            rows.append({"account_id": f"A{i}", "month": m, "bucket": "current" if cur else "M2",
                         "balance": 1000.0, "paid": 100.0 if cur else 0.0})
    return pd.DataFrame(rows)


def test_backtest_on_a_hand_made_history():
    from playbook.whatif import backtest

    out, s = backtest(_flat_history(), test_months=2, draws=4000, seed=1)
    assert s["calibration_months"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert s["test_months"] == ["2026-04-01", "2026-05-01"]
    assert s["month_sd_log_collected"] == pytest.approx(0.0, abs=1e-12)
    col = out[(out["measure"] == "collected")].set_index(["month", "bucket"])
    # by hand: 2 calibration pairs x 600 payers: P(pay) posterior mean 1201/1202, 100 a payer
    assert col.loc[("2026-04", "current"), "mean"] == pytest.approx(600 * 1201 / 1202 * 100, rel=0.002)
    assert col.loc[("2026-04", "current"), "actual"] == 60_000 and col.loc[("2026-04", "current"), "naive"] == 60_000
    assert col.loc[("2026-04", "M2"), "actual"] == 0 and col.loc[("2026-04", "M2"), "mean"] == 0
    acc = out[out["measure"] == "accounts"].set_index(["month", "bucket"])
    # 1,200 current->current of 1,200 with a 0.5 Dirichlet prior on 4 buckets, plus M2's 0.5 / 802
    assert acc.loc[("2026-05", "current"), "mean"] == pytest.approx(600 * 1200.5 / 1202 + 400 * 0.5 / 802, rel=0.003)
    assert acc.loc[("2026-05", "current"), "actual"] == 600 and acc.loc[("2026-05", "current"), "in90"]
    assert 0 <= s["coverage_50"] <= s["coverage_90"] <= 1


def test_backtest_refuses_what_it_cannot_use():
    from playbook.errors import ArgumentError
    from playbook.whatif import backtest

    with pytest.raises(ArgumentError, match="paid"):
        backtest(_flat_history().drop(columns="paid"))
    with pytest.raises(ArgumentError, match="months"):
        backtest(_flat_history(4), test_months=2)


UCI = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "uci_credit_card" / "UCI_Credit_Card.csv"


@pytest.mark.skipif(not UCI.is_file(), reason=f"UCI data not found at {UCI} (../shared is not in CI)")
def test_backtest_on_the_uci_cards_reports_against_the_raw_file():
    from playbook.datasets import uci_portfolio
    from playbook.whatif import backtest

    out, s = backtest(uci_portfolio(UCI).history, test_months=2, draws=500, seed=0)
    raw = pd.read_csv(UCI)
    tot = out[(out["measure"] == "collected") & (out["bucket"] == "all")].set_index("month")
    assert tot.loc["2005-08", "actual"] == raw["PAY_AMT2"].sum() and tot.loc["2005-09", "actual"] == raw["PAY_AMT1"].sum()
    assert tot.loc["2005-09", "naive"] == raw["PAY_AMT2"].sum()  # carry-forward: last month's
    acc = out[(out["measure"] == "accounts") & (out["month"] == "2005-09")].set_index("bucket")
    assert acc.loc["M3+", "actual"] == (raw["PAY_0"] >= 3).sum()
    assert s["rows"] == 18 and 0 <= s["coverage_90"] <= 1 and s["collected_ratio_to_naive"] > 0


def test_posterior_never_has_more_successes_than_trials():
    from playbook.whatif import PARAMS, _posterior, load_response

    pri = load_response().priors.model_copy(update={"strength": 1.0})
    obs = pd.Series({**{f"s_{p}": 10.4 for p in PARAMS}, **{f"n_{p}": 10.0 for p in PARAMS}, "share_sum": 0.0, "share_n": 0.0})
    post = _posterior(pri, "short_term", "reachable", obs)
    assert all(post[f"b_{p}"] > 0 and post[f"a_{p}"] > 0 for p in PARAMS)


def test_fast_paths_give_the_plain_computations_results(world):
    from playbook.strategy import assign
    from playbook.whatif import CELL, _Accounts, _RuleInputs

    pf, seg, _ = world
    strategies = [get_strategy(s) for s in SHIPPED]
    rules = _RuleInputs(seg, set().union(*(r.expression.names for st in strategies for r in st.rules)))
    assert rules.small is not None and len(rules.small) < len(seg) / 5
    for st in strategies:
        assert np.array_equal(rules.assign(st), assign(st, seg))
    over = pf.accounts.set_index("account_id").reindex(seg["account_id"])["overdue_amount"].fillna(0).to_numpy()
    rule = assign(strategies[0], seg)
    got = _Accounts(seg, over).groups(rule, len(strategies[0].rules))
    frame = pd.DataFrame({**{k: seg[c].astype(str).to_numpy() for k, c in zip(("bt", "ct", "st"), CELL)},
                          "rule": rule, "team": seg["team"].astype(str).to_numpy(), "over": over})
    want = frame[frame["rule"] >= 0].groupby(["bt", "ct", "st", "rule", "team"]).agg(
        n=("over", "size"), over=("over", "sum"), over2=("over", lambda x: (x ** 2).sum()))
    got = got.set_index(["bt", "ct", "st", "rule", "team"]).sort_index()
    assert got.index.equals(want.sort_index().index)
    assert np.array_equal(got["n"].to_numpy(), want.sort_index()["n"].to_numpy())
    assert np.allclose(got[["over", "over2"]].to_numpy(), want.sort_index()[["over", "over2"]].to_numpy())


def test_costs_are_set_against_collections_in_the_books_currency(world):
    """Costs are written in yuan (costs.yaml, response.yaml); a book in New Taiwan dollars pays
    them at settings.yaml's rate: the same accounts cost 1 / 0.24 times as many TWD, collect the
    same amounts, and a currency with no rate is refused with the file and the fix."""
    import dataclasses

    from playbook.errors import ContentError

    pf, seg, model = world
    cny = simulate(pf, ["champion", "legal_long_term"], 90, 200, 3, as_of=AS_OF, segments=seg, model=model).totals
    twd = simulate(dataclasses.replace(pf, currency="TWD"), ["champion", "legal_long_term"], 90, 200, 3, as_of=AS_OF,
                   segments=seg, model=model).totals
    scale = 1 / playbook.load_playbook().settings.rate_of("TWD")
    for col in ("cost_calls", "cost_sms", "cost_visits", "cost_legal"):
        assert np.allclose(twd[col], cny[col] * scale), col
    assert np.allclose(twd["collected_mean"], cny["collected_mean"])
    assert np.allclose(twd["cost_agency"], cny["cost_agency"])  # a share of what is collected: no conversion
    assert np.allclose(twd["net_mean"], twd["collected_mean"] - twd["cost_mean"])
    with pytest.raises(ContentError, match="settings.yaml.*rates.*XAF"):
        simulate(dataclasses.replace(pf, currency="XAF"), ["champion"], 90, 50, 3, as_of=AS_OF, segments=seg,
                 model=model)
