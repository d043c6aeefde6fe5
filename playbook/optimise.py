"""What-best: the treatment per segment cell that collects the most net of cost, within
collector capacity, budget and the law.

A *cell* is the what-if engine's cell (behavioural type x contactability x stage) over the
accounts that are not vulnerable; vulnerable accounts keep the gentler path of the champion
(the compliance packs require one), and its hours and costs are reserved first. The menu
holds every treatment of the shipped strategies (and of any strategy the user adds) that is
admissible under the pack, plus an SMS-only reminder that needs no collector time, so that
a problem with little capacity still has an answer.

For every cell and menu treatment the what-if engine (:func:`playbook.whatif.simulate`'s
own formulas and draws) gives the expected net collected (collected minus the cost of
calls, SMS, visits, legal cases and agency commission over the horizon), the collector
hours per team, the cost, and the accounts sent to legal. The choice is a MILP solved by
HiGHS (:func:`scipy.optimize.milp`)::

    maximise   sum_c,k x[c,k] value[c,k]
    subject to sum_k x[c,k] = 1                                   every cell gets one treatment
               sum_c,k x[c,k] hours[c,k,t] <= capacity[t] - fixed[t]    every team t
               sum_c,k x[c,k] cost[c,k]     <= budget - fixed cost      (optional)
               sum_c,k x[c,k] legal[c,k]    <= max_legal_share x accounts  (optional)
               x binary

``value`` is the mean net over the draws, or with ``risk=q`` its q-quantile per cell (the
sum of per-cell quantiles is the portfolio's quantile when cells move together, and below
it otherwise: a cautious objective). Shadow prices are the duals of the LP relaxation
(HiGHS): the net gained per extra unit of a constraint's limit, e.g. per collector-hour of
one team; the relaxation differs from the MILP in at most as many cells as there are
coupling constraints, so the prices are those of the MILP's neighbourhood. A degenerate
relaxation has many duals; the price reported is the relaxation's own gain per unit when the
limit is raised by 0.1% (``dual`` keeps the solver's dual beside it).

The result is a strategy (one rule per chosen treatment over its cells, the vulnerable path
first, the champion's rules as the fall-back for cells the portfolio does not have today)
that :func:`playbook.whatif.simulate` and ``playbook whatif`` accept, checked admissible
under the pack, with its uplift over the champion from a paired what-if run.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from ._checks import check_positive_int
from .content import Playbook, load_playbook
from .errors import ArgumentError, RunError, UnknownKeyError
from .portfolio import Portfolio
from .prepared import Prepared
from .strategy import Strategy, Treatment, get_strategy, list_strategies
from .whatif import (ResponseModel, ResponseVersion, _Accounts, _CommonDraws, _Context, _cost_scale, _group_draws,
                     _prepared_model, _roll_to_next, as_text, simulate)

__all__ = ["MenuItem", "treatment_menu", "optimise", "OptimiseResult", "solve_assignment", "frontier_chart",
           "constraint_label", "menu_label", "price_sentence"]

VULNERABLE_WHEN = "vulnerable != 'none'"
SMS_ONLY = Treatment(channels=["sms"], attempts_per_week=0, sms_per_week=1,
                     forbearance={"options": ["repayment_plan", "extend_term"], "debt_advice": True}, script="reminder",
                     sms_text="您的账户已逾期，请尽快还款，如有困难可致电协商分期。回复TD退订")


@dataclass(frozen=True)
class MenuItem:
    """One treatment the optimiser may choose: its id (``strategy[rule]``) and where it comes from."""

    id: str
    treatment: Treatment
    source: str


def _vulnerable_rule(champion: Strategy) -> Any:
    for r in champion.rules:
        if "vulnerable" in r.expression.names:
            return r
    raise RunError("optimise", f"the champion strategy has no rule for vulnerable customers ({VULNERABLE_WHEN})")


def _gentle(vuln: Treatment, others: Sequence[Treatment]) -> Treatment:
    """The vulnerable path with no more calls a week than any other treatment (pack rule vulnerable_path)."""
    lowest = min([vuln.attempts_per_week, *(t.attempts_per_week for t in others)])
    return vuln.model_copy(update={"attempts_per_week": lowest})


def treatment_menu(*, pack: str = "cn", extra: Sequence[str | Path | Strategy] = (),
                   playbook: Playbook | None = None) -> list[MenuItem]:
    """The treatments the optimiser chooses from: those of the shipped (and registered)
    strategies and of ``extra`` strategies, except their vulnerable paths, each admissible
    under ``pack`` beside the champion's vulnerable path, without duplicates, and an
    SMS-only reminder (no collector time).

    Returns
    -------
    list of MenuItem
        In the order found; ``sms_only`` first.
    """
    from .compliance import strategy_verdict

    pb = playbook or load_playbook()
    found: list[MenuItem] = [MenuItem("sms_only", SMS_ONLY, "built-in: SMS reminders only, no calls")]
    seen = {SMS_ONLY.model_dump_json()}
    sources = [get_strategy(s) for s in list_strategies()] + [get_strategy(s) for s in extra]
    for strat in sources:
        for i, rule in enumerate(strat.rules):
            if "vulnerable" in rule.expression.names:
                continue
            key = rule.treatment.model_dump_json()
            if key in seen:
                continue
            seen.add(key)
            found.append(MenuItem(f"{strat.id}[{i}]", rule.treatment, f"{strat.id} rule {i}: when {rule.when}"))
    # one probe strategy holds every candidate (a violation names its rule); per candidate only
    # when the probe breaks a strategy-wide rule
    probe = _probe([item.treatment for item in found])
    verdict = strategy_verdict(probe, pack, playbook=pb)
    if any(v["where"] == "strategy" for v in verdict.violations):
        return [item for item in found if _admissible_alone(item.treatment, pack, pb)]
    bad = {v["where"].split(" ", 1)[0] for v in verdict.violations}
    if "rules[0]" in bad:
        return [item for item in found if _admissible_alone(item.treatment, pack, pb)]
    return [item for i, item in enumerate(found) if f"rules[{i + 1}]" not in bad]


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence what the solver's C++ code prints to file descriptor 1 (HiGHS writes debug
    lines on some problems whatever its output options say)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured stdout without a descriptor
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _dominated(value: np.ndarray, allowed: np.ndarray, coefs: list[np.ndarray]) -> np.ndarray:
    """Options another option of the same cell beats: worth at least as much and using no more of
    any constrained resource (better in one, or the same and listed earlier). Dropping them
    changes neither the optimum nor the relaxation's."""
    C, K = value.shape
    out = np.zeros((C, K), dtype=bool)
    for k in range(K):
        for j in range(K):
            if j == k:
                continue
            no_worse = allowed[:, j] & (value[:, j] >= value[:, k])
            better = (value[:, j] > value[:, k]) | (j < k)
            for coef in coefs:
                no_worse &= coef[:, j] <= coef[:, k]
                better |= coef[:, j] < coef[:, k]
            out[:, k] |= no_worse & better
    return out & allowed


