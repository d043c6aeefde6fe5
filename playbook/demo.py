"""A realistic synthetic portfolio whose behaviour is driven by a hidden type per account.

Everything is vectorised with one seeded generator, so the output is identical for a seed.
The hidden type, contact state and response parameters are returned separately as
``truth`` so that segmentation and the what-if engine can be measured against them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import check_date, check_positive_int
from .arrays import previous_time
from .portfolio import LoadReport, Portfolio

__all__ = ["demo_portfolio", "TYPES", "RPC_OUTCOMES"]

TYPES = ("hostile", "evasive", "victim", "defiant", "stubborn", "sophisticated", "serial_promiser", "short_term")
TYPE_SHARE = np.array([0.08, 0.11, 0.10, 0.08, 0.10, 0.08, 0.15, 0.30])

RPC_OUTCOMES = ("rpc", "ptp", "refuse", "dispute", "hardship", "hostile", "callback", "plan_request", "hang_up", "claims_paid")
# Outcome of a right-party conversation, per hidden type (rows follow TYPES).
_RPC_MIX = np.array([
    # rpc  ptp  refuse dispute hardship hostile callback plan  hang_up claims
    [.10, .07, .07, .03, .02, .55, .02, .00, .14, .00],  # hostile
    [.10, .07, .03, .02, .02, .01, .55, .02, .14, .04],  # evasive
    [.10, .09, .03, .50, .20, .02, .02, .02, .02, .00],  # victim
    [.64, .06, .22, .00, .00, .02, .03, .00, .03, .00],  # defiant
    [.12, .04, .70, .02, .02, .03, .02, .00, .05, .00],  # stubborn
    [.10, .20, .02, .04, .02, .00, .04, .55, .03, .00],  # sophisticated
    [.10, .70, .02, .02, .04, .00, .06, .03, .03, .00],  # serial_promiser
    [.18, .56, .01, .02, .04, .00, .04, .02, .01, .12],  # short_term
])
_P_RPC = np.array([.40, .10, .45, .45, .42, .50, .55, .55])  # chance a call reaches the debtor when reachable
_P_KEPT = np.array([.45, .35, .55, .65, .30, .60, .12, .88])
_STAGE_MIX = np.array([  # current, M1, M2, M3+ at the snapshot, per type
    [.04, .26, .30, .40], [.02, .18, .30, .50], [.05, .30, .30, .35], [.05, .30, .30, .35],
    [.02, .18, .30, .50], [.05, .30, .35, .30], [.05, .35, .35, .25], [.30, .60, .08, .02],
])
_CONTACT_STATES = ("reachable", "semi_lost", "lost")

_SMS = "【示例消费金融】您的账户已逾期，请尽快还款，如有困难可致电协商分期。回复TD退订"
_EMAIL = "您的账户已逾期，请登录应用查看还款方式或预约协商。如不希望再收到邮件，请点击退订。"
_NS_S = 1_000_000_000


def _lawful_cadence(acc: np.ndarray, local: np.ndarray, channel: np.ndarray, outcome: np.ndarray,
                    party: np.ndarray, inbound: np.ndarray, packs: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which generated contacts must change so that the demo obeys every shipped pack.

    Returns (calls to turn into SMS reminders, third-party contacts to turn into calls to
    the debtor), both as masks over the unsorted arrays. The limits are the strictest over
    the enabled rules of ``packs`` (default: the shipped ones): no third party while the
    debtor was reached in the last ``third_party_when_lost.lost_after_days`` days; at most
    ``daily_unanswered_calls.max`` unanswered calls a day; no call within
    ``after_conversation.days`` days after a telephone conversation; at most
    ``rolling_calls.max`` calls in ``rolling_calls.days`` days. A limit no pack sets is not
    enforced.
    """
    from .content import load_playbook

    params: dict[str, list[dict]] = {}
    for pack in (packs if packs is not None else load_playbook().packs).values():
        for rule in pack.rules:
            if rule.enabled:
                params.setdefault(rule.check, []).append(rule.params)

    def strictest(check: str, key: str, pick=max) -> int | None:
        values = [int(p[key]) for p in params.get(check, []) if key in p]
        return pick(values) if values else None

    lost_days = strictest("third_party_when_lost", "lost_after_days")
    unanswered_max = strictest("daily_unanswered_calls", "max", min)
    pause_days = strictest("after_conversation", "days")
    roll_max, roll_days = strictest("rolling_calls", "max", min), strictest("rolling_calls", "days")

    o = np.lexsort((local, acc))
    a, t = acc[o], local[o] // _NS_S
    ch, oc, pt, inb = channel[o], outcome[o], party[o], inbound[o]
    rpc = np.isin(oc, RPC_OUTCOMES)
    third = np.isin(pt, ["relative", "third_party"])
    to_debtor = np.zeros(len(a), dtype=bool)
    if lost_days is not None:
        last_rpc = previous_time(a, t, rpc & (pt == "debtor"))
        to_debtor = third & (last_rpc >= 0) & (t - last_rpc < lost_days * 86400)
    phone = (ch == "call") | (ch == "ivr")
    call_out = phone & ~inb
    alive = np.ones(len(a), dtype=bool)
    conv = phone & rpc & ~to_debtor
    pause = (pause_days or 0) * 86400
    for _ in range(200 if pause_days is not None else 0):
        c = conv & alive
        prev = previous_time(a, t, c)
        viol = call_out & alive & (prev >= 0) & (t - prev < pause)
        if not viol.any():
            break
        settled = c & ~viol
        prev_s = previous_time(a, t, settled)
        kill = call_out & alive & (prev_s >= 0) & (t - prev_s < pause)
        if not kill.any():
            idx = np.flatnonzero(viol)
            kill = np.zeros(len(a), dtype=bool)
            kill[idx[np.r_[True, a[idx][1:] != a[idx][:-1]]]] = True
        alive &= ~kill
    big = np.int64(1) << 40
    for _ in range(200 if roll_max is not None and roll_days is not None else 0):
        idx = np.flatnonzero(call_out & alive)
        key = a[idx].astype("int64") * big + t[idx]
        count = np.arange(len(idx)) - np.searchsorted(key, key - roll_days * 86400, side="right") + 1
        bad = idx[count > roll_max]
        if not len(bad):
            break
        first = bad[np.r_[True, a[bad][1:] != a[bad][:-1]]]
        alive[first] = False
    if unanswered_max is not None:
        unanswered = call_out & alive & ~rpc & ~third
        day = t // 86400
        idx = np.flatnonzero(unanswered)
        key = a[idx].astype("int64") * big + day[idx]
        starts = np.searchsorted(key, key, side="left")
        alive[idx[np.arange(len(idx)) - starts >= unanswered_max]] = False
    to_sms = np.zeros(len(a), dtype=bool)
    to_sms[o] = ~alive
    back = np.zeros(len(a), dtype=bool)
    back[o] = to_debtor & alive
    return to_sms, back


