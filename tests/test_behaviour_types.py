"""Behaviour types by the cue scorecard (issue 13): content, evidence, reasons, foreign exports."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import playbook
from playbook.errors import ContentError
from playbook.features import derive_features
from playbook.reasons import explain_type
from playbook.segmentation import segment

from .helpers import calls, tiny_portfolio

AS_OF = "2026-11-29"
SEED_FILE = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_9232c2dc761d0433.txt"
NEW_CODES = ("conditional_ptp", "plan_agreed", "deflect", "claims_money", "fee_dispute", "hang_up_after_id")


def _with_notes(pf: playbook.Portfolio, notes: list, tone: list | None = None) -> playbook.Portfolio:
    it = pf.interactions.copy()
    it["notes"] = pd.Series(notes, dtype=object)
    if tone is not None:
        it["tone"] = pd.Series(tone, dtype=object)
    return playbook.Portfolio(pf.accounts, it, pf.payments, pf.history)


def test_every_seed_type_has_cues_citing_the_seed():
    pb = playbook.load_playbook()
    card = pb.scorecards["behaviour_type"]
    seed_types = {"hostile", "evasive", "victim", "defiant", "stubborn", "sophisticated", "serial_promiser", "short_term"}
    assert seed_types <= set(card.types)
    seed_text = SEED_FILE.read_text(encoding="utf-8") if SEED_FILE.is_file() else None
    for t, cues in card.types.items():
        assert any(c.weight > 0 for c in cues), t
        for c in cues:
            assert c.seed.strip() and c.text.zh and c.text.en
            if seed_text is not None:  # at least one quoted fragment is verbatim in the seed
                parts = [p.strip() for p in re.split(r"[:;]|\.\.\.", c.seed)]
                assert any(len(p) >= 4 and p in seed_text for p in parts), (c.id, c.seed)


def test_scorecard_errors_name_file_entry_and_field(content_copy):
    rules = content_copy / "rules" / "segmentation.yaml"
    data = yaml.safe_load(rules.read_text(encoding="utf-8"))
    data["scorecards"]["behaviour_type"]["types"]["hostile"][0]["evidence"] = "mood_score * 2"
    data["scorecards"]["behaviour_type"]["types"]["grumpy"] = data["scorecards"]["behaviour_type"]["types"]["victim"]
    rules.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ContentError) as ei:
        playbook.load_playbook(content_copy)
    text = str(ei.value)
    assert "rules/segmentation.yaml" in text and "hostile_abuse" in text and "mood_score" in text
    assert "grumpy" in text


def test_evasive_is_recognised_from_attempts_without_contact():
    """The old gate made every debtor with fewer than 3 RPCs unclassified; the seed's evasive
    debtor is the one who never answers (推脱型: 很难取得联络 ... 他从来不接电话)."""
    pf = tiny_portfolio([{"account_id": "E", "dpd": 100}, {"account_id": "D", "dpd": 100}],
                        calls("E", "2026-11-10", ["no_answer", "no_answer"]) + calls("E", "2026-11-20", ["no_answer", "voicemail", "busy"])
                        + calls("D", "2026-11-10", ["power_off", "wrong_number"]) + calls("D", "2026-11-20", ["power_off"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["E", "behaviour_type"] == "evasive" and seg.loc["E", "reason_behaviour_type"] == "evasive_unreached"
    assert seg.loc["D", "behaviour_type"] == "unclassified"  # a dead line says nothing about behaviour


def test_short_term_is_a_recent_slip_with_kept_promises_not_a_long_overdue_account():
    promise = dict(ptp_amount=100.0, ptp_date="2026-11-21")
    accounts = [{"account_id": "S", "dpd": 12}, {"account_id": "L", "dpd": 95}]
    its = calls("S", "2026-11-20", ["ptp", "rpc"], **promise) + calls("L", "2026-11-20", ["ptp", "rpc"], **promise)
    pays = [{"account_id": a, "paid_at": "2026-11-21 10:00:00", "amount": 100.0} for a in "SL"]
    seg = segment(tiny_portfolio(accounts, its, pays), AS_OF).set_index("account_id")
    assert seg.loc["S", "behaviour_type"] == "short_term"
    assert seg.loc["L", "behaviour_type"] != "short_term"



def test_paying_off_the_arrears_counts_as_paying_promptly():
    """拖欠短期 pays once reminded: a debtor who kept the promise and paid until nothing is overdue
    has no ratio of payments to arrears left (no arrears), and that must not drop the evidence
    of the kept promise and the payment."""
    promise = dict(ptp_amount=500.0, ptp_date="2026-11-21")
    accounts = [{"account_id": "cleared", "dpd": 0, "overdue_amount": 0.0, "monthly_income": 3000.0}]
    its = calls("cleared", "2026-11-20", ["ptp", "rpc"], **promise)
    pays = [{"account_id": "cleared", "paid_at": "2026-11-21 10:00:00", "amount": 500.0}]
    pf = tiny_portfolio(accounts, its, pays)
    assert np.isnan(derive_features(pf, AS_OF).loc["cleared", "payment_to_overdue"])
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["cleared", "behaviour_type"] == "short_term"
    assert "short_pays_promptly" in seg.loc["cleared", "type_cues"]


def test_no_account_past_the_first_month_is_short_term():
    """拖欠短期 is a briefly late payer: an M2 or later account is never short-term, however
    well it keeps its promises, and its reason never names a short-term cue."""
    promise = dict(ptp_amount=100.0, ptp_date="2026-11-21")
    accounts = [{"account_id": a, "dpd": d} for a, d in (("m1", 30), ("m2", 31), ("m2b", 45), ("m3", 75))]
    its = [c for a in ("m1", "m2", "m2b", "m3") for c in calls(a, "2026-11-20", ["ptp", "rpc"], **promise)]
    pays = [{"account_id": a, "paid_at": "2026-11-21 10:00:00", "amount": 100.0} for a in ("m1", "m2", "m2b", "m3")]
    pf = tiny_portfolio(accounts, its, pays)
    pf = _with_notes(pf, ["忘了还款，今天就处理", None] * 4)
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["m1", "behaviour_type"] == "short_term"
    for a in ("m2", "m2b", "m3"):
        assert seg.loc[a, "behaviour_type"] != "short_term", a
        assert not str(seg.loc[a, "reason_behaviour_type"]).startswith("short_"), a
        assert seg.loc[a, "runner_up"] != "short_term" or seg.loc[a, "runner_up_score"] <= 0, a

def test_ability_separates_defiant_from_stubborn():
    out = ["refuse", "rpc", "claims_money", "refuse"]
    pf = tiny_portfolio([{"account_id": "rich", "dpd": 60, "monthly_income": 30000.0},
                         {"account_id": "plain", "dpd": 60, "monthly_income": 5000.0, "balance": 20000.0}],
                        calls("rich", "2026-11-20", out) + calls("plain", "2026-11-20", ["refuse", "refuse", "rpc", "refuse"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["rich", "behaviour_type"] == "defiant" and seg.loc["rich", "runner_up"] == "stubborn"
    assert seg.loc["plain", "behaviour_type"] == "stubborn"


@pytest.mark.parametrize("out, rich_cue, plain_cue", [
    # a system without the 'claims money' code records 我手里一直有钱 ... 奈何不了我 as a refusal
    (["refuse", "refuse", "rpc", "refuse"], "defiant_able_refuses", "stubborn_refuses"),
    # 顽固就会愿意聊: one refusal, and the debtor keeps talking
    (["refuse", "rpc", "rpc", "rpc"], "defiant_talks_no_commitment", "stubborn_talks"),
])
def test_the_same_refusals_are_defiant_with_money_and_stubborn_without(out, rich_cue, plain_cue):
    """自信型 (我手里一直有钱) against 顽固型 (我不还,就不还): the same conversations are the
    defiant's from a debtor whose month's income is many times the balance owed and the stubborn's
    from one with no sign of money (a month's income a quarter of the balance)."""
    pf = tiny_portfolio([{"account_id": "rich", "dpd": 60, "monthly_income": 30000.0},
                         {"account_id": "plain", "dpd": 60, "monthly_income": 5000.0, "balance": 20000.0}],
                        calls("rich", "2026-11-20", out) + calls("plain", "2026-11-20", out))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["rich", "behaviour_type"] == "defiant" and rich_cue in seg.loc["rich", "type_cues"]
    assert seg.loc["plain", "behaviour_type"] == "stubborn" and plain_cue in seg.loc["plain", "type_cues"]
    assert "defiant" not in str(seg.loc["plain", "type_cues"])


def test_refusing_again_and_again_counts_for_the_stubborn():
    """说了还我还是不还: four refusals among talk coded without an outcome are full evidence of
    repeated refusal however diluted their share; two are none."""
    pf = tiny_portfolio([{"account_id": "again", "dpd": 60}, {"account_id": "twice", "dpd": 60}],
                        calls("again", "2026-11-20", ["refuse", "rpc", "refuse", "rpc", "refuse", "rpc", "refuse", "rpc"])
                        + calls("twice", "2026-11-20", ["refuse", "rpc", "refuse", "rpc"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["again", "behaviour_type"] == "stubborn" and "stubborn_refuses_again" in seg.loc["again", "type_cues"]
    assert "stubborn_refuses_again" not in seg.loc["twice", "type_cues"]


def test_half_the_promises_broken_counts_as_promises_falling_due_unkept():
    """保证还款型: one promise kept and one broken is not a promise keeper: serial_broken counts."""
    promise = dict(ptp_amount=100.0)
    its = (calls("half", "2026-11-01", ["ptp"], ptp_date="2026-11-02", **promise)
           + calls("half", "2026-11-10", ["ptp"], ptp_date="2026-11-11", **promise))
    pays = [{"account_id": "half", "paid_at": "2026-11-02 10:00:00", "amount": 100.0}]
    pf = tiny_portfolio([{"account_id": "half", "dpd": 20, "overdue_amount": 1000.0}], its, pays)
    feats = derive_features(pf, AS_OF)
    assert feats.loc["half", "ptp_kept_rate"] == 0.5 and feats.loc["half", "promises_broken"] == 1
    seg = segment(pf, AS_OF).set_index("account_id")
    assert "serial_broken" in seg.loc["half", "type_cues"]
    assert seg.loc["half", "behaviour_type"] == "serial_promiser"


def test_hard_to_reach_needs_several_unanswered_calls():
    """很难取得联络 is learnt from many calls: three calls that rang out are too few to call a
    debtor evasive; five are enough."""
    pf = tiny_portfolio([{"account_id": "few", "dpd": 100}, {"account_id": "many", "dpd": 100}],
                        calls("few", "2026-11-10", ["no_answer", "busy", "voicemail"])
                        + calls("many", "2026-11-10", ["no_answer", "busy", "voicemail", "no_answer", "no_answer"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["few", "behaviour_type"] == "unclassified"
    assert seg.loc["many", "behaviour_type"] == "evasive" and seg.loc["many", "reason_behaviour_type"] == "evasive_unreached"


def test_next_week_and_silence_is_evasive_not_a_serial_promise():
    """推脱型举例: 他曾说下周就付款,但从那以后三个星期过去了也没有付. A promise for a week ahead,
    broken, by a debtor seldom reached, is the evasive's; promises for tomorrow are the serial
    promiser's."""
    accounts = [{"account_id": "W", "dpd": 120}, {"account_id": "T", "dpd": 50}]
    its = (calls("W", "2026-10-20", ["ptp"], ptp_amount=100.0, ptp_date="2026-10-27")
           + calls("W", "2026-10-21", ["no_answer"] * 3) + calls("W", "2026-11-01", ["no_answer"] * 3)
           + calls("W", "2026-11-15", ["no_answer", "no_answer"])
           + calls("T", "2026-11-10", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-11")
           + calls("T", "2026-11-15", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-16"))
    seg = segment(tiny_portfolio(accounts, its), AS_OF).set_index("account_id")
    assert seg.loc["W", "behaviour_type"] == "evasive" and "evasive_next_week" in seg.loc["W", "type_cues"]
    assert seg.loc["T", "behaviour_type"] == "serial_promiser"


def test_hang_ups_after_identification_count_toward_hostile():
    pf = tiny_portfolio([{"account_id": "H", "dpd": 40}], calls("H", "2026-11-20", ["hang_up_after_id", "hang_up_after_id", "rpc"]))
    row = segment(pf, AS_OF).iloc[0]
    assert row["behaviour_type"] == "hostile" and "hostile_hang_up" in row["type_cues"]


def test_notes_alone_carry_the_seed_cues():
    """Only conversations without a coded outcome, but the collector wrote what was said."""
    pf = tiny_portfolio([{"account_id": x, "dpd": 50} for x in "VPS"],
                        calls("V", "2026-11-20", ["rpc", "rpc"]) + calls("P", "2026-11-20", ["rpc", "rpc"])
                        + calls("S", "2026-11-20", ["rpc", "rpc"]))
    pf = _with_notes(pf, ["客户说都是因为你们系统扣款失败", "不是我的错", "明天就还一定还，不好意思", "明天一定还，给你们添麻烦了",
                          "客户说下个月一起还两笔，讲存货周转", "Says he knows the law; asks about the lawyer"])
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg["behaviour_type"].to_dict() == {"V": "victim", "P": "serial_promiser", "S": "sophisticated"}


def test_a_note_that_the_debtor_calmed_down_once_heard_counts_for_the_victim():
    """受害型: a)安抚其冷静后向他阐述状况; c)客户得到理解后通常很容易接受其责任."""
    pf = tiny_portfolio([{"account_id": "V", "dpd": 50}], calls("V", "2026-11-20", ["dispute", "plan_request"]))
    plain = segment(_with_notes(pf, ["客户情绪激动", "客户愿意协商分期"]), AS_OF).iloc[0]
    pf = _with_notes(pf, ["客户情绪激动", "安抚后客户冷静下来，愿意协商分期"])
    f = derive_features(pf, AS_OF).loc["V"]
    assert f["note_calmed_count"] == 1 and f["note_blame_count"] == 0
    row = segment(pf, AS_OF).iloc[0]
    assert plain["behaviour_type"] == row["behaviour_type"] == "victim"
    assert "victim_calmed" in row["type_cues"] and "victim_calmed" not in plain["type_cues"]
    assert row["type_score"] > plain["type_score"]


def test_note_cues_nothing_matches_count_zero():
    pf = tiny_portfolio([{"account_id": "N", "dpd": 50}], calls("N", "2026-11-20", ["rpc", "rpc"]))
    f = derive_features(_with_notes(pf, ["天气不错", None]), AS_OF).loc["N"]
    cues = playbook.load_playbook().note_cues
    assert all(f[nc.feature] == 0 for nc in cues)
    f = derive_features(_with_notes(pf, ["别烦我", "就不还"]), AS_OF).loc["N"]
    assert f["note_stop_count"] == 1 and f["note_refuse_count"] == 1 and f["note_blame_count"] == 0



def test_recorded_tone_counts_for_the_seed_types_it_describes():
    """Tone recorded beside conversations coded without an outcome: an evasive tone is the
    evasive debtor's (顾左右而言他), an upset one the victim's (安抚其冷静), an angry one the
    hostile debtor's (态度强硬)."""
    accounts = [{"account_id": x, "dpd": 50} for x in "EVH"]
    its = [c for x in "EVH" for c in calls(x, "2026-11-20", ["rpc", "rpc"])]
    pf = tiny_portfolio(accounts, its)
    it = pf.interactions.copy()
    it["tone"] = ["evasive"] * 2 + ["upset"] * 2 + ["angry"] * 2
    seg = segment(playbook.Portfolio(pf.accounts, it, pf.payments, pf.history), AS_OF).set_index("account_id")
    assert seg["behaviour_type"].to_dict() == {"E": "evasive", "V": "victim", "H": "hostile"}
    assert seg.loc["E", "reason_behaviour_type"] == "evasive_tone"
    assert seg.loc["V", "reason_behaviour_type"] == "victim_upset"


def test_promise_dates_tell_tomorrow_from_next_month():
    """保证还款型 promises for tomorrow (明天就还) and breaks it; 老练型 promises for next month
    (下个月才能还款)."""
    accounts = [{"account_id": "T", "dpd": 50}, {"account_id": "N", "dpd": 70}]
    its = (calls("T", "2026-11-10", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-11")
           + calls("T", "2026-11-15", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-16")
           + calls("T", "2026-11-20", ["ptp"], ptp_amount=100.0, ptp_date="2026-11-21")
           + calls("N", "2026-11-20", ["plan_request"]) + calls("N", "2026-11-22", ["ptp"], ptp_amount=500.0,
                                                               ptp_date="2026-12-20"))
    seg = segment(tiny_portfolio(accounts, its), AS_OF).set_index("account_id")
    assert seg.loc["T", "behaviour_type"] == "serial_promiser" and "serial_tomorrow" in seg.loc["T", "type_cues"]
    assert seg.loc["N", "behaviour_type"] == "sophisticated" and "sophisticated_next_month" in seg.loc["N", "type_cues"]

def test_reason_text_names_the_cues_and_the_values():
    pf = tiny_portfolio([{"account_id": "H", "dpd": 45}], calls("H", "2026-11-20", ["hostile", "hostile", "rpc", "refuse"]))
    seg = segment(pf, AS_OF)
    f = derive_features(pf, AS_OF)
    for lang in ("en", "zh"):
        e = explain_type(seg, f, "H", lang)
        cue = playbook.load_playbook().scorecards["behaviour_type"].types["hostile"][0]
        assert e["type"] == "hostile" and e["cues"][0]["id"] == cue.id
        pb = playbook.load_playbook()
        named = {n: pb.features[n].name(lang) for n in ("hostile_count", "hostile_share")}
        assert cue.text(lang) in e["text"] and f"{named['hostile_count']} 2" in e["text"]
        assert f"{named['hostile_share']} 50%" in e["text"] and "hostile_count" not in e["text"]
        assert e["runner_up"] == "stubborn" and 0 < e["confidence"] <= 1


def test_confidence_drops_in_a_close_call():
    pf = tiny_portfolio([{"account_id": "C", "dpd": 45}, {"account_id": "K", "dpd": 45}],
                        calls("C", "2026-11-20", ["hostile", "hostile", "refuse", "refuse", "refuse"])
                        + calls("K", "2026-11-20", ["hostile", "hostile", "hostile", "hostile"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["C", "confidence"] < seg.loc["K", "confidence"]
    assert seg.loc["C", "runner_up"] in ("hostile", "stubborn")


def test_refusing_only_as_defined():
    out = ["refuse"] * 7
    pf = tiny_portfolio([{"account_id": "R", "dpd": 150}, {"account_id": "Y", "dpd": 60}],
                        calls("R", "2026-11-20", out) + calls("Y", "2026-11-20", out))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["R", "behaviour_type"] == "refusing" and seg.loc["R", "reason_behaviour_type"] == "type_refusing"
    assert seg.loc["Y", "behaviour_type"] == "stubborn"  # not long overdue: stubborn, not refusing


def test_new_codes_notes_and_tone_map_from_a_foreign_export(tmp_path):
    d = tmp_path / "export"
    d.mkdir()
    pd.DataFrame({"账户编号": ["X1"], "贷款余额": [5000], "逾期金额": [800], "逾期天数": [40], "产品": ["卡"]}).to_csv(
        d / "accounts.csv", index=False)
    codes = ["有钱再说", "达成计划", "顾左右而言他", "声称有钱", "费用异议", "报身份后挂断"]
    pd.DataFrame({"账户编号": ["X1"] * 6, "联系时间": [f"2026-11-2{i} 10:00:00" for i in range(6)], "渠道": ["电话"] * 6,
                  "方向": ["呼出"] * 6, "联系对象": ["本人"] * 6, "催收结果": codes,
                  "催记": ["客户称有钱就处理，新号码13912345678", None, "说在忙，回头再说", "不差这点钱", "质疑罚息", None],
                  "语气": ["愤怒", None, "推脱", "平静", "礼貌", "愤怒"]}).to_csv(d / "interactions.csv", index=False)
    mapping = {"columns": {"accounts": {"账户编号": "account_id", "贷款余额": "balance", "逾期金额": "overdue_amount",
                                        "逾期天数": "dpd", "产品": "product"},
                           "interactions": {"账户编号": "account_id", "联系时间": "ts", "渠道": "channel", "方向": "direction",
                                            "联系对象": "party", "催收结果": "outcome", "催记": "notes", "语气": "tone"}},
               "values": {"interactions": {"outcome": dict(zip(codes, NEW_CODES)), "channel": {"电话": "call"},
                                           "direction": {"呼出": "outbound"}, "party": {"本人": "debtor"},
                                           "tone": {"愤怒": "angry", "推脱": "evasive", "平静": "calm", "礼貌": "polite"}}}}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    pf = playbook.load_portfolio(d, tmp_path / "m.yaml")
    assert pf.report.rows_rejected == 0
    assert list(pf.interactions["outcome"]) == list(NEW_CODES)
    assert pf.interactions["tone"].tolist()[:2] == ["angry", None] or pd.isna(pf.interactions["tone"].iloc[1])
    f = derive_features(pf, AS_OF).loc["X1"]
    for col in ("conditional_ptp_count", "plan_agreed_count", "deflect_count", "claims_money_count", "fee_dispute_count",
                "hang_up_after_id_count", "note_conditional_count", "note_deflect_count", "note_money_count"):
        assert f[col] == 1, col
    assert f["rpc_count"] == 6 and f["angry_tone_count"] == 2 and f["polite_tone_count"] == 1


def test_notes_are_masked_and_escaped_in_the_explorer():
    from playbook.masking import mask_notes
    from playbook.widgets import PortfolioExplorer

    assert mask_notes(pd.Series(["新号码13912345678", None])).iloc[0] == "新号码139****5678"
    pf = tiny_portfolio([{"account_id": "N", "dpd": 30}], calls("N", "2026-11-20", ["hostile", "hostile", "rpc"]))
    pf = _with_notes(pf, ["<b>别烦我</b> 13912345678", "身份证 11010119900307123X", None])
    seg = segment(pf, AS_OF)
    app = PortfolioExplorer(pf, seg, lang="zh", features=derive_features(pf, AS_OF))
    out = app.type_html("N")
    assert "13912345678" not in out and "139****5678" in out and "11010119900307123X" not in out
    assert "<b>别烦我</b>" not in out and html.escape("<b>别烦我</b>") in out
    pb = playbook.load_playbook()
    # the fired cue is named with the account's own value, the feature by its name, not its id
    assert f"{pb.features['hostile_count'].name.zh}：<b>2</b>" in out and "hostile_count" not in out
    assert pb.text("explorer.runner_up", "zh") in out


def test_independent_generator_passes_the_contract_and_knobs_act(tmp_path):
    from playbook.demo_seed import seed_portfolio
    from playbook.loading import write_portfolio

    pf = seed_portfolio(600, 3, AS_OF)
    write_portfolio(pf, tmp_path / "s", fmt="csv")
    back = playbook.load_portfolio(tmp_path / "s")
    assert back.report.rows_rejected == 0 and len(back.interactions) == len(pf.interactions)
    assert back.interactions["notes"].notna().any() and back.interactions["tone"].notna().any()
    legacy = seed_portfolio(600, 3, AS_OF, legacy_codes=True)
    assert not set(legacy.interactions["outcome"]) & set(NEW_CODES)
    assert set(pf.interactions["outcome"]) & set(NEW_CODES)
    bare = seed_portfolio(600, 3, AS_OF, notes_rate=0, tone_rate=0)
    assert "notes" not in bare.interactions and "tone" not in bare.interactions
    a = seed_portfolio(2000, 3, AS_OF, contact_rate=0.5)
    b = seed_portfolio(2000, 3, AS_OF, contact_rate=1.0)
    rpc = playbook.load_playbook().disposition_flags
    assert rpc(a.interactions["outcome"])["rpc"].mean() < rpc(b.interactions["outcome"])["rpc"].mean()


def _rescaled(pf: playbook.Portfolio, factor: float, currency: str) -> playbook.Portfolio:
    """The same accounts with every money column multiplied by ``factor``, marked as a book in
    ``currency`` (the same amounts written in another currency)."""
    money = {"accounts": ("balance", "overdue_amount", "monthly_income", "external_debts", "credit_limit"),
             "interactions": ("ptp_amount",), "payments": ("amount",), "history": ("balance", "paid")}
    tables = {}
    for name in ("accounts", "interactions", "payments", "history"):
        t = getattr(pf, name).copy()
        for c in money[name]:
            if c in t:
                t[c] = t[c] * factor
        tables[name] = t
    return playbook.Portfolio(tables["accounts"], tables["interactions"], tables["payments"], tables["history"],
                              timezone=pf.timezone, currency=currency)


def _book(generator: str) -> playbook.Portfolio:
    from playbook.demo_seed import seed_portfolio

    return playbook.demo_portfolio(1500, 5, AS_OF) if generator == "demo" else seed_portfolio(1500, 5, AS_OF)


_TYPE_COLUMNS = ("behaviour_type", "runner_up", "type_cues", "reason_behaviour_type", "ability", "quadrant")


@pytest.mark.parametrize("currency", ["TWD", "USD"])
@pytest.mark.parametrize("generator", ["demo", "seed"])
def test_behaviour_types_do_not_depend_on_the_currency(generator, currency):
    """有钱 is read against what the account owes and, in addition, on the income itself in the
    rules' currency (yuan) at the rates listed in settings.yaml: the same book written in New
    Taiwan dollars or US dollars at the listed rate, and marked as such, gets the same behaviour
    types, scores, runner-up and cues, and the same ability. Amounts that happen to sit on a
    threshold are avoided by the generators' own rounding; a difference would show here."""
    rate = playbook.load_playbook().settings.rate_of(currency)  # yuan per unit of the currency
    assert rate > 0 and rate != 1
    pf = _book(generator)
    base = segment(pf, AS_OF)
    other = segment(_rescaled(pf, 1 / rate, currency), AS_OF)
    assert (base["behaviour_type"].astype(str) == "defiant").sum() > 20  # the ability cues are exercised
    assert base["type_cues"].astype(str).str.contains("defiant_high_income").sum() > 10  # and the income one
    for col in _TYPE_COLUMNS:
        pd.testing.assert_series_equal(base[col].astype(str), other[col].astype(str), check_names=False)
    np.testing.assert_allclose(base["type_score"].to_numpy(), other["type_score"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(base["confidence"].to_numpy(), other["confidence"].to_numpy(), atol=1e-9)


@pytest.mark.parametrize("generator", ["demo", "seed"])
def test_a_currency_without_a_rate_reads_ability_only_against_the_account(generator):
    """A book in a currency settings.yaml lists no rate for (Swiss francs here) has no income in
    yuan: the absolute-income reading gives no evidence, never a guess and never an error, and
    the relative cues still decide. Accounts whose income is at most 10,000 yuan (where that
    reading gives nothing anyway) get exactly the same types and scores as in yuan; the others
    lose at most the income reading, never gain any defiant evidence from it."""
    pb = playbook.load_playbook()
    assert np.isnan(pb.settings.rate_of("CHF"))
    pf = _book(generator)
    base = segment(pf, AS_OF)
    chf = _rescaled(pf, 1.0, "CHF")
    other = segment(chf, AS_OF)
    assert derive_features(chf, AS_OF)["monthly_income_ref"].isna().all()
    assert not other["type_cues"].astype(str).str.contains("defiant_high_income").any()
    assert (other["behaviour_type"].astype(str) == "defiant").sum() > 20  # the relative cues still find the defiant
    low = (pf.accounts["monthly_income"].fillna(0) <= 10000).to_numpy()
    assert low.sum() > 500
    for col in _TYPE_COLUMNS:
        pd.testing.assert_series_equal(base[col].astype(str)[low], other[col].astype(str)[low], check_names=False)
    np.testing.assert_allclose(base["type_score"].to_numpy()[low], other["type_score"].to_numpy()[low], atol=1e-9)
    defiant_base = base["behaviour_type"].astype(str) == "defiant"
    defiant_other = other["behaviour_type"].astype(str) == "defiant"
    assert (defiant_other & ~defiant_base).sum() <= (defiant_base & ~defiant_other).sum()


def test_a_high_income_is_money_in_the_rules_currency():
    """我手里一直有钱 read on the income itself: a debtor earning 30,000 yuan a month who owes
    more than a month's income (no ability against the account) and refuses or commits to
    nothing is defiant in a yuan book; the same amounts in an unlisted currency carry no such
    evidence and the debtor is stubborn, with no error."""
    out = ["refuse", "refuse", "rpc", "refuse"]
    acc = [{"account_id": "earner", "dpd": 60, "monthly_income": 30000.0, "balance": 90000.0}]
    pf = tiny_portfolio(acc, calls("earner", "2026-11-20", out))
    cny = segment(playbook.Portfolio(pf.accounts, pf.interactions, pf.payments, pf.history, currency="CNY"),
                  AS_OF).set_index("account_id")
    chf = segment(playbook.Portfolio(pf.accounts, pf.interactions, pf.payments, pf.history, currency="CHF"),
                  AS_OF).set_index("account_id")
    assert cny.loc["earner", "behaviour_type"] == "defiant"
    assert "defiant_high_income" in cny.loc["earner", "type_cues"]
    assert chf.loc["earner", "behaviour_type"] == "stubborn"
    assert "defiant" not in str(chf.loc["earner", "type_cues"])


def test_ability_is_read_against_what_is_owed():
    """The same income is money to one debtor and not to another: a month's income three times
    the balance is full evidence of ability, a quarter of it none; the reason names the values."""
    out = ["refuse", "refuse", "rpc", "refuse"]
    pf = tiny_portfolio([{"account_id": "small_debt", "dpd": 60, "monthly_income": 9000.0, "balance": 3000.0},
                         {"account_id": "large_debt", "dpd": 60, "monthly_income": 9000.0, "balance": 36000.0}],
                        calls("small_debt", "2026-11-20", out) + calls("large_debt", "2026-11-20", out))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["small_debt", "behaviour_type"] == "defiant"
    assert "defiant_able_refuses" in seg.loc["small_debt", "type_cues"]
    assert seg.loc["large_debt", "behaviour_type"] == "stubborn"
    assert "defiant" not in str(seg.loc["large_debt", "type_cues"])
    feats = derive_features(pf, AS_OF)
    e = explain_type(seg.reset_index(), feats, "small_debt", "en")
    able = next(c for c in e["cues"] if c["id"] == "defiant_able_refuses")
    assert able["values"]["monthly_income"] == 9000.0 and able["values"]["balance"] == 3000.0
    assert "Monthly income 9,000 CNY" in e["text"] and "Balance 3,000 CNY" in e["text"]


def test_ability_alone_is_no_defiant_stance():
    """自信型 is money plus a stance (我手里一直有钱 ... 奈何不了我; options offered are not taken):
    'able yet not paying' counts when most conversations refuse, commit to nothing or claim money,
    not for an able debtor who puts the collector off or blames the lender."""
    able = {"dpd": 60, "monthly_income": 9000.0, "balance": 3000.0}
    pf = tiny_portfolio([{"account_id": "stance", **able}, {"account_id": "put_off", **able}],
                        calls("stance", "2026-11-20", ["rpc", "rpc", "refuse", "callback"])
                        + calls("put_off", "2026-11-20", ["callback", "callback", "dispute", "rpc"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    feats = derive_features(pf, AS_OF)
    assert feats.loc["stance", ["refuse_share", "no_outcome_share"]].sum() == 0.75
    assert feats.loc["put_off", ["refuse_share", "no_outcome_share", "claims_money_share"]].sum() == 0.25
    assert seg.loc["stance", "behaviour_type"] == "defiant" and "defiant_able_not_paying" in seg.loc["stance", "type_cues"]
    assert seg.loc["put_off", "behaviour_type"] in ("evasive", "victim")
    assert seg.loc["put_off", "runner_up"] != "defiant"  # no defiant evidence at all


def test_a_polite_composed_dispute_is_not_the_victims():
    """受害型 has to be calmed first (安抚其冷静后); 老练型 is 非常友好. The same disputes and plan
    request are the victim's when upset and not when polite and composed throughout (a system
    without fee_dispute codes the sophisticated's challenges as disputes)."""
    out = ["dispute", "dispute", "plan_request", "plan_request"]
    pf = tiny_portfolio([{"account_id": "upset", "dpd": 60}, {"account_id": "polite", "dpd": 60}],
                        calls("upset", "2026-11-20", out) + calls("polite", "2026-11-20", out))
    pf = _with_notes(pf, [None] * 8, ["upset"] * 4 + ["polite"] * 4)
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["upset", "behaviour_type"] == "victim"
    assert seg.loc["polite", "behaviour_type"] == "sophisticated"
    # victim: blame 3 x 1 + accepts a plan 1 x 1 - composed 1.5 x min(polite share 1 x 3, 1) (4.0 without it)
    assert seg.loc["polite", "runner_up"] == "victim" and seg.loc["polite", "runner_up_score"] == 2.5


def test_a_polite_friendly_manner_is_not_the_defiants():
    """自信型 boasts and challenges (我手里一直有钱,你们不上征信也奈何不了我); 老练型 is 非常友好. The
    same talk without an outcome from an able debtor loses 1.0 on defiant when polite throughout."""
    acc = {"dpd": 60, "monthly_income": 4500.0, "balance": 3000.0}
    pf = tiny_portfolio([{"account_id": a, **acc} for a in ("calm", "polite")],
                        [c for a in ("calm", "polite") for c in calls(a, "2026-11-20", ["rpc"] * 4)])
    pf = _with_notes(pf, [None] * 8, ["calm"] * 4 + ["polite"] * 4)
    seg = segment(pf, AS_OF).set_index("account_id")
    # talks 2 x 1 + able yet not paying 3 x (4,500 / 3,000 - 1) / 2
    assert seg.loc["calm", "behaviour_type"] == "defiant" and seg.loc["calm", "type_score"] == pytest.approx(2.75)
    assert seg.loc["polite", "behaviour_type"] == "defiant" and seg.loc["polite", "type_score"] == pytest.approx(1.75)


def test_an_angry_or_evasive_manner_is_not_the_defiants():
    """自信型 says it openly (我手里一直有钱,你们不上征信也奈何不了我); anger (别烦我) is the hostile's
    manner, vagueness (顾左右而言他) the evasive's and being upset (安抚其冷静) the victim's. The same
    talk without an outcome from the same debtor is defiant when calm, and loses 1.5 on defiant when
    angry (then hostile), evasive or upset (then victim)."""
    acc = {"dpd": 60, "monthly_income": 4500.0, "balance": 3000.0}
    ids = ("calm", "angry", "vague", "upset")
    pf = tiny_portfolio([{"account_id": a, **acc} for a in ids],
                        [c for a in ids for c in calls(a, "2026-11-20", ["rpc"] * 4)])
    pf = _with_notes(pf, [None] * 16, ["calm"] * 4 + ["angry"] * 4 + ["evasive"] * 4 + ["upset"] * 4)
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg.loc["calm", "behaviour_type"] == "defiant"
    calm = seg.loc["calm", "type_score"]
    # talks 2 x 1 + able yet not paying 3 x (4,500 / 3,000 - 1) / 2
    assert calm == pytest.approx(2.75)
    assert seg.loc["angry", "behaviour_type"] == "hostile"
    assert seg.loc["angry", "runner_up"] == "defiant" and seg.loc["angry", "runner_up_score"] == pytest.approx(calm - 1.5)
    # every call answered: not the hard-to-reach evasive either, so still defiant, with less evidence
    assert seg.loc["vague", "behaviour_type"] == "defiant" and seg.loc["vague", "type_score"] == pytest.approx(calm - 1.5)
    # upset, to be calmed first (安抚其冷静), is the victim's manner: the same 1.5 off defiant, and victim
    assert seg.loc["upset", "behaviour_type"] == "victim"
    assert seg.loc["upset", "runner_up"] == "defiant" and seg.loc["upset", "runner_up_score"] == pytest.approx(calm - 1.5)


def _reasons_book():
    """Accounts whose reasons a collector relies on: income above CNY 10,000 but below the
    balance (the cue fires on the income alone), never reached, promises all broken, an
    evasive debtor most of whose calls are answered, a hang-up cue stronger than a heavier
    one, and a refusing gate."""
    acc = [{"account_id": "earner", "dpd": 60, "monthly_income": 19490.0, "balance": 69086.0},
           {"account_id": "unreached", "dpd": 45}, {"account_id": "broken", "dpd": 20},
           {"account_id": "answers", "dpd": 45}, {"account_id": "hangs_up", "dpd": 45},
           {"account_id": "gate", "dpd": 150}]
    its = (calls("earner", "2026-11-20", ["refuse", "refuse", "rpc", "refuse"])
           + calls("unreached", "2026-11-20", ["no_answer"] * 5)
           + calls("broken", "2026-11-10", ["ptp", "ptp", "ptp"], ptp_amount=100.0, ptp_date="2026-11-12")
           + calls("answers", "2026-11-20", ["callback", "callback", "no_answer", "no_answer"])
           + calls("hangs_up", "2026-11-20", ["hostile", "hang_up_after_id", "hang_up_after_id", "rpc", "rpc", "rpc"])
           + calls("gate", "2026-11-20", ["refuse"] * 6))
    pf = tiny_portfolio(acc, its)
    return segment(pf, AS_OF), derive_features(pf, AS_OF)


def test_a_cue_fired_on_absolute_income_is_not_read_as_income_above_the_balance():
    seg, f = _reasons_book()
    pb = playbook.load_playbook()
    for lang, either in (("zh", "或"), ("en", " or ")):
        e = explain_type(seg, f, "earner", lang)
        assert e["type"] == "defiant" and e["cues"]
        for c in e["cues"]:
            balance_claim = "欠款余额" in c["text"] if lang == "zh" else "the balance" in c["text"]
            if balance_claim:  # the income (19,490) is below the balance: only ever one reading of an OR
                assert either in c["text"], c["text"]
        assert "3倍" not in e["text"] and "surest" not in e["text"] and "halved" not in e["text"]
        # the converted income is the same number in a CNY book: said once; a gate is not a value
        assert pb.features["monthly_income_ref"].name(lang) not in e["text"]
        assert pb.features["monthly_income"].name(lang) + " 19,490" in e["text"]


def test_zero_values_that_are_the_key_fact_are_shown():
    seg, f = _reasons_book()
    en = explain_type(seg, f, "unreached", "en")["text"]
    assert "Right-party contacts 0" in en
    broken = explain_type(seg, f, "broken", "en")
    assert broken["type"] == "serial_promiser" and "Promise kept rate 0%" in broken["text"]
    assert "承诺兑现率 0%" in explain_type(seg, f, "broken", "zh")["text"]


def test_counter_evidence_is_listed_with_its_value_and_the_cues_add_up_to_the_score():
    seg, f = _reasons_book()
    e = explain_type(seg, f, "answers", "en")
    assert e["type"] == "evasive" and [c["id"] for c in e["against"]] == ["evasive_answers_often"]
    assert "Against: Calls often reach the debtor (Right-party contact rate 50%)" in e["text"]
    assert sum(c["strength"] for c in e["cues"] + e["against"]) == pytest.approx(e["score"], abs=0.01)
    assert "反证：呼叫常能接通本人（本人接通率 50%）" in explain_type(seg, f, "answers", "zh")["text"]
    assert "evasive_answers_often" not in seg.set_index("account_id").loc["answers", "type_cues"]  # the column is unchanged


def test_the_strongest_cue_comes_first_not_the_heaviest():
    from playbook.reasons import type_text

    seg, f = _reasons_book()
    e = explain_type(seg, f, "hangs_up", "en")
    ids = [c["id"] for c in e["cues"]]
    card = playbook.load_playbook().scorecards["behaviour_type"]
    weight = {c.id: c.weight for c in card.types["hostile"]}
    assert ids == ["hostile_hang_up", "hostile_abuse"] and weight["hostile_abuse"] > weight["hostile_hang_up"]
    short = type_text(seg, f, "hangs_up", "en", most=1)
    assert short.startswith("Hostile: Hangs up on the collector") and "1 more cue;" in short and "1 more cues" not in short


def test_explain_type_text_reads_as_the_worklist_in_zh():
    from playbook.reasons import type_text

    seg, f = _reasons_book()
    pb = playbook.load_playbook()
    for aid in seg["account_id"]:
        e = explain_type(seg, f, aid, "zh")
        assert e["text"] == type_text(seg, f, aid, "zh")
        assert "_" not in e["text"] and "=" not in e["text"], e["text"]
        assert not any(fid in e["text"] for fid in pb.features), e["text"]
        assert "次可能" not in e["text"]
    gate = explain_type(seg, f, "gate", "zh")
    assert gate["type"] == "refusing" and gate["text"] == "拒绝还款型：本人接通6次，拒绝占100%；逾期150天，分文未还，从未承诺"