def solve_assignment(value: np.ndarray, constraints: dict[str, tuple[np.ndarray, float]], *,
                     relax: bool = False) -> dict[str, Any]:
    """Pick one option per row of ``value`` (cells x options) to maximise the total value.

    Parameters
    ----------
    value : ndarray (cells x options)
        The value of each option for each cell (``-inf`` or ``nan``: not allowed).
    constraints : dict
        ``name -> (coef, limit)``: ``sum coef[c, k] x[c, k] <= limit``, ``coef`` like ``value``.
    relax : bool
        Solve the LP relaxation (fractional choices) instead; gives the duals.

    Returns
    -------
    dict
        ``status`` (HiGHS message), ``ok``, ``choice`` (option per cell, -1 when infeasible;
        for a relaxation the largest share), ``x`` (cells x options), ``objective``, and per
        constraint ``used`` and, for a relaxation, ``shadow`` (value per unit of limit).
    """
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp
    from scipy.sparse import csr_array, eye, kron

    value = np.asarray(value, dtype="float64")
    C, K = value.shape
    allowed = np.isfinite(value)
    allowed &= ~_dominated(value, allowed, [np.asarray(coef, dtype="float64").reshape(C, K) for coef, _ in constraints.values()])
    c = -np.where(allowed, value, 0.0).ravel()
    ub = allowed.astype(float).ravel()
    a_eq = kron(eye(C, format="csr"), csr_array(np.ones((1, K))), format="csr")
    names = list(constraints)
    a_ub = np.vstack([np.asarray(constraints[n][0], dtype="float64").reshape(1, C * K) for n in names]) if names else None
    b_ub = np.array([float(constraints[n][1]) for n in names]) if names else None
    out: dict[str, Any] = {"names": names}
    if relax:
        r = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(C), bounds=list(zip(np.zeros(C * K), ub)),
                    method="highs")
        out.update(status=r.message, ok=bool(r.status == 0))
        if r.status == 0:
            x = r.x.reshape(C, K)
            out.update(x=x, choice=x.argmax(axis=1), objective=float(-r.fun),
                       shadow=dict(zip(names, (-r.ineqlin.marginals).tolist())) if names else {})
    else:
        cons = [LinearConstraint(a_eq, np.ones(C), np.ones(C))]
        if names:
            cons.append(LinearConstraint(csr_array(a_ub), -np.inf, b_ub))
        with _quiet_stdout():
            r = milp(c, constraints=cons, integrality=np.ones(C * K), bounds=Bounds(np.zeros(C * K), ub),
                     options={"mip_rel_gap": 1e-6})
        out.update(status=r.message, ok=bool(r.status == 0))
        if r.status == 0:
            x = np.round(r.x.reshape(C, K))
            out.update(x=x, choice=x.argmax(axis=1), objective=float(-r.fun))
    if not out["ok"]:
        out.update(x=None, choice=np.full(C, -1), objective=float("nan"))
    else:
        out["used"] = {n: float((np.asarray(constraints[n][0]).reshape(C, K) * out["x"]).sum()) for n in names}
    return out