# Known violations planted in the last accounts of a demo (n >= 60): each account's whole
# contact log is this script (days before as-of, local clock, fields), and the rules it breaks.
_PLANTED = [
    (["cn_quiet_hours", "us_inconvenient_time", "uk_reasonable_hours"],
     [(20, "22:30", {})]),
    (["cn_unanswered_calls"],
     [(30, f"{h:02d}:00", {}) for h in range(9, 16)]),
    (["cn_third_party_only_when_lost", "uk_no_third_party_disclosure", "us_after_conversation"],
     [(40, "10:00", {"outcome": "rpc", "duration_s": 120.0}),
      (35, "10:00", {"party": "relative", "outcome": "third_party_contact", "contact_ref": "contact_1"})]),
    (["cn_field_visit_two_staff"],
     [(50, "10:00", {"channel": "visit", "outcome": "not_home", "staff_count": 1.0, "agent_id": None})]),
    (["us_opt_out_notice"],
     [(10, "10:00", {"channel": "sms", "outcome": "delivered", "agent_id": None, "message": "您的账户已逾期，请尽快还款。"})]),
    (["cn_no_threats_insults_false_identity", "us_no_abuse", "uk_no_pressure"],
     [(12, "11:00", {"channel": "sms", "outcome": "delivered", "agent_id": None,
                     "message": "逾期不还后果自负。回复TD退订"})]),
]

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
_GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅林鹏飞宇浩然欣怡子涵晨婷")
_PHONE_PREFIX = np.array(["138", "139", "135", "136", "137", "150", "151", "152", "158", "159", "186", "187", "188", "189", "177"])
_REGIONS = np.array(["北京", "上海", "广东", "浙江", "江苏", "四川", "湖北", "河南", "山东", "新疆"])
_REGION_CODE = np.array([110101, 310101, 440103, 330102, 320102, 510104, 420102, 410102, 370102, 650102])
_HOME_TZ = "Asia/Shanghai"  # the demo's regions are in China: wall-clock times are China Standard Time,
_REGION_TZ = {"新疆": "Asia/Urumqi"}  # except where a region keeps its own clock
_REGION_P = np.array([.08, .08, .16, .11, .11, .09, .08, .1, .12, .07])
_PRODUCTS = np.array(["credit_card", "consumer_loan", "cash_loan"])
_OCCUPATIONS = np.array(["white_collar", "business_owner", "worker", "other"])
_VULN = np.array(["", "health", "life_event", "resilience", "capability"])


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: one row of probabilities per item."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    return (rng.random((len(probs), 1)) > cum).sum(axis=1)


