from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import playbook
from playbook.cli import main
from playbook.errors import RunError
from playbook.optimise import _admissible_alone, optimise, solve_assignment, treatment_menu
from playbook.portfolio import Portfolio
from playbook.strategy import assign, get_strategy
from playbook.whatif import calibrate

AS_OF = "2026-11-29"


@pytest.fixture(scope="module")
def world():
    pf = playbook.demo_portfolio(1500, 21, AS_OF)
    seg = playbook.segment(pf, AS_OF)
    return pf, seg, calibrate(pf, seg, AS_OF)


def _brute(value: np.ndarray, cons: dict) -> float:
    C, K = value.shape
    best = -np.inf
    for combo in itertools.product(range(K), repeat=C):
        x = np.zeros((C, K))
        x[np.arange(C), combo] = 1
        if not np.isfinite(value[np.arange(C), combo]).all():
            continue
        if all((coef * x).sum() <= lim + 1e-9 for coef, lim in cons.values()):
            best = max(best, float(value[np.arange(C), combo].sum()))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_solver_matches_brute_force_on_small_instances(seed):
    rng = np.random.default_rng(seed)
    C, K = 6, 3
    value = rng.normal(100, 40, (C, K))
    hours = rng.uniform(0, 10, (C, K))
    cost = rng.uniform(0, 5, (C, K))
    cons = {"hours": (hours, float(hours.min(axis=1).sum() + rng.uniform(0, 15))),
            "budget": (cost, float(cost.mean(axis=1).sum()))}
    r = solve_assignment(value, cons)
    brute = _brute(value, cons)
    if np.isfinite(brute):
        assert r["ok"] and r["objective"] == pytest.approx(brute, rel=1e-9)
        x = r["x"]
        assert (x.sum(axis=1) == 1).all()
        assert (hours * x).sum() <= cons["hours"][1] + 1e-6 and (cost * x).sum() <= cons["budget"][1] + 1e-6
    else:
        assert not r["ok"] and (r["choice"] == -1).all()


def test_lp_duals_predict_the_relaxations_change():
    rng = np.random.default_rng(5)
    value = rng.normal(100, 40, (20, 4))
    hours = rng.uniform(1, 10, (20, 4))
    lim = float(hours.min(axis=1).sum() + 20)
    lp = solve_assignment(value, {"h": (hours, lim)}, relax=True)
    lp2 = solve_assignment(value, {"h": (hours, lim + 0.01)}, relax=True)
    assert lp["shadow"]["h"] > 0
    assert lp2["objective"] - lp["objective"] == pytest.approx(lp["shadow"]["h"] * 0.01, rel=1e-4)


def test_menu_probe_gives_the_same_menu_as_one_check_per_treatment():
    pb = playbook.load_playbook()
    for pack in ("cn", "us", "uk"):
        menu = treatment_menu(pack=pack, playbook=pb)
        assert menu[0].id == "sms_only" and len(menu) >= 8
        assert all(_admissible_alone(m.treatment, pack, pb) for m in menu)
    late = get_strategy("champion").rules[1].treatment.model_copy(update={"call_window": ("20:00", "23:00")})
    assert not _admissible_alone(late, "cn", pb)


def test_optimise_end_to_end_matches_brute_force_over_its_own_value_table(world):
    pf, seg, model = world
    items = [m for m in treatment_menu(pack="cn") if m.id in ("sms_only", "champion[1]", "payday_calling[2]")]
    sub = seg[seg["behaviour_type"].isin(["short_term", "defiant"]) & (seg["vulnerable"] == "none") &
              seg["stage"].isin(["M1", "M2"])]
    small = Portfolio(pf.accounts[pf.accounts["account_id"].isin(sub["account_id"])], pf.interactions, pf.payments,
                      pf.history, timezone=pf.timezone, truth=pf.truth)
    res = optimise(small, as_of=AS_OF, segments=sub, model=model, menu=items, draws=200, uplift_draws=200,
                   capacity={"early": 40, "mid": 30}, frontier_scales=(1.0,))
    opt = res.options
    cells = opt.groupby(["behaviour_type", "contactability", "stage"], sort=False).ngroups
    assert 5 <= cells <= 10, cells
    ids = [m.id for m in items]
    value = opt["value"].to_numpy().reshape(cells, len(ids))
    cons = {r["constraint"]: (opt[f"hours_{r['constraint'].split(':')[1]}"].to_numpy().reshape(cells, len(ids)), r["limit"])
            for _, r in res.constraints.iterrows()}
    assert any(res.constraints["binding"]), res.constraints
    assert res.assignment["value"].sum() == pytest.approx(_brute(value, cons), rel=1e-9)


