"""A second, independent demo generator written from the seed's type passages.

:func:`playbook.demo.demo_portfolio` and the segmentation rules were written from the
same reading, so agreeing with it proves little. This generator starts again from the
seed text (``催收实战客户类型分析`` and the two case studies of ``低账龄催收策略``) and
from the data contract and the disposition codes only. It does not import the first
generator or reuse its tables.

How it differs in kind, not just in numbers:

- a conversation is a *speech act* the seed describes (a blame, a claim of having money,
  "tomorrow for sure"); the act becomes a disposition code the way collectors code it,
  inconsistently (``code_noise``), and often also a note (催记) in the collector's words
  (``notes_rate``) and a recorded tone;
- ``legacy_codes=True`` codes with the older, coarser set only (no conditional promise,
  agreed plan, deflection, claim of money, fee dispute or hang-up after identification),
  as a system without the richer codes would;
- ``leakage`` makes that share of a debtor's conversations come from a second type;
- contactability follows the seed's 可联 / 半失联 / 失联 split, independent of the type.

Every choice cites its passage in ``_TYPES`` below. The hidden type is in ``truth``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import check_date, check_positive_int
from .portfolio import LoadReport, Portfolio

__all__ = ["seed_portfolio", "SEED_TYPES", "ACTS"]

_NS_DAY = 86_400_000_000_000
_NS_H = 3_600_000_000_000
_TZ = "Asia/Shanghai"

# Speech acts of a right-party conversation: (disposition code, legacy code, tone, notes zh, notes en).
# Notes are written as a collector would; the phrases echo the seed's own wording.
ACTS: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "abuse": ("hostile", "hostile", "angry",
              ("客户情绪激动，称别烦我，辱骂后挂机", "客户态度强硬：别再打了，烦不烦"),
              ("debtor angry, said stop bothering me and swore at the agent",)),
    "hang_up_id": ("hang_up_after_id", "hang_up", "angry",
                   ("报明来意后客户直接挂断", "一听是催收就挂，说别烦我"),
                   ("hung up as soon as the agent said who was calling",)),
    "when_money": ("conditional_ptp", "rpc", "angry",
                   ("客户称有钱就处理，没有具体时间", "说有钱了再说，不肯给日期"),
                   ("says he will pay when he has the money, no date",)),
    "deflect": ("deflect", "callback", "evasive",
                ("客户说在忙，回头再说，岔开话题", "问还款就转移话题，说不方便"),
                ("said busy now, call later, changed the subject",)),
    "call_later": ("callback", "callback", "evasive",
                   ("客户要求改天再打", "约回电，客户说晚点联系"),
                   ("asked to call back another day",)),
    "vague_promise": ("ptp", "ptp", "evasive",
                      ("客户称下周就付款", "说下周处理"),
                      ("says he will pay next week",)),
    "blame": ("dispute", "dispute", "upset",
              ("客户称都是因为你们系统扣款失败才逾期", "客户说被合伙人骗了，不是我的错", "都怪你们没提醒，害我逾期"),
              ("debtor says it is not my fault, because of you the payment failed",)),
    "harmed": ("hardship", "hardship", "upset",
               ("客户称因被骗现在手头很紧", "客户说因为别人拖欠工资自己也没办法"),
               ("says he was cheated and is short of money now",)),
    "accepts": ("plan_request", "plan_request", "calm",
                ("安抚后客户愿意协商分期", "客户冷静下来，同意先还一部分"),
                ("after being heard, agreed to discuss instalments",)),
    "has_money": ("claims_money", "refuse", "calm",
                  ("客户称不差这点钱，不上征信也拿我没办法", "客户说我手里一直有钱，你们奈何不了我"),
                  ("debtor: I have plenty of money, you can't touch me",)),
    "refuse": ("refuse", "refuse", "calm",
               ("客户明确表示就不还", "说了不还就是不还"),
               ("says he won't pay, full stop",)),
    "talk": ("rpc", "rpc", "calm",
             ("客户听完说明，未表态", "客户愿意聊，但没有承诺"),
             ("listened to the explanation, no commitment",)),
    "plan": ("plan_request", "plan_request", "polite",
             ("客户提出下个月一起还两笔，讲存货周转", "客户熟悉条款，要求书面分期方案"),
             ("proposes paying both instalments next month, cites inventory and cash flow",)),
    "plan_agreed": ("plan_agreed", "plan_request", "polite",
                    ("已与客户确认书面还款计划", "客户同意分两期，日期已锁定"),
                    ("written plan agreed, two instalments",)),
    "legal_talk": ("fee_dispute", "dispute", "polite",
                   ("客户质疑罚息计算，称法律我比你懂", "客户说你们的套路我都懂，要求说明费用依据"),
                   ("challenges the late fees, says he knows the law better",)),
    "promise_tomorrow": ("ptp", "ptp", "polite",
                         ("客户称明天就还一定还，不好意思添麻烦了", "明天一定还，给你们添麻烦了"),
                         ("tomorrow for sure, sorry for the trouble",)),
    "promise_soon": ("ptp", "ptp", "calm",
                     ("客户说忘了还款，今天就处理", "客户称临时周转，几天内还上"),
                     ("forgot the due date, will pay in a few days",)),
    "claims_paid": ("claims_paid", "claims_paid", "calm",
                    ("客户称已经还了，是疏忽晚了一天", "客户说没注意扣款日，已补缴"),
                    ("says he already paid, overlooked the date",)),
}
_ACT_NAMES = tuple(ACTS)

SEED_TYPES = ("hostile", "evasive", "victim", "defiant", "stubborn", "sophisticated", "serial_promiser", "short_term")

# Per type: passage, chance that a call reaches the debtor, days past due range, income
# (median, CNY/month), business-owner share, promise keeping, promise lead days, calls per
# 30 days, and the mix of speech acts in a conversation.
_TYPES: dict[str, dict] = {
    "hostile": dict(
        seed="1.挑衅型客户(态度强硬,别烦我,有钱就处理) a)找出敌意来源 b)让其发泄并解释",
        # answers in order to fight: reachable; 'stop bothering me' is abuse or an immediate hang-up;
        # 'I'll deal with it when I have money' is a conditional promise without a date
        answer=0.5, dpd=(20, 150), income=7000, owner=0.15, keep=0.3, lead=(3, 7), calls=5,
        acts={"abuse": .40, "hang_up_id": .25, "when_money": .25, "refuse": .05, "talk": .05}),
    "evasive": dict(
        seed="2.推脱型客户(联系时断时续,顾左右而言他); 客户特征:很难取得联络,从不提供任何解释,也很难拜访到; "
             "举例:逾期120天...他从来不接电话...上一次联系该客户时他曾说下周就付款,但从那以后三个星期过去了也没有付",
        # hard to reach; when reached: changes the subject, puts off, or promises 'next week' and does not pay
        answer=0.08, dpd=(60, 180), income=6500, owner=0.5, keep=0.1, lead=(6, 8), calls=7,
        acts={"deflect": .40, "call_later": .30, "vague_promise": .25, "talk": .05}),
    "victim": dict(
        seed="3.受害型客户(因为你们或其他的的原因,造成我怎样怎样) c)客户得到理解后通常很容易接受其责任",
        # blames the lender or someone else, tells the harm done; once understood, accepts a way to pay
        answer=0.5, dpd=(15, 120), income=6000, owner=0.2, keep=0.5, lead=(3, 10), calls=5,
        acts={"blame": .45, "harmed": .25, "accepts": .20, "talk": .10}),
    "defiant": dict(
        seed="4.自信型客户(我手里一直有钱,你们不上征信也奈何不了我)",
        # has money (high income, low debt), says so, and does not pay
        answer=0.55, dpd=(30, 150), income=22000, owner=0.4, keep=0.3, lead=(3, 7), calls=5,
        acts={"has_money": .40, "refuse": .20, "talk": .35, "promise_soon": .05}),
    "stubborn": dict(
        seed="5.顽固型客户(我不还,就不还,还不还,说了还我还是不还) a)一定一定要耐心,顽固就会愿意聊",
        # refuses flatly and repeatedly, yet keeps talking; ability not stated: ordinary income
        answer=0.45, dpd=(30, 180), income=6500, owner=0.2, keep=0.2, lead=(3, 7), calls=6,
        acts={"refuse": .65, "talk": .25, "abuse": .05, "promise_soon": .05}),
    "sophisticated": dict(
        seed="6.老练型客户(我一定还,你们套路我都懂,法律我比你懂); 客户特征:中产阶级/中上阶级,非常友好且受过很好的教育,"
             "懂得一些金融和法律术语; 举例:逾期96天...存货已经过季...下个月才能还款但我会一次把两笔都付掉",
        # polite, business owner, argues law and fees, proposes a plan paying next month
        answer=0.6, dpd=(60, 120), income=18000, owner=0.7, keep=0.6, lead=(20, 35), calls=4,
        acts={"plan": .35, "plan_agreed": .15, "legal_talk": .25, "promise_soon": .10, "talk": .15}),
    "serial_promiser": dict(
        seed="7.保证还款型客户(明天就还一定还,不好意思,给你们添麻烦了) b)强调不兑现承诺的严重后果 c)更多的联系",
        # promises for tomorrow, apologises, seldom pays; collectors call more often
        answer=0.65, dpd=(10, 120), income=7000, owner=0.2, keep=0.15, lead=(1, 2), calls=8,
        acts={"promise_tomorrow": .80, "talk": .10, "harmed": .10}),
    "short_term": dict(
        seed="第一种客户类型是“拖欠短期”的客户: 临时的经济困难或者疏忽导致了拖欠款项...只有一次或者几次拖欠...良好的信用记录"
             "...友好地提醒他们付款,并且给予一定的宽限期...通常是可以与催收人员合作的",
        # recently late, clean history, answers a friendly reminder and pays
        answer=0.6, dpd=(3, 35), income=8000, owner=0.15, keep=0.9, lead=(1, 5), calls=4,
        acts={"promise_soon": .60, "claims_paid": .20, "talk": .20}),
}
# Contactability (催收技巧培训: 可联账户 / 半失联账户 / 失联账户), independent of the type.
_REACH_STATES = ("reachable", "semi_lost", "lost")


def seed_portfolio(n_accounts: int = 5000, seed: int = 0, as_of: str | pd.Timestamp = "2026-11-29", *,
                   type_mix: dict[str, float] | None = None, notes_rate: float = 0.5, tone_rate: float = 0.5,
                   code_noise: float = 0.1, leakage: float = 0.0, legacy_codes: bool = False,
                   contact_rate: float = 1.0, lost_share: float = 0.08, semi_lost_share: float = 0.06) -> Portfolio:
    """Generate a portfolio from the seed's type passages (independent of :mod:`playbook.demo`).

    Parameters
    ----------
    n_accounts, seed, as_of
        Size, seed of the only random generator, snapshot day (interactions cover the 90
        days before it, history the 12 months ending in its month).
    type_mix : dict, optional
        Share per type; default equal shares (the seed gives no prevalence).
    notes_rate : float
        Chance that a conversation carries a collector's note (0 = no ``notes`` column).
    tone_rate : float
        Chance that a conversation records the debtor's tone (0 = no ``tone`` column).
    code_noise : float
        Chance that a conversation is coded ``rpc`` (no outcome) instead of its act's code.
    leakage : float
        Share of each debtor's conversations drawn from a second, random type.
    legacy_codes : bool
        Code with the older code set only (see the module docstring).
    contact_rate : float
        Multiplier on every type's chance that a call reaches the debtor.
    lost_share, semi_lost_share : float
        Shares of accounts whose own line is dead (失联) or only relatives answer (半失联).

    Returns
    -------
    Portfolio
        With ``truth`` (``behaviour_type``, ``second_type``, ``contact_state``).
    """
    n = check_positive_int("n_accounts", n_accounts)
    seed = check_positive_int("seed", seed, minimum=0)
    day0 = check_date("as_of", as_of)
    rng = np.random.default_rng([seed, 13])
    mix = np.array([(type_mix or {}).get(t, 0.0 if type_mix else 1.0) for t in SEED_TYPES], dtype=float)
    t = rng.choice(len(SEED_TYPES), n, p=mix / mix.sum())
    prof = [_TYPES[x] for x in SEED_TYPES]

    def per_type(key: str) -> np.ndarray:
        return np.array([p[key] for p in prof], dtype=float)[t]

    lo = np.array([p["dpd"][0] for p in prof])[t]
    hi = np.array([p["dpd"][1] for p in prof])[t]
    dpd = rng.integers(lo, hi + 1)
    balance = np.round(np.exp(rng.normal(9.0, 0.8, n)), 2)
    instalment = np.round(balance / rng.choice([6, 12, 24], n), 2)
    overdue = np.round(np.minimum(balance, instalment * np.ceil(dpd / 30)), 2)
    owner = rng.random(n) < per_type("owner")
    occupation = np.where(owner, "business_owner", np.array(["white_collar", "worker", "other"])[rng.choice(3, n, p=[.5, .4, .1])])
    income = np.round(per_type("income") * np.exp(rng.normal(0, 0.3, n)), -1)
    ext = np.round(np.where(rng.random(n) < 0.35, income * rng.uniform(0.5, 4, n), 0), 2)
    ids = np.char.add("S", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    reach = rng.choice(3, n, p=[1 - lost_share - semi_lost_share, semi_lost_share, lost_share])
    accounts = pd.DataFrame({
        "account_id": ids, "balance": balance, "overdue_amount": overdue, "dpd": dpd.astype("int64"),
        "product": rng.choice(["credit_card", "consumer_loan"], n), "monthly_income": income,
        "occupation": occupation, "age": rng.integers(22, 65, n).astype("float64"), "external_debts": ext,
        "timezone": _TZ, "status": "open", "vulnerable": None,
    })

    # --- calls: one a day at most, 09:00-19:59, over the days the account has been late (max 90)
    late_days = np.minimum(dpd, 90)
    k = np.minimum(rng.poisson(per_type("calls") * late_days / 30), late_days)
    acc = np.repeat(np.arange(n), k)
    m = len(acc)
    # distinct days per account: a random permutation rank inside the late window
    start = np.repeat(np.cumsum(k) - k, k)
    j = np.arange(m) - start
    span = late_days[acc]
    day_back = (np.floor((j + rng.random(m)) * span / np.maximum(k[acc], 1))).astype(int)  # spread, one per slot
    day_back = np.clip(day_back, 0, np.maximum(span - 1, 0))
    ts_local = (day0 - pd.Timedelta(days=1)).value - day_back * _NS_DAY + rng.integers(9, 20, m) * _NS_H \
        + rng.integers(0, 3600, m) * 1_000_000_000
    p_answer = np.minimum(per_type("answer")[acc] * contact_rate, 0.95)
    state = reach[acc]
    answered = (state == 0) & (rng.random(m) < p_answer)
    # the act: from the debtor's own type, or (leakage) from a second type fixed per account
    second = (t + rng.integers(1, len(SEED_TYPES), n)) % len(SEED_TYPES)
    src = np.where(rng.random(m) < leakage, second[acc], t[acc])
    act_p = np.array([[_TYPES[x]["acts"].get(a, 0.0) for a in _ACT_NAMES] for x in SEED_TYPES])
    cum = np.cumsum(act_p[src], axis=1)
    act = (rng.random((m, 1)) * cum[:, -1:] > cum).sum(axis=1)
    code_tab = np.array([ACTS[a][1 if legacy_codes else 0] for a in _ACT_NAMES], dtype=object)
    outcome = code_tab[act].astype(object)
    outcome = np.where(rng.random(m) < code_noise, "rpc", outcome)
    # not answered: a working line rings out; a lost debtor's line is dead; semi-lost: relatives' lines (not called here)
    dead = np.array(["power_off", "wrong_number"], dtype=object)[rng.integers(0, 2, m)]
    ring = np.array(["no_answer", "busy", "voicemail"], dtype=object)[rng.choice(3, m, p=[.75, .1, .15])]
    outcome = np.where(answered, outcome, np.where(state == 2, dead, ring))
    tone_tab = np.array([ACTS[a][2] for a in _ACT_NAMES], dtype=object)
    tone = np.where(answered & (rng.random(m) < tone_rate), tone_tab[act], None)
    # notes: the act's wording, sometimes with a new phone number (personal data to mask)
    has_note = answered & (rng.random(m) < notes_rate)
    notes = np.full(m, None, dtype=object)
    zh_pick = rng.random(m) < 0.85
    for ai, a in enumerate(_ACT_NAMES):
        sel = np.flatnonzero(has_note & (act == ai))
        if len(sel):
            zh, en = ACTS[a][3], ACTS[a][4]
            notes[sel] = np.where(zh_pick[sel], np.array(zh, dtype=object)[rng.integers(0, len(zh), len(sel))],
                                  np.array(en, dtype=object)[rng.integers(0, len(en), len(sel))])
    phone_note = has_note & (rng.random(m) < 0.05)
    if phone_note.any():
        numbers = np.char.add("139", np.char.zfill(rng.integers(0, 10**8, int(phone_note.sum())).astype(str), 8))
        notes[phone_note] = notes[phone_note] + "；新号码" + numbers.astype(object)
    # promises: date = call day + the type's lead; amount = the arrears (or a part of them)
    is_ptp = outcome == "ptp"
    lead_lo = np.array([p["lead"][0] for p in prof])[t][acc]
    lead_hi = np.array([p["lead"][1] for p in prof])[t][acc]
    ptp_day_ns = (ts_local // _NS_DAY) * _NS_DAY + rng.integers(lead_lo, lead_hi + 1) * _NS_DAY
    ptp_amount = np.where(is_ptp, np.maximum(50.0, np.round(overdue[acc] * rng.uniform(0.5, 1.0, m), -1)), np.nan)
    interactions = pd.DataFrame({
        "account_id": ids[acc],
        "ts": pd.Series(pd.to_datetime(ts_local)).dt.tz_localize(_TZ).dt.tz_convert("UTC").astype("datetime64[us, UTC]").to_numpy(),
        "channel": "call", "direction": "outbound", "party": "debtor", "outcome": outcome.astype(str),
        "ptp_amount": ptp_amount,
        "ptp_date": pd.to_datetime(np.where(is_ptp, ptp_day_ns, np.iinfo("int64").min)).astype("datetime64[us]"),
        "agent_id": np.char.add("SG", rng.integers(100, 140, m).astype(str)),
        "duration_s": np.where(answered, rng.integers(30, 500, m), rng.integers(0, 30, m)).astype("float64"),
    })
    interactions.loc[~is_ptp, "ptp_date"] = pd.NaT
    if notes_rate > 0:
        interactions["notes"] = notes
    if tone_rate > 0:
        interactions["tone"] = tone

    # --- payments: kept promises pay by the date; short-term debtors also pay after a reminder
    kept = is_ptp & (rng.random(m) < per_type("keep")[acc]) & (ptp_day_ns < day0.value)
    pay_acc = acc[kept]
    pay_ts = ptp_day_ns[kept] - rng.integers(0, 2, int(kept.sum())) * _NS_DAY + rng.integers(9, 20, int(kept.sum())) * _NS_H
    pay_amt = ptp_amount[kept]
    reminded = np.flatnonzero((t == SEED_TYPES.index("short_term")) & (rng.random(n) < 0.5))
    r_ts = (day0 - pd.Timedelta(days=1)).value - rng.integers(0, np.maximum(late_days[reminded], 1)) * _NS_DAY + 12 * _NS_H
    pay_acc = np.concatenate([pay_acc, reminded])
    pay_ts = np.concatenate([pay_ts, r_ts])
    pay_amt = np.concatenate([pay_amt, np.maximum(np.round(instalment[reminded], 2), 10.0)])
    keep_rows = pay_ts < day0.value
    order = np.lexsort((pay_ts[keep_rows], pay_acc[keep_rows]))
    payments = pd.DataFrame({
        "account_id": ids[pay_acc[keep_rows]][order],
        "paid_at": pd.Series(pd.to_datetime(pay_ts[keep_rows][order])).dt.tz_localize(_TZ).dt.tz_convert("UTC")
        .astype("datetime64[us, UTC]").to_numpy(),
        "amount": pay_amt[keep_rows][order],
    })

    # --- history: the current episode, plus earlier episodes except for short-term debtors
    # (拖欠短期: 一般情况下这些客户是有良好的信用记录的)
    months = pd.date_range(end=day0.to_period("M").to_timestamp(), periods=12, freq="MS")
    back = np.arange(11, -1, -1)
    hdpd = np.maximum(dpd[:, None] - 30 * back[None, :], 0)
    earlier = np.where(t == SEED_TYPES.index("short_term"), 0, rng.integers(0, 4, n))
    ep = (back[None, :] >= 5) & (back[None, :] < 5 + earlier[:, None])
    hdpd = np.where((hdpd == 0) & ep, 25, hdpd)
    history = pd.DataFrame({
        "account_id": np.repeat(ids, 12), "month": np.tile(months.to_numpy().astype("datetime64[us]"), n),
        "bucket": np.array(["current", "M1", "M2", "M3+"])[np.select([hdpd <= 0, hdpd <= 30, hdpd <= 60], [0, 1, 2], 3)].ravel(),
        "dpd": hdpd.ravel().astype("float64"), "balance": np.repeat(balance, 12),
    })
    interactions = interactions.sort_values(["account_id", "ts"], kind="stable").reset_index(drop=True)
    truth = pd.DataFrame({"account_id": ids, "behaviour_type": np.array(SEED_TYPES)[t],
                          "second_type": np.array(SEED_TYPES)[second], "contact_state": np.array(_REACH_STATES)[reach]})
    counts = pd.DataFrame([dict(table=tn, file="(generated)", read=len(f), accepted=len(f), rejected=0)
                           for tn, f in (("accounts", accounts), ("interactions", interactions),
                                         ("payments", payments), ("history", history))])
    report = LoadReport(f"seed_portfolio(n_accounts={n}, seed={seed}, as_of={day0.date()})", counts,
                        pd.DataFrame(columns=["table", "file", "row", "column", "value", "reason"]))
    return Portfolio(accounts, interactions, payments, history, report=report, timezone=_TZ,
                     sources={"demo_seed": f"n={n};seed={seed};as_of={day0.date()}"}, truth=truth)
