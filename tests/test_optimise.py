from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.errors import RunError
from playbook.optimise import _admissible_alone, optimise, solve_assignment, treatment_menu
from playbook.portfolio import Portfolio
from playbook.strategy import assign, get_strategy
from playbook.whatif import calibrate

from .test_browser import CHROMIUM, voila  # noqa: F401  (the Voilà fixture)

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
        # every account is counted once: the cells chosen for, plus the vulnerable path
        assert res.assignment["accounts"].sum() + res.settings["vulnerable_accounts"] == len(seg) == res.settings["accounts"]
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
    free = base.constraints[~base.constraints["binding"]]
    assert (free["shadow_price"].abs() < 1e-6).all()  # hours that do not bind are worth nothing
    # on the solver's own table: the relaxation moves by exactly price x a small change, and the
    # MILP by no more than price x a larger one plus the integrality gap (the LP value is concave)
    opt = base.options
    C, K = len(base.assignment), len(base.menu)
    allowed = {m.id for m in base.menu if m.treatment.attempts_per_week >= base.strategy.rules[0].treatment.attempts_per_week}
    value = np.where(opt["treatment"].isin(allowed).to_numpy(), opt["value"].to_numpy(), np.nan).reshape(C, K)
    cons = {r["constraint"]: (opt[f"hours_{r['constraint'].split(':')[1]}"].to_numpy().reshape(C, K), r["limit"])
            for _, r in base.constraints.iterrows()}

    def at(extra: float, relax: bool) -> dict:
        c = dict(cons)
        c["hours:early"] = (cons["hours:early"][0], cons["hours:early"][1] + extra)
        return solve_assignment(value, c, relax=relax)

    small = 5e-4 * row["limit"]  # within the 0.1% the price is read over
    lp0, lp1 = at(0.0, True), at(small, True)
    price = row["shadow_price"]
    assert lp1["objective"] - lp0["objective"] == pytest.approx(price * small, rel=1e-3)
    mip0, mip1 = at(0.0, False), at(15.0, False)
    assert mip0["objective"] == pytest.approx(base.assignment["value"].sum(), rel=1e-6)
    gain = mip1["objective"] - mip0["objective"]
    assert 0 <= gain <= price * 15.0 + (lp0["objective"] - mip0["objective"]) + 1e-6
    assert mip1["used"]["hours:early"] >= mip0["used"]["hours:early"] - 1e-6
    # end to end: more hours for the early team never lowers the optimum
    more = optimise(pf, as_of=AS_OF, segments=seg, model=model, draws=200, uplift_draws=100,
                    capacity={"early": 165, "mid": 300}, frontier_scales=(1.0,))
    assert more.objective >= base.objective - 1e-6


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
    assert "shadow price" in text and "one more collector-hour in Early (M1)" in text
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
    # by default no more accounts go to legal than are in the last bucket (M3+) today
    from playbook.loading import load_portfolio
    from playbook.schema import bucket_of_dpd

    accounts = load_portfolio(tmp_path / "d").accounts
    m3 = float((pd.Series(bucket_of_dpd(accounts["dpd"])) == "M3+").mean())
    assert 0 < m3 < 1 and body["settings"]["max_legal_share"] == pytest.approx(m3)


def test_whatif_app_optimiser_tab_headless(world):
    from playbook.widgets.whatif_app import WhatIfApp

    pf, seg, _ = world
    app = WhatIfApp(pf, seg, AS_OF, lang="en")
    app.opt_controls["capacity_scale"].value = 0.25
    app.opt_controls["draws"].value = 100
    res = app.run_optimiser()
    assert app.opt_status.value == "✓" and app.opt_chart.value[:4] == b"\x89PNG"
    assert "Uplift over the champion" in app.opt_html.value and "shadow price" in app.opt_html.value
    assert "optimised_strategy.yaml" in app.opt_download.value
    assert playbook.strategy_verdict(res.strategy, "cn").admissible
    app.opt_controls["budget"].value = 1.0  # below the cheapest treatment: said in the tab, no result
    assert app.run_optimiser() is None and "no assignment" in app.opt_status.value


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make system-deps installs Debian's chromium)")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_optimiser_tab_in_chromium(voila, tmp_path, lang):
    from playwright.sync_api import sync_playwright

    from .test_browser import _browser, _notebook, _shots

    pb = playbook.load_playbook()
    url, proc, log = voila(_notebook("strategy_what_if", lang, tmp_path))
    assert proc.poll() is None, log.read_text()
    shots = _shots(tmp_path)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
        page.goto(url, timeout=180_000)
        tab = page.get_by_text(pb.text("optimiser.tab", lang), exact=True)
        tab.wait_for(timeout=180_000)
        tab.click()
        page.get_by_role("button", name=pb.text("optimiser.w_run", lang)).click()
        page.locator(".pb-optimiser table").first.wait_for(timeout=180_000)
        text = page.locator(".pb-optimiser").inner_text()
        assert pb.text("optimiser.w_uplift", lang) in text and pb.text("optimiser.w_constraints", lang) in text
        page.screenshot(path=str(shots / f"whatif_optimiser_{lang}.png"), full_page=True)
        link = page.locator(".pb-download-box a.pb-download")
        with page.expect_download(timeout=60_000) as info:
            link.click()
        target = tmp_path / f"opt_{lang}.yaml"
        info.value.save_as(target)
        browser.close()
    back = get_strategy(target)
    assert back.id == "optimised" and playbook.strategy_verdict(back, "cn").admissible


def test_menu_takes_treatments_the_user_adds_and_refuses_unlawful_ones(tmp_path):
    import yaml

    base = get_strategy("champion").model_dump(mode="json")
    extra = {**base, "id": "mine", "rules": [base["rules"][0],
             {"when": "True", "treatment": {**base["rules"][1]["treatment"], "attempts_per_week": 1.5,
                                            "offer": {"type": "instalments", "months": 12}}},
             {"when": "stage == 'M3+'", "treatment": {**base["rules"][1]["treatment"], "call_window": ["21:00", "23:00"]}}]}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"strategy": extra}, allow_unicode=True), encoding="utf-8")
    ids = [m.id for m in treatment_menu(pack="cn", extra=[path])]
    assert "mine[1]" in ids and "mine[2]" not in ids  # late calls break cn_quiet_hours