@dataclass
class OptimiseResult:
    """The optimised strategy and what it is worth.

    ``assignment`` one row per cell (behaviour_type, contactability, stage, accounts,
    treatment, net, hours); ``options`` the value table the solver saw (cell x treatment);
    ``constraints`` each constraint's limit, use, slack, whether it binds and its shadow
    price; ``frontier`` net against capacity; ``uplift`` the paired what-if difference to
    the champion (``collected`` and ``net``: mean, p05, p95); ``totals`` the what-if totals
    of both strategies.
    """

    strategy: Strategy
    assignment: pd.DataFrame
    options: pd.DataFrame
    constraints: pd.DataFrame
    frontier: pd.DataFrame
    uplift: dict[str, dict[str, float]]
    totals: pd.DataFrame
    menu: list[MenuItem]
    objective: float
    status: str
    settings: dict[str, Any] = field(default_factory=dict)
    response_version: str = ""

    def strategy_yaml(self) -> str:
        """The strategy as YAML that ``playbook whatif --strategies FILE`` reads."""
        import yaml

        body = self.strategy.model_dump(mode="json", exclude_defaults=True)
        body["name"] = self.strategy.name.model_dump(mode="json")
        body["description"] = self.strategy.description.model_dump(mode="json")
        head = "".join(f"# {k}: {v}\n" for k, v in self.settings.items())
        return ("# Written by playbook optimise (playbook.optimise); a strategy YAML for playbook whatif.\n" + head
                + yaml.safe_dump({"strategy": body}, sort_keys=False, allow_unicode=True, width=1000))

    def to_dict(self) -> dict:
        """Everything as plain data (for ``--json``)."""
        return {"objective": self.objective, "status": self.status, "settings": self.settings,
                "response_version": self.response_version,
                "uplift": self.uplift, "totals": self.totals.reset_index().to_dict(orient="records"),
                "constraints": self.constraints.to_dict(orient="records"),
                "frontier": self.frontier.to_dict(orient="records"),
                "assignment": self.assignment.to_dict(orient="records"),
                "menu": [{"id": m.id, "source": m.source} for m in self.menu]}


