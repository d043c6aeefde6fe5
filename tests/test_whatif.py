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


def test_champion_falls_inside_the_generators_replay_interval():
    inside = []
    for seed in (31, 32, 33):
        pf = playbook.demo_portfolio(2500, seed, AS_OF)
        seg = playbook.segment(pf, AS_OF)
        mean = simulate(pf, ["champion"], 30, 1000, seed, as_of=AS_OF, segments=seg).totals.loc["champion", "collected_mean"]
        rep = replay(pf, "champion", 30, 300, seed, segments=seg)
        lo, hi = np.quantile(rep, [0.05, 0.95])
        inside.append(lo <= mean <= hi)
    assert all(inside), inside


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