def _id_numbers(rng: np.random.Generator, region_code: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """Synthetic 18-character resident ID numbers with a valid GB 11643 check digit."""
    seq = rng.integers(100, 999, len(birth))
    body = np.char.add(np.char.add(region_code.astype(str), pd.Series(birth).dt.strftime("%Y%m%d").to_numpy().astype(str)),
                       seq.astype(str))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - 48
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    return np.char.add(body, check)


def demo_portfolio(n_accounts: int = 5000, seed: int = 0, as_of: str | pd.Timestamp = "2026-11-29", *,
                   contact_rate: float = 1.0, promise_keeping: float = 1.0, noise: float = 0.0,
                   type_mix: dict[str, float] | None = None, cadence: float = 1.0, leakage: float = 0.0) -> Portfolio:
    """Generate a synthetic delinquent portfolio.

    Parameters
    ----------
    n_accounts : int
        Number of accounts.
    seed : int
        Seed of the only random generator used; the same seed gives identical output.
    as_of : date-like
        Snapshot date; interactions cover the 90 days before it, history the 12 months
        ending in its month.

    contact_rate : float
        Multiplier on each type's chance that a call reaches the debtor (capped at 0.95).
    promise_keeping : float
        Multiplier on each type's chance of keeping a promise (capped at 0.98).
    noise : float
        Share of conversations whose outcome is drawn uniformly from all conversation
        outcomes instead of from the type's mix (miscoding, off days).
    type_mix : dict, optional
        Share per type (missing types get 0); default the generator's own mix.
    cadence : float
        Multiplier on the number of contact attempts.
    leakage : float
        Share of each debtor's conversations drawn from a second type's mix (fixed per
        account, in ``truth["second_type"]``): debtors who show some cues of another type.

    The defaults reproduce the generator's standard output exactly.

    Returns
    -------
    Portfolio
        Canonical tables, with ``truth`` holding each account's hidden behavioural type,
        contact state, payday and response parameters.
    """
    n = check_positive_int("n_accounts", n_accounts)
    seed = check_positive_int("seed", seed, minimum=0)
    day0 = check_date("as_of", as_of)
    rng = np.random.default_rng(seed)

    # --- accounts -------------------------------------------------------------------
    share = TYPE_SHARE if type_mix is None else np.array([float(type_mix.get(x, 0.0)) for x in TYPES])
    if share.sum() <= 0 or (share < 0).any():
        from .errors import ArgumentError

        raise ArgumentError("type_mix", str(type_mix), f"non-negative shares of {', '.join(TYPES)} with a positive sum")
    p_rpc_t = np.minimum(_P_RPC * contact_rate, 0.95)
    p_kept_t = np.minimum(_P_KEPT * promise_keeping, 0.98)
    t = rng.choice(len(TYPES), n, p=share / share.sum())
    stage = _pick(rng, _STAGE_MIX[t])
    lo = np.array([0, 1, 31, 61])[stage]
    hi = np.array([0, 30, 60, 180])[stage]
    dpd = np.where(stage == 0, 0, lo + np.floor(rng.random(n) ** np.where(stage == 3, 1.6, 1.0) * (hi - lo + 1)).astype(int))
    balance = np.round(np.exp(rng.normal(9.3, 0.9, n)), 2)
    instalment = balance * rng.uniform(0.05, 0.12, n)
    overdue = np.round(np.minimum(balance, instalment * np.ceil(dpd / 30)), 2)
    occ_p = np.tile([.42, .18, .34, .06], (n, 1))
    occ_p[t == TYPES.index("sophisticated")] = [.15, .75, .05, .05]
    occ_p[t == TYPES.index("defiant")] = [.45, .40, .10, .05]
    occupation = _OCCUPATIONS[_pick(rng, occ_p)]
    income_mu = np.select([occupation == "white_collar", occupation == "business_owner", occupation == "worker"],
                          [9.0, 9.4, 8.5], 8.3)
    income_mu = income_mu + np.isin(t, [TYPES.index("defiant"), TYPES.index("sophisticated")]) * 0.5
    income = np.round(np.exp(rng.normal(income_mu, 0.45)), -1)
    income_known = rng.random(n) > 0.1
    age = np.clip(np.round(rng.normal(38, 11, n)), 18, 78).astype(int)
    region_i = rng.choice(len(_REGIONS), n, p=_REGION_P)
    tz = pd.Series(_REGIONS[region_i]).map(_REGION_TZ).fillna(_HOME_TZ).to_numpy(dtype=object).astype(str)
    product = _PRODUCTS[rng.choice(3, n, p=[.5, .3, .2])]
    due_day = rng.choice([5, 10, 15, 20, 25, 28], n)
    payday = rng.choice([5, 10, 15, 28, 30], n, p=[.2, .25, .25, .15, .15])
    vuln = _VULN[rng.choice(5, n, p=[.95, .015, .015, .01, .01])]
    ext_debt = np.round(np.where(rng.random(n) < 0.45, np.exp(rng.normal(10, 1.0, n)), 0), 2)
    cs_p = np.tile([.84, .10, .06], (n, 1))
    cs_p[t == TYPES.index("evasive")] = [.60, .22, .18]
    contact_state = _pick(rng, cs_p)
    surname = np.array(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)]
    given = np.char.add(np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)],
                        np.where(rng.random(n) < 0.6, np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)], ""))
    phone = np.char.add(_PHONE_PREFIX[rng.integers(0, len(_PHONE_PREFIX), n)],
                        np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8))
    birth = day0 - pd.to_timedelta(age * 365 + rng.integers(0, 365, n), unit="D")
    ids = np.char.add("A", np.char.zfill(np.arange(1, n + 1).astype(str), 7))

    accounts = pd.DataFrame({
        "account_id": ids, "balance": balance, "overdue_amount": overdue, "dpd": dpd.astype("int64"),
        "product": product, "customer_id": np.char.replace(ids, "A", "C"), "due_day": due_day.astype("float64"),
        "credit_limit": np.where(product == "credit_card", np.round(balance * rng.uniform(1.1, 2.0, n), -2), np.nan),
        "monthly_income": np.where(income_known, income, np.nan), "occupation": occupation, "age": age.astype("float64"),
        "region": _REGIONS[region_i], "timezone": tz.copy(), "external_debts": ext_debt,
        "vulnerable": np.where(vuln == "", None, vuln), "assigned_team": None, "status": "open",
        "consent_channels": None, "consent_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]"),
        "name": np.char.add(surname, given), "phone": phone,
        "id_number": _id_numbers(rng, _REGION_CODE[region_i], birth),
    })

    # --- interactions ------------------------------------------------------------------
    mean_attempts = np.array([1.5, 8.0, 12.0, 15.0])[stage] * cadence
    k = rng.poisson(mean_attempts)
    acc = np.repeat(np.arange(n), k)
    m = len(acc)
    ta, sa, csa = t[acc], stage[acc], contact_state[acc]
    day = rng.integers(0, 90, m)
    hour = rng.choice(np.arange(8, 21), m, p=np.array([3, 9, 10, 8, 5, 6, 8, 8, 7, 6, 7, 5, 3], float) / 85)
    local = (day0 - pd.Timedelta(days=90)).value + day * 86_400_000_000_000 + hour * 3_600_000_000_000 \
        + rng.integers(0, 3600, m) * 1_000_000_000
    channel = np.array(["call", "sms", "email", "ivr", "visit"])[_pick(rng, np.tile([.78, .13, .04, .03, .02], (m, 1)))]
    channel = np.where((channel == "visit") & (sa < 3), "call", channel)
    # call outcomes
    p_rpc = np.where(csa == 0, p_rpc_t[ta], np.where(csa == 1, 0.03, 0.0))
    u = rng.random(m)
    is_rpc = u < p_rpc
    non_rpc_mix = np.array([[.58, .14, .12, .10, .03, .03], [.40, .08, .05, .12, .05, .30], [.35, .02, .05, .28, .30, .00]])
    non_rpc = np.array(["no_answer", "busy", "voicemail", "power_off", "wrong_number", "third_party_contact"])[
        _pick(rng, non_rpc_mix[csa])]
    second = np.full(n, -1)
    if leakage > 0:  # a second type per account; that share of its conversations follows it
        second = (t + rng.integers(1, len(TYPES), n)) % len(TYPES)
        ta_mix = np.where(rng.random(m) < leakage, second[acc], ta)
    else:
        ta_mix = ta
    rpc_out = np.array(RPC_OUTCOMES)[_pick(rng, _RPC_MIX[ta_mix])]
    if noise > 0:
        rpc_out = np.where(rng.random(m) < noise, np.array(RPC_OUTCOMES)[rng.integers(0, len(RPC_OUTCOMES), m)], rpc_out)
    outcome = np.where(is_rpc, rpc_out, non_rpc)
    party = np.where(outcome == "third_party_contact", np.where(rng.random(m) < 0.7, "relative", "third_party"), "debtor")
    sms_ok = rng.random(m) < np.where(csa == 2, 0.4, 0.97)
    outcome = np.where(np.isin(channel, ["sms", "email"]), np.where(sms_ok, "delivered", "undeliverable"), outcome)
    outcome = np.where((channel == "visit") & ~is_rpc, "not_home", outcome)
    party = np.where(np.isin(channel, ["sms", "email", "visit"]), "debtor", party)
    inbound = (rng.random(m) < 0.03) & (channel == "call") & (csa == 0)
    outcome = np.where(inbound, rpc_out, outcome)  # the debtor called in: a conversation like any other
    party = np.where(inbound, "debtor", party)
    # lawful by construction: contacts a pack forbids become SMS reminders (or, for a third
    # party while the debtor is reachable, an unanswered call to the debtor)
    to_sms, to_debtor = _lawful_cadence(acc, local, channel, outcome, party, inbound)
    outcome = np.where(to_debtor, "no_answer", outcome)
    party = np.where(to_debtor, "debtor", party)
    channel = np.where(to_sms, "sms", channel)
    outcome = np.where(to_sms, np.where(sms_ok, "delivered", "undeliverable"), outcome)
    party = np.where(to_sms, "debtor", party)
    is_ptp = outcome == "ptp"
    over_a = overdue[acc]
    ptp_amount = np.where(is_ptp, np.maximum(50.0, np.round(over_a * rng.uniform(0.3, 1.0, m), -1)), np.nan)
    ptp_day = day + rng.integers(1, 8, m)
    ptp_date_ns = (day0 - pd.Timedelta(days=90)).value + ptp_day * 86_400_000_000_000
    talk = np.isin(outcome, RPC_OUTCOMES) & (channel != "sms")
    duration = np.where(talk, rng.integers(40, 600, m), np.where(channel == "call", rng.integers(0, 30, m), 0))
    third = np.isin(party, ["relative", "third_party"])
    contact_ref = np.where(third, "contact_" + pd.Series(acc).groupby(np.where(third, acc, -1)).cumcount().add(1)
                           .astype(str).to_numpy(), None)
    message = np.where(channel == "sms", _SMS, np.where(channel == "email", _EMAIL, None))
    agent = np.char.add("AG", np.char.zfill((sa * 20 + rng.integers(0, 20, m)).astype(str), 3))
    order = np.lexsort((local, acc))
    tzs = tz[acc]
    ts = pd.Series(pd.to_datetime(local, unit="ns"))
    ts_utc = ts.dt.tz_localize(_HOME_TZ).dt.tz_convert("UTC")
    for zone in set(_REGION_TZ.values()):
        own = tzs == zone
        if own.any():
            ts_utc[own] = ts[own].dt.tz_localize(zone).dt.tz_convert("UTC")
    interactions = pd.DataFrame({
        "account_id": ids[acc], "ts": ts_utc.astype("datetime64[us, UTC]").to_numpy(),
        "channel": channel, "direction": np.where(inbound, "inbound", "outbound"),
        "party": party, "outcome": outcome, "ptp_amount": ptp_amount,
        "ptp_date": pd.to_datetime(np.where(is_ptp, ptp_date_ns, np.iinfo("int64").min)).astype("datetime64[us]"),
        "agent_id": np.where(channel == "call", agent, None), "duration_s": duration.astype("float64"),
        "contact_ref": contact_ref, "message": message,
        "staff_count": np.where(channel == "visit", 2.0, np.nan), "consent": None,
        "notes": None, "tone": None,  # optional in the contract; this generator writes no notes or tone
    }).iloc[order].reset_index(drop=True)
    interactions.loc[interactions["ptp_amount"].isna(), "ptp_date"] = pd.NaT
    planted = _PLANTED if n >= 60 else []
    planted_ids = ids[n - len(planted):] if planted else np.array([], dtype=ids.dtype)
    if planted:
        # the scripts are on the home clock (a 09:00 call is 09:00 in Beijing): so is the
        # account, in the table the checker reads, or a planted account in 新疆 would get a
        # 07:00 call it does not list
        accounts.loc[n - len(planted):, "timezone"] = _HOME_TZ
        rows = []
        for aid, (rules, script) in zip(planted_ids, planted):
            for (days_before, clock, extra) in script:
                local_ts = pd.Timestamp(f"{(day0 - pd.Timedelta(days=days_before)).date()} {clock}")
                rows.append({"account_id": aid, "ts": local_ts.tz_localize(_HOME_TZ).tz_convert("UTC"),
                             "channel": "call", "direction": "outbound", "party": "debtor", "outcome": "no_answer",
                             "ptp_amount": np.nan, "ptp_date": pd.NaT, "agent_id": "AG999", "duration_s": 0.0,
                             "contact_ref": None, "message": None, "staff_count": np.nan, **extra})
        plant = pd.DataFrame(rows).astype({"ts": "datetime64[us, UTC]", "ptp_date": "datetime64[us]"})
        interactions = pd.concat([interactions[~interactions["account_id"].isin(planted_ids)], plant], ignore_index=True)
        interactions = interactions.sort_values(["account_id", "ts"], kind="stable").reset_index(drop=True)

    # --- payments: kept promises, partial payments on broken ones, and self-cures --------
    ptp_idx = np.flatnonzero(is_ptp)
    kept = rng.random(len(ptp_idx)) < p_kept_t[ta[ptp_idx]]
    due_ns = ptp_date_ns[ptp_idx]
    past = due_ns < day0.value
    pay_kept = kept & past
    partial = ~kept & past & (rng.random(len(ptp_idx)) < 0.25)
    pay_rows = ptp_idx[pay_kept | partial]
    amt = np.where(pay_kept[pay_kept | partial], ptp_amount[pay_rows],
                   np.round(ptp_amount[pay_rows] * rng.uniform(0.2, 0.7, len(pay_rows)), 2))
    lead = rng.integers(0, 2, len(pay_rows)) * 86_400_000_000_000
    paid_at = due_ns[pay_kept | partial] - lead + rng.integers(9, 20, len(pay_rows)) * 3_600_000_000_000
    cured = np.flatnonzero(stage == 0)
    self_amt = np.round(np.maximum(instalment[cured], 50), 2)
    self_at = (day0 - pd.Timedelta(days=1)).value - rng.integers(0, 25, len(cured)) * 86_400_000_000_000 \
        + rng.integers(9, 21, len(cured)) * 3_600_000_000_000
    pay_acc = np.concatenate([acc[pay_rows], cured])
    pay_ts = np.concatenate([paid_at, self_at])
    pay_amt = np.concatenate([amt, self_amt])
    keep = (pay_ts < day0.value) & ~np.isin(pay_acc, np.arange(n - len(planted), n))
    porder = np.lexsort((pay_ts[keep], pay_acc[keep]))
    payments = pd.DataFrame({
        "account_id": ids[pay_acc[keep]][porder],
        "paid_at": pd.Series(pd.to_datetime(pay_ts[keep][porder], unit="ns")).dt.tz_localize(_HOME_TZ)
        .dt.tz_convert("UTC").astype("datetime64[us, UTC]").to_numpy(),
        "amount": pay_amt[keep][porder],
    })

    # --- 12 months of history, consistent with today's dpd, with earlier episodes -------
    months = pd.date_range(end=day0.to_period("M").to_timestamp(), periods=12, freq="MS")
    back = np.arange(11, -1, -1)
    hdpd = dpd[:, None] - 30 * back[None, :]
    cured_from = np.where(stage == 0, rng.integers(1, 3, n), 0)  # cured accounts were late recently
    was_late = (back[None, :] >= 1) & (back[None, :] <= cured_from[:, None])
    hdpd = np.where((stage == 0)[:, None] & was_late, 30 * (cured_from[:, None] - back[None, :] + 1) - 10, hdpd)
    episode = rng.random(n) < 0.3
    ep_start = rng.integers(4, 11, n)
    ep_len = rng.integers(1, 3, n)
    in_ep = episode[:, None] & (back[None, :] <= ep_start[:, None]) & (back[None, :] > ep_start[:, None] - ep_len[:, None])
    hdpd = np.where((hdpd <= 0) & in_ep, 10 + 30 * (ep_start[:, None] - back[None, :]), hdpd)
    hdpd = np.maximum(hdpd, 0)
    hbal = np.round(balance[:, None] * (1 + 0.012 * back[None, :]), 2)
    hpaid = np.round(np.where(hdpd == 0, instalment[:, None], instalment[:, None] * rng.uniform(0, 0.5, (n, 12))), 2)
    history = pd.DataFrame({
        "account_id": np.repeat(ids, 12), "month": np.tile(months.to_numpy().astype("datetime64[us]"), n),
        "bucket": np.array(["current", "M1", "M2", "M3+"])[np.select([hdpd <= 0, hdpd <= 30, hdpd <= 60], [0, 1, 2], 3)].ravel(),
        "dpd": hdpd.ravel().astype("float64"), "balance": hbal.ravel(), "paid": hpaid.ravel(),
    })

    truth = pd.DataFrame({
        "account_id": ids, "behaviour_type": np.array(TYPES)[t], "contact_state": np.array(_CONTACT_STATES)[contact_state],
        "payday": payday, "p_rpc": p_rpc_t[t], "p_kept": p_kept_t[t],
        "second_type": np.where(second >= 0, np.array(TYPES)[np.maximum(second, 0)], ""),
        "planted_violations": np.concatenate([np.full(n - len(planted), ""), [";".join(r) for r, _ in planted]]),
    })
    for frame in (accounts, interactions, payments, history, truth):
        for c in frame.columns:
            if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype):
                frame[c] = frame[c].astype("str")
    counts = pd.DataFrame([dict(table=tname, file="(generated)", read=len(f), accepted=len(f), rejected=0)
                           for tname, f in (("accounts", accounts), ("interactions", interactions),
                                            ("payments", payments), ("history", history))])
    report = LoadReport(f"demo(n_accounts={n}, seed={seed}, as_of={day0.date()})", counts,
                        pd.DataFrame(columns=["table", "file", "row", "column", "value", "reason"]))
    return Portfolio(accounts, interactions, payments, history, report=report, timezone=_HOME_TZ,
                     sources={"demo": f"n={n};seed={seed};as_of={day0.date()}"}, truth=truth)