def _whens(cells: pd.DataFrame, limit: int = 1900) -> list[str]:
    """``when`` expressions that together hold for exactly ``cells`` (bt, ct, st), each
    shorter than the expression language's limit: one clause per (type, contactability)
    with its stages."""
    clauses = []
    for (bt, ct), part in cells.groupby(["bt", "ct"], sort=True):
        stages = sorted(part["st"])
        st = f"stage == '{stages[0]}'" if len(stages) == 1 else f"stage in [{', '.join(repr(x) for x in stages)}]"
        clauses.append(f"(behaviour_type == '{bt}' and contactability == '{ct}' and {st})")
    out, cur = [], ""
    for c in clauses:
        if cur and len(cur) + len(c) + 4 > limit:
            out.append(cur)
            cur = ""
        cur = f"{cur} or {c}" if cur else c
    if cur:
        out.append(cur)
    return out


def optimise(portfolio: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None, pack: str = "cn",
             horizon_days: int = 90, draws: int = 500, seed: int = 0, segments: pd.DataFrame | None = None,
             model: ResponseModel | None = None, response: ResponseVersion | str | Path | None = None,
             extra: Sequence[str | Path | Strategy] = (), menu: Sequence[MenuItem] | None = None,
             capacity: dict[str, float] | None = None, capacity_scale: float = 1.0, budget: float | None = None,
             max_legal_share: float | None = None, risk: float | None = None,
             frontier_scales: Sequence[float] = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
             uplift_draws: int = 2000, playbook: Playbook | None = None) -> OptimiseResult:
    """The treatment per segment cell that maximises expected net collected, lawfully.

    Parameters
    ----------
    portfolio : Portfolio or Prepared
        The portfolio (a prepared bundle reuses its features).
    as_of : date-like, optional
        As in :func:`playbook.whatif.simulate`.
    pack : str
        The compliance pack every treatment must be admissible under.
    horizon_days, draws, seed : int
        Days planned, Monte Carlo draws of the value table, seed.
    segments, model, response : optional
        Precomputed segments, a calibrated model, or the response version to calibrate with.
    extra : sequence of strategy ids, YAML paths or Strategy
        Strategies whose treatments join the menu.
    menu : sequence of MenuItem, optional
        The menu itself (default :func:`treatment_menu`); every item is still checked.
    capacity : dict, optional
        Collector hours per team over the horizon (default: ``teams.yaml``, collectors x
        hours a day x working days), times ``capacity_scale``.
    budget : float, optional
        Most the treatments may cost over the horizon (calls, SMS, visits, legal, agency).
    max_legal_share : float, optional
        Most accounts, as a share of all, that may get a treatment escalating to legal.
    risk : float, optional
        Maximise the sum over cells of the ``risk`` quantile of net (e.g. 0.1) instead of the mean.
    frontier_scales : sequence of float
        Capacity multipliers at which the frontier is solved.
    uplift_draws : int
        Draws of the paired what-if comparison with the champion.
    playbook : Playbook, optional
        The content.

    Returns
    -------
    OptimiseResult

    Raises
    ------
    RunError
        No assignment meets the constraints (e.g. a budget below the cheapest treatment).
    """
    from .compliance import strategy_verdict

    horizon_days = check_positive_int("horizon_days", horizon_days)
    draws = check_positive_int("draws", draws)
    if risk is not None and not 0 < risk < 1:
        raise ArgumentError("risk", risk, "a quantile between 0 and 1, e.g. 0.1")
    if max_legal_share is not None and not 0 <= max_legal_share <= 1:
        raise ArgumentError("max_legal_share", max_legal_share, "a share between 0 and 1")
    if not capacity_scale > 0:
        raise ArgumentError("capacity_scale", capacity_scale, "a positive multiplier")
    if budget is not None and not budget >= 0:
        raise ArgumentError("budget", budget, "an amount >= 0")
    prep, seg, mdl = _prepared_model(portfolio, as_of, playbook, segments, model, response)
    pb, pf = prep.playbook, prep.portfolio
    items = list(menu) if menu is not None else treatment_menu(pack=pack, extra=extra, playbook=pb)
    if menu is not None:  # a given menu is checked like the built one
        items = [m for m in items if _admissible_alone(m.treatment, pack, pb)]
    if not items:
        raise RunError("optimise", f"no treatment is admissible under pack {pack}")
    champion = get_strategy("champion")
    vuln_rule = _vulnerable_rule(champion)

    workdays = horizon_days * 5 / 7
    cap = pd.Series({t.id: t.collectors * t.hours_per_day * workdays for t in pb.teams.values()}, dtype="float64")
    if capacity:
        unknown = sorted(set(capacity) - set(cap.index))
        if unknown:
            raise UnknownKeyError("team", unknown[0], list(cap.index))
        for k, v in capacity.items():
            if not v >= 0:
                raise ArgumentError(f"capacity[{k}]", v, "hours >= 0")
            cap[k] = float(v)
    cap = cap * capacity_scale

    acc = pf.accounts.set_index("account_id").reindex(seg["account_id"])
    over = acc["overdue_amount"].fillna(0).to_numpy(dtype="float64")
    accounts = _Accounts(seg, over)
    vulnerable = as_text(seg["vulnerable"]) != "none"
    rng = np.random.default_rng(seed)
    common = _CommonDraws(mdl, accounts, draws, rng)
    ctx = _Context({a.id: a for a in pb.costs.values()}, mdl.priors.costs, mdl.priors, horizon_days,
                   prep.memo("whatif.roll_to_next", lambda: _roll_to_next(pf.history)), _cost_scale(pb, pf.currency))

    def groups(mask: np.ndarray) -> pd.DataFrame:
        return accounts.groups(np.zeros(len(seg), dtype="int64"), 1, mask)

    teams = list(cap.index)
    # the vulnerable path: fixed; its hours and cost are reserved first at the champion's intensity,
    # an upper bound of the final path's (which has no more calls than any chosen treatment)
    gv = groups(vulnerable)

    def fixed_part(t: Treatment) -> tuple[pd.Series, float, float]:
        """Hours per team, mean cost, and net (mean, or its ``risk`` quantile) of the vulnerable path ``t``."""
        if not len(gv):
            return pd.Series(0.0, index=teams), 0.0, 0.0
        ci_v, z_v = common.for_groups(gv)
        ov = _group_draws(gv, [t], ci_v, z_v, common, ctx)
        h = pd.Series(ov["hours"].mean(axis=1), index=gv["team"].to_numpy()).groupby(level=0).sum()
        net = (ov["collected"] - ov["cost"]).sum(axis=0)
        return (h.reindex(teams, fill_value=0.0), float(ov["cost"].sum(axis=0).mean()),
                float(np.quantile(net, risk) if risk is not None else net.mean()))

    g = groups(~vulnerable)
    cells = g[["bt", "ct", "st"]].drop_duplicates().reset_index(drop=True)
    C, K = len(cells), len(items)
    cell_of = pd.MultiIndex.from_frame(cells).get_indexer(pd.MultiIndex.from_frame(g[["bt", "ct", "st"]]))
    ci, z = common.for_groups(g)
    G = len(g)
    tiled = pd.concat([g] * K, ignore_index=True)
    tiled["rule"] = np.repeat(np.arange(K), G)
    o = _group_draws(tiled, [m.treatment for m in items], np.tile(ci, K), np.tile(z, (K, 1)), common, ctx)
    net_draws = (o["collected"] - o["cost"]).reshape(K, G, draws)
    onehot = np.zeros((C, G))
    onehot[cell_of, np.arange(G)] = 1.0
    cell_net = np.einsum("cg,kgd->ckd", onehot, net_draws)  # cells x options x draws
    net_mean = cell_net.mean(axis=2)
    value = np.quantile(cell_net, risk, axis=2) if risk is not None else net_mean
    hours_g = o["hours"].mean(axis=1).reshape(K, G)
    cost_c = onehot @ o["cost"].mean(axis=1).reshape(K, G).T
    coll_c = onehot @ o["collected"].mean(axis=1).reshape(K, G).T
    n_c = onehot @ g["n"].to_numpy(dtype="float64")
    team_idx = pd.Index(teams).get_indexer(g["team"])
    hours_ct = {t: onehot @ (hours_g * (team_idx == j)[None, :]).T for j, t in enumerate(teams)}  # C x K each
    legal = np.array([m.treatment.escalation.action == "legal" for m in items], dtype=float)
    n_all = float(len(seg))

    # The pack's vulnerable path may have no more calls a week than any other rule: a menu item
    # with fewer calls than the champion's path lowers the path too. One setting per level:
    # the path at that intensity (its hours and cost reserved), the items with at least as many calls.
    attempts = np.array([m.treatment.attempts_per_week for m in items])
    fallback = [r for r in champion.rules if "vulnerable" not in r.expression.names]
    top = min([vuln_rule.treatment.attempts_per_week, *(r.treatment.attempts_per_week for r in fallback)])
    levels = []
    for lv in sorted({top, *attempts[attempts < top].tolist()}, reverse=True):
        vt = vuln_rule.treatment.model_copy(update={"attempts_per_week": lv})
        levels.append((vt, *fixed_part(vt), attempts >= lv))

    def constraint_set(scale: float, fixed_hours: pd.Series, fixed_cost: float) -> dict[str, tuple[np.ndarray, float]]:
        # a team whose hours no choice changes (e.g. care: only the fixed vulnerable path) is no constraint
        cons = {f"hours:{t}": (hours_ct[t], float(cap[t] * scale - fixed_hours[t])) for t in teams if hours_ct[t].any()}
        if budget is not None:
            cons["budget"] = (cost_c, float(budget) - fixed_cost)
        if max_legal_share is not None:
            cons["legal_share"] = (n_c[:, None] * legal[None, :], float(max_legal_share) * n_all)
        return cons

    def solve_at(scale: float) -> dict[str, Any] | None:
        # the LP relaxation bounds each level's MILP: levels are solved best bound first, and a
        # level whose bound cannot beat the best solution so far is skipped
        tries = []
        for vt, fh, fc, fn, allowed in levels:
            if not allowed.any():
                continue
            v = np.where(allowed[None, :], value, np.nan)
            cons = constraint_set(scale, fh, fc)
            lp = solve_assignment(v, cons, relax=True)
            if lp["ok"]:
                tries.append((lp["objective"] + fn, vt, fh, fn, v, cons))
        best: dict[str, Any] | None = None
        for bound, vt, fh, fn, v, cons in sorted(tries, key=lambda x: -x[0]):
            if best is not None and bound <= best["total"] + 1e-9:
                break
            r = solve_assignment(v, cons)
            if r["ok"] and (best is None or r["objective"] + fn > best["total"] + 1e-9):
                best = {**r, "total": r["objective"] + fn, "vulnerable": vt, "fixed_hours": fh, "value": v, "cons": cons}
        return best

    best = solve_at(1.0)
    if best is None:
        raise RunError("optimise", "no assignment meets the constraints; loosen the budget or the legal share, or add "
                                   "capacity (hours over the horizon: " + ", ".join(f"{t} {cap[t]:,.0f}" for t in teams) + ")")
    cons = best["cons"]
    lp = solve_assignment(best["value"], cons, relax=True)
    choice = best["choice"]
    crow = []
    for n_, (coef, lim) in cons.items():
        used = best["used"][n_]
        dual = float(lp.get("shadow", {}).get(n_, float("nan"))) if lp["ok"] else float("nan")
        price = dual
        if lp["ok"] and abs(dual) > 1e-9:
            # the value of the next units: a degenerate relaxation has many duals, so the price is
            # read off the relaxation itself, re-solved with the limit raised by 0.1%
            step = max(1e-3 * abs(lim), 1e-2)
            up = solve_assignment(best["value"], {**cons, n_: (coef, lim + step)}, relax=True)
            price = (up["objective"] - lp["objective"]) / step if up["ok"] else dual
        crow.append({"constraint": n_, "limit": lim, "used": used, "slack": lim - used,
                     "binding": bool(lim - used <= 1e-6 * max(1.0, abs(lim)) or abs(price) > 1e-9), "shadow_price": price,
                     "dual": dual})
    constraints = pd.DataFrame(crow, columns=["constraint", "limit", "used", "slack", "binding", "shadow_price", "dual"])

    pick = (np.arange(C), choice)
    assignment = cells.rename(columns={"bt": "behaviour_type", "ct": "contactability", "st": "stage"}).assign(
        accounts=n_c.astype(int), treatment=[items[k].id for k in choice], net=net_mean[pick], value=value[pick],
        collected=coll_c[pick], cost=cost_c[pick],
        hours=sum(hours_ct[t][pick] for t in teams) if teams else 0.0)
    options = pd.DataFrame({"behaviour_type": np.repeat(cells["bt"].to_numpy(), K),
                            "contactability": np.repeat(cells["ct"].to_numpy(), K),
                            "stage": np.repeat(cells["st"].to_numpy(), K),
                            "treatment": np.tile([m.id for m in items], C), "accounts": np.repeat(n_c, K),
                            "net": net_mean.ravel(), "value": value.ravel(), "collected": coll_c.ravel(),
                            "cost": cost_c.ravel(), **{f"hours_{t}": hours_ct[t].ravel() for t in teams},
                            "chosen": (np.arange(K)[None, :] == choice[:, None]).ravel()})

    front = []
    for s_ in frontier_scales:
        r = best if s_ == 1.0 else solve_at(float(s_))
        front.append({"capacity_scale": float(s_), "capacity_hours": float(cap.sum() * s_),
                      "net": float(r["total"]) if r else float("nan"),
                      "hours_used": float(sum(r["used"][k] for k in r["used"] if k.startswith("hours:"))
                                          + r["fixed_hours"].sum()) if r else float("nan"),
                      "feasible": r is not None})
    frontier = pd.DataFrame(front)
    fixed_hours = best["fixed_hours"]

    rules = [{"when": VULNERABLE_WHEN, "treatment": None}]
    chosen_items = sorted(set(choice.tolist()))
    for k in chosen_items:
        for when in _whens(cells[choice == k]):
            rules.append({"when": when, "treatment": items[k].treatment})
    fallback = [r for r in champion.rules if "vulnerable" not in r.expression.names]
    for r in fallback:
        rules.append({"when": r.when, "treatment": r.treatment})
    rules[0]["treatment"] = best["vulnerable"]
    today = pd.Timestamp(prep.as_of).date()
    objective = "mean net" if risk is None else f"{risk:.0%} quantile of net per cell"
    strat = Strategy(
        id="optimised", packs=[pack],
        name={"zh": f"优化策略（{pack}，{today}）", "en": f"Optimised strategy ({pack}, {today})"},
        description={"zh": f"按细分单元选择处置方案以最大化{horizon_days}天净回收（{'均值' if risk is None else f'{risk:.0%}分位'}），"
                           f"受团队产能{'、预算' if budget is not None else ''}{'、诉讼占比' if max_legal_share is not None else ''}"
                           f"与{pack}规则包约束；脆弱客户沿用冠军策略的关怀路径；其余单元按冠军策略处理。",
                     "en": f"The treatment per segment cell that maximises the {objective} over {horizon_days} days within "
                           f"team capacity{', budget' if budget is not None else ''}"
                           f"{', the legal share' if max_legal_share is not None else ''} and pack {pack}; vulnerable "
                           f"customers keep the champion's care path; cells not seen fall back to the champion."},
        rules=[{"when": r["when"], "treatment": r["treatment"].model_dump()} for r in rules])
    verdict = strategy_verdict(strat, pack, playbook=pb)
    if not verdict.admissible:  # the menu and the vulnerable path make this impossible; never hand one out
        raise RunError("optimise", "the optimised strategy is not admissible: "
                       + "; ".join(f"{v['rule']}: {v['detail']}" for v in verdict.violations))
    sim = simulate(prep, ["champion", strat], horizon_days, uplift_draws, seed, segments=seg, model=mdl, pack=pack,
                   playbook=pb)
    uplift = {m: sim.difference("optimised", "champion", m) for m in ("collected", "net")}
    settings = {"pack": pack, "as_of": str(today), "horizon_days": horizon_days, "draws": draws,
                "uplift_draws": uplift_draws, "seed": seed,
                "objective": objective, "capacity_hours": {t: round(float(cap[t]), 1) for t in teams},
                "budget": budget, "max_legal_share": max_legal_share, "response": mdl.version,
                "accounts": int(len(seg)), "vulnerable_accounts": int(vulnerable.sum()),
                "reserved_hours_vulnerable": {t: round(float(fixed_hours[t]), 1) for t in teams},
                "menu": [m.id for m in items]}
    return OptimiseResult(strat, assignment, options, constraints, frontier, uplift,
                          sim.totals.loc[["champion", "optimised"]], items,
                          float(best["total"]), best["status"], settings,
                          mdl.version)