def test_optimised_strategy_is_admissible_round_trips_and_treats_each_cell_as_chosen(world, tmp_path):
    pf, seg, model = world
    for pack in ("cn", "us", "uk"):
        res = optimise(pf, as_of=AS_OF, segments=seg, model=model, pack=pack, draws=200, uplift_draws=300,
                       capacity={"early": 150, "mid": 300}, frontier_scales=(0.5, 1.0, 2.0))
        assert playbook.strategy_verdict(res.strategy, pack).admissible
        path = tmp_path / f"opt_{pack}.yaml"
        path.write_text(res.strategy_yaml(), encoding="utf-8")
        back = get_strategy(path)
        assert back == res.strategy and back.packs == [pack]
        rule = assign(back, seg)
        treat = np.array([back.rules[i].treatment.model_dump_json() for i in rule])
        menu = {m.id: m.treatment.model_dump_json() for m in res.menu}
        key = seg[["behaviour_type", "contactability", "stage"]].astype(str).agg("|".join, axis=1)
        chosen = res.assignment.assign(k=lambda d: d[["behaviour_type", "contactability", "stage"]].agg("|".join, axis=1))
        want = key.map(dict(zip(chosen["k"], chosen["treatment"].map(menu))))
        normal = (seg["vulnerable"] == "none").to_numpy()
        assert (treat[normal] == want.to_numpy()[normal]).all()
        assert (rule[~normal] == 0).all()
        # within capacity, and the objective is what the what-if engine says the strategy nets
        c = res.constraints.set_index("constraint")
        assert (c["used"] <= c["limit"] + 1e-6).all()
        assert res.objective == pytest.approx(res.totals.loc["optimised", "net_mean"], rel=0.03)
        assert res.uplift["net"]["mean"] == pytest.approx(
            res.totals.loc["optimised", "net_mean"] - res.totals.loc["champion", "net_mean"], rel=1e-6)
        assert res.uplift["net"]["p05"] <= res.uplift["net"]["mean"] <= res.uplift["net"]["p95"]
    f = res.frontier
    assert f["net"].is_monotonic_increasing and f.loc[f["capacity_scale"] == 1.0, "net"].item() == pytest.approx(res.objective)


def test_a_capacity_change_moves_the_net_as_the_shadow_price_predicts(world):
    pf, seg, model = world
    base = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100,
                    capacity={"early": 150, "mid": 300}, frontier_scales=(1.0,))
    row = base.constraints.set_index("constraint").loc["hours:early"]
    assert row["binding"] and row["shadow_price"] > 0
    delta = 0.03 * row["limit"]
    more = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100,
                    capacity={"early": 150 + delta, "mid": 300}, frontier_scales=(1.0,))
    gain = more.objective - base.objective
    predicted = row["shadow_price"] * delta
    assert gain >= -1e-6  # more capacity never hurts
    assert gain == pytest.approx(predicted, rel=0.35), (gain, predicted)
    # hours that are not binding are worth nothing
    free = base.constraints[~base.constraints["binding"]]
    assert (free["shadow_price"].abs() < 1e-6).all()


def test_business_rules_budget_legal_share_and_risk(world):
    pf, seg, model = world
    free = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100, frontier_scales=(1.0,))
    legal_ids = {m.id for m in free.menu if m.treatment.escalation.action == "legal"}
    capped = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100, frontier_scales=(1.0,),
                      max_legal_share=0.02)
    n_legal = capped.assignment.loc[capped.assignment["treatment"].isin(legal_ids), "accounts"].sum()
    assert n_legal <= 0.02 * len(seg)
    assert capped.objective <= free.objective + 1e-6
    cost = free.totals.loc["optimised", "cost_mean"]
    tight = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100, frontier_scales=(1.0,),
                     budget=0.5 * cost)
    b = tight.constraints.set_index("constraint").loc["budget"]
    assert b["used"] <= b["limit"] + 1e-6 and b["binding"]
    cautious = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100, frontier_scales=(1.0,),
                        risk=0.1)
    assert cautious.objective < free.objective
    with pytest.raises(RunError, match="no assignment"):
        optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=50, uplift_draws=50, frontier_scales=(1.0,), budget=0)


def test_optimise_without_contact_log(world):
    pf, _, _ = world
    bare = Portfolio(pf.accounts, pf.interactions.iloc[:0], pf.payments.iloc[:0], pf.history, timezone=pf.timezone)
    res = optimise(bare, as_of=AS_OF, draws=100, uplift_draws=100, frontier_scales=(1.0,))
    assert playbook.strategy_verdict(res.strategy, "cn").admissible and res.assignment["accounts"].sum() > 0


def test_cli_optimise_writes_yaml_that_whatif_accepts_and_a_chart(tmp_path, capsys):
    assert main(["demo-data", "--accounts", "800", "--seed", "4", "--out", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    out, chart = tmp_path / "opt.yaml", tmp_path / "front.png"
    assert main(["optimise", str(tmp_path / "d"), "--hours", "early=60", "mid=120", "--draws", "100", "--out", str(out),
                 "--chart", str(chart)]) == 0
    text = capsys.readouterr().out
    assert "shadow price" in text and "one more collector-hour in team early" in text
    assert max(len(line) for line in text.splitlines()) <= 120
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert main(["whatif", str(tmp_path / "d"), "--strategies", "champion", str(out), "--draws", "100", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in body["strategies"]] == ["champion", "optimised"] and body["strategies"][1]["admissible"]
    assert main(["optimise", str(tmp_path / "d"), "--draws", "50", "--hours", "nobody=5"]) == 2
    assert "nobody" in capsys.readouterr().err
    assert main(["optimise", str(tmp_path / "d"), "--draws", "50", "--json", "--lang", "zh"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert {"uplift", "constraints", "frontier", "assignment"} <= set(body)