def replay(portfolio: Portfolio, *, account_ids: pd.Series, calls: np.ndarray, multipliers: pd.DataFrame,
           reps: int = 200, seed: int = 0) -> np.ndarray:
    """The generator's own outcome of a treatment: total collected in each of ``reps`` runs.

    Uses each account's hidden truth (type, contact state, true contact, promise and
    keeping rates, promised amounts uniform on 30-100% of the arrears). ``calls`` is the
    number of calls each account of ``account_ids`` receives over the horizon, and
    ``multipliers`` (columns ``rpc``, ``ptp``, ``keep``, one row per account) the stated
    effects of its treatment. Only for demo portfolios (``portfolio.truth``); see
    :func:`playbook.whatif.replay_strategy` for a strategy.
    """
    if portfolio.truth is None:
        from .errors import ArgumentError

        raise ArgumentError("portfolio", "a portfolio without truth", "a demo portfolio (with .truth)")
    truth = portfolio.truth.set_index("account_id").reindex(account_ids)
    t = pd.Series(truth["behaviour_type"]).map({k: i for i, k in enumerate(TYPES)}).to_numpy()
    state = truth["contact_state"].to_numpy()
    p_rpc = np.where(state == "reachable", _P_RPC[t], np.where(state == "semi_lost", 0.03, 0.0))
    p_ptp = _RPC_MIX[t, RPC_OUTCOMES.index("ptp")]
    p_keep = _P_KEPT[t]
    m = multipliers
    lam = np.asarray(calls, dtype="float64") * np.minimum(p_rpc * m["rpc"].to_numpy(), 0.99) \
        * np.minimum(p_ptp * m["ptp"].to_numpy(), 0.99) * np.minimum(p_keep * m["keep"].to_numpy(), 0.99)
    over = portfolio.accounts.set_index("account_id").reindex(account_ids)["overdue_amount"].fillna(0).to_numpy()
    rng = np.random.default_rng(seed)
    totals = np.empty(reps)
    kmax = 8
    for r in range(reps):
        k = np.minimum(rng.poisson(lam), kmax)
        u = rng.uniform(0.3, 1.0, (len(k), kmax)) * (np.arange(kmax)[None, :] < k[:, None])
        totals[r] = np.minimum(u.sum(axis=1), 1.0).dot(over)
    return totals