def _probe(treatments: Sequence[Treatment]) -> Strategy:
    """The champion's vulnerable path (made gentle enough) followed by ``treatments`` (when: True)."""
    vuln = _vulnerable_rule(get_strategy("champion"))
    return Strategy(id="probe", name={"zh": "检查", "en": "probe"}, description={"zh": "-", "en": "-"},
                    rules=[{"when": VULNERABLE_WHEN, "treatment": _gentle(vuln.treatment, treatments)},
                           *({"when": "True", "treatment": t} for t in treatments)])


def _admissible_alone(t: Treatment, pack: str, pb: Playbook) -> bool:
    from .compliance import strategy_verdict

    return strategy_verdict(_probe([t]), pack, playbook=pb).admissible


def constraint_label(name: str, *, lang: str = "en", playbook: Playbook | None = None) -> str:
    """A constraint of :attr:`OptimiseResult.constraints` in words: ``hours:mid`` -> "hours of Mid (31-90 days)"."""
    pb = playbook or load_playbook()
    kind, _, team = name.partition(":")
    if kind == "hours":
        t = pb.teams.get(team)
        return pb.text("optimiser.hours_of", lang).format(team=t.name(lang) if t is not None else team)
    key = f"optimiser.{kind}"
    return pb.text(key, lang) if key in pb.labels else name


def menu_label(item: str, *, lang: str = "en", playbook: Playbook | None = None) -> str:
    """A menu item (``strategy[i]`` or ``sms_only``) in words: the strategy's name and its rule."""
    from .errors import PlaybookError

    pb = playbook or load_playbook()
    sid, _, rest = item.partition("[")
    if not rest:
        key = f"optimiser.menu_{item}"
        return pb.text(key, lang) if key in pb.labels else item
    try:
        name = get_strategy(sid).name(lang)
    except PlaybookError:  # a strategy added by file in another session: its id is all we have
        name = sid
    return pb.text("optimiser.menu_rule", lang).format(strategy=name, n=rest.rstrip("]"))


def price_sentence(row: Any, *, lang: str = "en", playbook: Playbook | None = None) -> str:
    """A binding constraint's shadow price in words, e.g. "one more collector-hour in team Mid
    (M2-M3) is worth about 167 CNY of net collected" (``row`` a row of ``constraints``)."""
    from .formatting import fmt_money

    pb = playbook or load_playbook()
    kind, _, team = str(row["constraint"]).partition(":")
    price = float(row["shadow_price"])
    if kind == "hours":
        t = pb.teams.get(team)
        return pb.text("optimiser.price_hours", lang).format(team=t.name(lang) if t is not None else team,
                                                              price=fmt_money(price, pb.currency))
    if kind == "budget":
        return pb.text("optimiser.price_budget", lang).format(price=fmt_money(price, decimals=2))
    return pb.text("optimiser.price_legal", lang).format(price=fmt_money(price / 100, pb.currency))


def frontier_chart(result: OptimiseResult, *, lang: str = "en", playbook: Playbook | None = None):  # noqa: ANN201
    """The efficient frontier: optimised net against the collector hours available (a matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import chart_lang

    pb = playbook or load_playbook()
    lang = chart_lang(lang)
    f = result.frontier[result.frontier["feasible"]]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(f["capacity_hours"], f["net"], marker="o", color="#1f6f8b")
    now = f.loc[(f["capacity_scale"] - 1.0).abs().idxmin()] if len(f) else None
    if now is not None:
        ax.scatter([now["capacity_hours"]], [now["net"]], s=90, color="#d1495b", zorder=3,
                   label=pb.text("optimiser.chart_today", lang))
        ax.legend(loc="lower right")
    ax.set_xlabel(pb.text("optimiser.chart_hours", lang))
    ax.set_ylabel(f"{pb.text('optimiser.chart_net', lang)} ({pb.currency})")
    ax.set_title(pb.text("optimiser.chart_title", lang).format(days=result.settings.get("horizon_days", "")))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
