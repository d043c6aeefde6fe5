from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.compliance import (ComplianceConfigError, check_compliance, headroom, lint_text, strategy_verdict,
                                 tighten)

from .helpers import calls, tiny_portfolio


def _rules(result) -> list[str]:
    return list(result.violations["rule"])


def _one(account: str, ts: str, **kw) -> dict:
    return {"account_id": account, "ts": ts, "outcome": kw.pop("outcome", "no_answer"), **kw}


def test_quiet_hours_boundary_2159_vs_2200():
    pf = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-11-20 21:59:00"), _one("A", "2026-11-21 22:00:00"),
                                                _one("A", "2026-11-22 07:59:00"), _one("A", "2026-11-23 08:00:00")])
    v = check_compliance(pf, "cn").violations
    assert list(v["rule"]) == ["cn_quiet_hours", "cn_quiet_hours"]
    assert list(v["ts"]) == ["2026-11-21 22:00 Asia/Shanghai", "2026-11-22 07:59 Asia/Shanghai"]


def test_sixth_vs_seventh_unanswered_attempt():
    six = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-20", ["no_answer"] * 6))
    seven = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-20", ["no_answer"] * 6 + ["busy"]))
    assert check_compliance(six, "cn").ok
    v = check_compliance(seven, "cn").violations
    assert _rules(check_compliance(seven, "cn")) == ["cn_unanswered_calls"]
    assert "no. 7" in v["detail"].iloc[0]
    # answered calls do not count towards the unanswered limit; a new day starts afresh
    mixed = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-20", ["no_answer"] * 6 + ["rpc"])
                           + calls("A", "2026-11-21", ["no_answer"]))
    assert check_compliance(mixed, "cn").ok


def test_seven_vs_eight_calls_in_a_rolling_week():
    days = [f"2026-11-{d:02d} 10:00:00" for d in range(1, 9)]  # one unanswered call a day
    seven = tiny_portfolio([{"account_id": "A"}], [_one("A", d) for d in days[:7]])
    eight_spread = tiny_portfolio([{"account_id": "A"}], [_one("A", d) for d in days])  # day 1 falls out of the window
    eight_in_week = tiny_portfolio([{"account_id": "A"}], [_one("A", d) for d in days[:7]] + [_one("A", "2026-11-07 15:00:00")])
    assert check_compliance(seven, "us").ok
    assert check_compliance(eight_spread, "us").ok
    assert _rules(check_compliance(eight_in_week, "us")) == ["us_seven_in_seven"]


def test_no_call_within_seven_days_after_a_conversation():
    pf = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-11-01 10:00:00", outcome="rpc"),
                                                _one("A", "2026-11-08 09:59:00"), _one("A", "2026-11-08 10:00:00")])
    v = check_compliance(pf, "us").violations
    assert list(v["rule"]) == ["us_after_conversation"] and v["ts"].iloc[0].startswith("2026-11-08 09:59")


def test_dst_transitions_in_a_us_zone():
    acc = [{"account_id": "NY", "timezone": "America/New_York"}]
    # 2026-03-08: clocks go forward. 12:30 UTC is 08:30 EDT (allowed), though 07:30 in standard time.
    spring = tiny_portfolio(acc)
    spring.interactions = pd.DataFrame({"account_id": ["NY"], "ts": [pd.Timestamp("2026-03-08 12:30", tz="UTC")],
                                        "channel": ["call"], "direction": ["outbound"], "party": ["debtor"],
                                        "outcome": ["no_answer"]})
    assert check_compliance(spring, "us").ok
    # 2026-11-01: clocks go back. 12:30 UTC is 07:30 EST (too early), though 08:30 in daylight time.
    fall = tiny_portfolio(acc)
    fall.interactions = spring.interactions.assign(ts=[pd.Timestamp("2026-11-01 12:30", tz="UTC")])
    assert _rules(check_compliance(fall, "us")) == ["us_inconvenient_time"]
    assert check_compliance(fall, "us").violations["ts"].iloc[0] == "2026-11-01 07:30 America/New_York"


def test_third_party_while_reachable_vs_lost():
    tp = {"party": "relative", "outcome": "third_party_contact", "contact_ref": "mother"}
    reachable = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-11-01 10:00:00", outcome="rpc"),
                                                       _one("A", "2026-11-20 10:00:00", **tp)])
    lost = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-09-01 10:00:00", outcome="rpc"),
                                                  _one("A", "2026-11-01 10:00:00"), _one("A", "2026-11-20 10:00:00", **tp)])
    assert _rules(check_compliance(reachable, "cn")) == ["cn_third_party_only_when_lost"]
    assert check_compliance(lost, "cn").ok
    twice = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-11-10 10:00:00", **tp), _one("A", "2026-11-20 10:00:00", **tp)])
    assert _rules(check_compliance(twice, "us")) == ["us_third_party_location_once"]


def test_one_violation_of_each_cn_rule_and_a_clean_log():
    log = (calls("Q", "2026-11-20", ["no_answer"]) + [_one("Q", "2026-11-21 23:15:00")]                   # quiet hours
           + calls("U", "2026-11-20", ["no_answer"] * 7)                                                   # 7th unanswered
           + [_one("T", "2026-11-10 10:00:00", outcome="rpc"),
              _one("T", "2026-11-12 10:00:00", party="relative", outcome="third_party_contact")]            # third party
           + [_one("V", "2026-11-12 10:00:00", channel="visit", outcome="not_home", staff_count=1)]       # one-person visit
           + [_one("S", "2026-11-12 10:00:00", channel="sms", outcome="delivered",
                   message="再不还钱让你同事都知道")])                                                      # workplace exposure
    pf = tiny_portfolio([{"account_id": a} for a in "QUTVS"], log)
    res = check_compliance(pf, "cn")
    assert sorted(_rules(res)) == sorted(["cn_quiet_hours", "cn_unanswered_calls", "cn_third_party_only_when_lost",
                                          "cn_field_visit_two_staff", "cn_no_threats_insults_false_identity"])
    assert res.violations.groupby("rule")["account_id"].first().to_dict() == {
        "cn_quiet_hours": "Q", "cn_unanswered_calls": "U", "cn_third_party_only_when_lost": "T",
        "cn_field_visit_two_staff": "V", "cn_no_threats_insults_false_identity": "S"}
    assert "workplace_exposure" in res.violations.set_index("rule").loc["cn_no_threats_insults_false_identity", "detail"]
    clean = tiny_portfolio([{"account_id": "C"}], calls("C", "2026-11-20", ["no_answer", "rpc"])
                           + [_one("C", "2026-11-22 10:00:00", channel="visit", outcome="not_home", staff_count=2)])
    assert check_compliance(clean, "cn").ok


def test_the_stricter_unverified_setting_is_opt_in():
    pf = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-20", ["rpc", "callback", "ptp", "rpc"]))
    assert check_compliance(pf, "cn").ok
    strict = tighten("cn", {"cn_connected_calls_three": {"enabled": True}})
    assert _rules(check_compliance(pf, strict)) == ["cn_connected_calls_three"]


def test_packs_tighten_but_never_loosen():
    pf = tiny_portfolio([{"account_id": "A"}], calls("A", "2026-11-20", ["no_answer"] * 5))
    assert _rules(check_compliance(pf, tighten("cn", {"cn_unanswered_calls": {"max": 4}}))) == ["cn_unanswered_calls"]
    with pytest.raises(ComplianceConfigError, match="cn_unanswered_calls.max from 6 to 9 would loosen"):
        tighten("cn", {"cn_unanswered_calls": {"max": 9}})
    with pytest.raises(ComplianceConfigError, match="would loosen"):
        tighten("cn", {"cn_quiet_hours": {"start": "23:00"}})
    assert tighten("uk", {"uk_reasonable_hours": {"start": "20:00", "end": "09:00"}}).rule("uk_reasonable_hours").params["start"] == "20:00"
    with pytest.raises(ComplianceConfigError, match="disabling"):
        tighten("us", {"us_seven_in_seven": {"enabled": False}})
    with pytest.raises(playbook.errors.UnknownKeyError, match="known: "):
        tighten("us", {"us_nothing": {"max": 1}})


def test_a_contact_plan_is_checked_against_its_history():
    pf = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-11-28 10:00:00", outcome="rpc")])
    plan = tiny_portfolio([{"account_id": "A"}], [_one("A", "2026-12-01 10:00:00"), _one("A", "2026-12-06 10:00:00"),
                                                  _one("A", "2026-12-06 22:30:00")]).interactions
    res = check_compliance(pf, "us", plan=plan)
    # day 3 after the conversation: too soon; day 8: fine; day 8 at 22:30: too late in the evening
    assert list(zip(res.violations["row"], res.violations["rule"])) == [(0, "us_after_conversation"),
                                                                       (2, "us_inconvenient_time")]
    assert res.checked == 3


def test_headroom_counts_and_next_window():
    pf = tiny_portfolio([{"account_id": "A"}, {"account_id": "B"}], calls("A", "2026-11-28", ["no_answer"] * 5))
    h = headroom(pf, "2026-11-28 16:00", "cn").set_index("account_id")
    assert h.loc["A", "calls_left_today"] == 1 and h.loc["B", "calls_left_today"] == 6
    assert h.loc["A", "window_open_now"]
    night = headroom(pf, "2026-11-28 22:30", "cn").set_index("account_id")
    assert night.loc["B", "calls_left_today"] == 0 and not night.loc["B", "window_open_now"]
    assert night.loc["B", "next_window_opens"] == "2026-11-29 08:00 Asia/Shanghai"
    us = tiny_portfolio([{"account_id": "A", "timezone": "America/New_York"}])
    us.interactions = pd.DataFrame({"account_id": ["A"], "ts": [pd.Timestamp("2026-11-20 15:00", tz="UTC")],
                                    "channel": ["call"], "direction": ["outbound"], "party": ["debtor"], "outcome": ["rpc"]})
    hu = headroom(us, pd.Timestamp("2026-11-23 15:00", tz="UTC"), "us").iloc[0]
    assert hu["calls_left_today"] == 0 and "us_after_conversation" in hu["blocked_by"]
    assert hu["next_window_opens"] == "2026-11-27 10:00 America/New_York"


def test_strategy_calling_at_23_or_asking_relatives_to_pay_is_inadmissible():
    late = {"name": "late", "rules": [{"when": "True", "treatment": {"channels": ["call"], "call_window": ["09:00", "23:00"]}}]}
    v = strategy_verdict(late, "cn")
    assert not v.admissible and v.violations[0]["rule"] == "cn_quiet_hours"
    assert "商业银行" in v.violations[0]["source"] or "指引" in v.violations[0]["source"]
    relatives = {"name": "rel", "rules": [{"when": "contactability == 'semi_lost'", "treatment": {
        "third_party": {"purpose": "pay", "only_when_lost": True}, "script": "找不到他，只能找你来还钱"}}]}
    v = strategy_verdict(relatives, "cn")
    assert not v.admissible
    assert {x["rule"] for x in v.violations} == {"prohibited:pressing_relatives"}
    ok = {"name": "ok", "rules": [{"when": "True", "treatment": {"channels": ["call", "sms"], "call_window": ["09:00", "20:00"],
                                                                "attempts_per_day": 3, "sms_text": "请尽快还款，回复TD退订"}}]}
    assert strategy_verdict(ok, "cn").admissible
    uk = strategy_verdict(ok, "uk")
    assert {x["rule"] for x in uk.violations} == {"uk_forbearance", "uk_vulnerable_path"}


def test_lint_text_in_both_languages():
    assert lint_text("Pay now or your boss will know: we will tell your boss")[0]["practice"] == "workplace_exposure"
    assert lint_text("我是法院的工作人员")[0]["practice"] == "false_identity"
    assert lint_text("您好，提醒您本期账单已过还款日。") == []


@pytest.mark.parametrize("n, seed", [(400, 5), (600, 1), (3000, 7), (1000, 3)])
def test_demo_contains_exactly_the_planted_violations(n, seed):
    """Each pack finds exactly the planted violations, on the planted accounts and nowhere
    else. Seeds 7 (n=3000) and 3 (n=1000) plant an account in 新疆, whose own clock is
    Asia/Urumqi: the scripts run on Beijing time, so the account's table says so too (else
    its 09:00 call is a 07:00 one, a quiet-hours breach the truth does not list)."""
    pf = playbook.demo_portfolio(n, seed, "2026-11-29")
    planted = pf.truth[pf.truth["planted_violations"] != ""]
    zones = pf.accounts.set_index("account_id").loc[planted["account_id"], "timezone"]
    assert set(zones) == {"Asia/Shanghai"}
    for pack in ("cn", "us", "uk"):
        expected = sorted((rule, a) for a, rules in zip(planted["account_id"], planted["planted_violations"])
                          for rule in rules.split(";") if rule.startswith(pack + "_"))
        v = check_compliance(pf, pack).violations
        assert sorted(zip(v["rule"], v["account_id"])) == expected, pack
        assert 3 <= len(v) <= 5


def test_cli_exit_codes_and_json(tmp_path, capsys):
    assert main(["demo-data", "--accounts", "200", "--seed", "4", "--out", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    assert main(["compliance", str(tmp_path / "d"), "--pack", "uk", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert {"rule", "account_id", "ts", "detail"} <= set(body["violations"][0])
    assert body["summary"]["uk_reasonable_hours"] == {**body["summary"]["uk_reasonable_hours"], "violations": 1, "accounts": 1}
    assert main(["compliance", str(tmp_path / "d"), "--pack", "xx"]) == 2
    assert "known: cn, uk, us" in capsys.readouterr().err
    clean = tiny_portfolio([{"account_id": "C"}], calls("C", "2026-11-20", ["no_answer"]))
    from playbook.loading import write_portfolio
    write_portfolio(clean, tmp_path / "clean", fmt="csv")
    assert main(["compliance", str(tmp_path / "clean")]) == 0
    plan = tmp_path / "plan.csv"
    pd.DataFrame({"account_id": ["C"], "ts": ["2026-12-01 23:00:00"], "channel": ["call"], "direction": ["outbound"],
                  "party": ["debtor"], "outcome": ["no_answer"]}).to_csv(plan, index=False)
    assert main(["compliance", str(tmp_path / "clean"), "--plan", str(plan)]) == 1
    assert "cn_quiet_hours" in capsys.readouterr().out
    pd.DataFrame({"account_id": ["C"], "ts": ["soon"], "channel": ["call"], "direction": ["outbound"],
                  "party": ["debtor"], "outcome": ["no_answer"]}).to_csv(plan, index=False)
    assert main(["compliance", str(tmp_path / "clean"), "--plan", str(plan)]) == 2


def test_calls_left_today_counts_a_window_that_opens_later_today_in_the_debtors_zone():
    pf = tiny_portfolio([{"account_id": "U", "timezone": "Asia/Urumqi"}, {"account_id": "S"}])
    # 09:00 in Shanghai is 07:00 in Urumqi: the window opens at 08:00 local, so today's calls are still to come
    h = headroom(pf, "2026-11-28 09:00", "cn").set_index("account_id")
    assert not h.loc["U", "window_open_now"] and h.loc["U", "calls_left_today"] == 6
    assert h.loc["U", "next_window_opens"] == "2026-11-28 08:00 Asia/Urumqi"
    assert h.loc["U", "blocked_by"] == ""
    assert h.loc["S", "window_open_now"] and h.loc["S", "calls_left_today"] == 6
    late = headroom(pf, "2026-11-28 23:30", "cn").set_index("account_id")  # 21:30 in Urumqi: still open there
    assert late.loc["U", "window_open_now"] and late.loc["U", "calls_left_today"] == 6
    assert late.loc["S", "calls_left_today"] == 0 and "cn_quiet_hours" in late.loc["S", "blocked_by"]


def test_a_pack_from_another_continent_than_the_portfolio_is_warned_about(tmp_path):
    from playbook.compliance import zone_warning

    assert zone_warning("cn", "Asia/Urumqi") is None and zone_warning("us", "America/Los_Angeles") is None
    for lang in ("zh", "en"):
        text = zone_warning("cn", "America/Los_Angeles", lang)
        assert "America/Los_Angeles" in text and "Asia/Shanghai" in text and "--pack" in text
    assert "Europe/London" in zone_warning("uk", "Asia/Shanghai")


# ---------------------------------------------------------------- details in Chinese as well as English

_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMBER = re.compile(r"\d+(?:[.:]\d+)*")


def _numbers(text: str) -> list[str]:
    return sorted(_NUMBER.findall(text))


def _own_words(text: str, *drop: str) -> str:
    """``text`` without the parts it quotes (rule texts, times with their zone, citations)."""
    for d in drop:
        text = text.replace(d, "")
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Za-z_/]+", "", text)


def _assert_worded_alike(en: str, zh: str, *quoted: str) -> None:
    """The Chinese detail names the same numbers as the English one, in Chinese words with
    full-width punctuation (no English word or half-width ``;:(),`` of its own), and with no
    space between a number and the Chinese around it (第7次, as 逾期11天 elsewhere)."""
    assert _numbers(en) == _numbers(zh), (en, zh)
    own = _own_words(zh, *quoted)
    assert _CJK.search(own), zh
    assert not re.search(r"[A-Za-z]{2,}", own), zh
    assert not re.search(r"[;,()]|:(?!\d)", own), zh
    assert not re.search(r"[\u4e00-\u9fff（），：；“”] \d|\d [\u4e00-\u9fff（），：；“”]", own), zh


def test_violation_details_are_worded_in_chinese_with_the_same_numbers():
    pb = playbook.load_playbook()
    pack = pb.pack("cn")
    log = ([_one("Q", "2026-11-21 22:30:00")]                                                     # quiet hours
           + calls("U", "2026-11-20", ["no_answer"] * 7)                                           # 7th unanswered call
           + [_one("T", "2026-11-01 10:00:00", outcome="rpc"),                                     # third party while
              _one("T", "2026-11-11 10:00:00", party="relative", outcome="third_party_contact")]   # reachable (10 days)
           + [_one("S", "2026-11-12 10:00:00", channel="sms", outcome="delivered", message="逾期不还后果自负")]
           + [_one("V", "2026-11-12 10:00:00", channel="visit", outcome="not_home", staff_count=1)])
    res = check_compliance(tiny_portfolio([{"account_id": a} for a in "QUTSV"], log), "cn")
    v = res.violations.set_index("rule")
    assert list(res.violations.columns) == ["rule", "row", "account_id", "ts", "detail", "detail_zh", "source"]

    quiet = v.loc["cn_quiet_hours"]
    assert quiet["detail"] == "call at 2026-11-21 22:30 Asia/Shanghai; contact is allowed 08:00-22:00 local time"
    assert quiet["detail_zh"] == "电话联系时间为2026-11-21 22:30 Asia/Shanghai；仅允许在当地时间08:00-22:00联系"
    _assert_worded_alike(quiet["detail"], quiet["detail_zh"])

    calls7 = v.loc["cn_unanswered_calls"]
    assert "no. 7" in calls7["detail"] and "第7次" in calls7["detail_zh"] and "上限6次" in calls7["detail_zh"]
    _assert_worded_alike(calls7["detail"], calls7["detail_zh"])

    lost = pack.rule("cn_third_party_only_when_lost").text
    third = v.loc["cn_third_party_only_when_lost"]
    assert "10天前" in third["detail_zh"] and third["detail_zh"].endswith("：" + lost.zh)
    assert "(debtor reached 10 days earlier;" in third["detail"]  # a whole number of days: no ".0"
    _assert_worded_alike(third["detail"], third["detail_zh"], lost.en, lost.zh)

    threat = v.loc["cn_no_threats_insults_false_identity"]
    name = next(p.name for p in pb.prohibited if p.id == "threats")
    assert "'threats'" in threat["detail"] and "threats" not in threat["detail_zh"]
    assert f"“{name.zh}”" in threat["detail_zh"] and "“后果自负”" in threat["detail_zh"]
    cite = threat["detail"].split("source: ", 1)[1]
    assert threat["detail_zh"].endswith("依据：" + cite)
    _assert_worded_alike(threat["detail"], threat["detail_zh"], cite, "“后果自负”")

    visit = v.loc["cn_field_visit_two_staff"]
    assert visit["detail_zh"] == "上门外访仅1人（至少应有2人）"
    _assert_worded_alike(visit["detail"], visit["detail_zh"])
    # the JSON result carries both
    assert {x["detail_zh"] for x in res.to_dict()["violations"]} == set(res.violations["detail_zh"])


def test_third_party_details_name_the_person_in_chinese():
    log = [_one("P", f"2026-11-{d:02d} 10:00:00", party="relative", outcome="third_party_contact") for d in (1, 2)]
    log += [_one("R", "2026-11-01 10:00:00", party="colleague", contact_ref="李四", outcome="opt_out"),
            _one("R", "2026-11-03 10:00:00", party="colleague", contact_ref="李四", outcome="third_party_contact")]
    v = check_compliance(tiny_portfolio([{"account_id": "P"}, {"account_id": "R"}], log), "us").violations
    once = v[v["rule"] == "us_third_party_location_once"].iloc[0]
    assert once["detail"].startswith("contact no. 2 with the same third party relative (at most 1")
    assert once["detail_zh"].startswith("第2次联系同一第三方“亲属”（至多1次")
    _assert_worded_alike(once["detail"], once["detail_zh"])


def test_strategy_and_content_findings_are_worded_in_both_languages():
    pb = playbook.load_playbook()
    late = {"name": "late", "rules": [{"when": "True", "treatment": {
        "channels": ["call"], "call_window": ["09:00", "23:00"], "attempts_per_day": 9}}]}
    v = strategy_verdict(late, "cn")
    found = {x["rule"]: x for x in v.violations}
    assert {"cn_quiet_hours", "cn_unanswered_calls"} <= set(found)
    for rid, x in found.items():
        text = pb.pack("cn").rule(rid).text
        assert x["detail"].endswith(": " + text.en) and x["detail_zh"].endswith("：" + text.zh)
        _assert_worded_alike(x["detail"], x["detail_zh"], text.en, text.zh)
    assert "09:00-23:00" in found["cn_quiet_hours"]["detail_zh"] and "22:00-08:00" in found["cn_quiet_hours"]["detail_zh"]
    assert found["cn_unanswered_calls"]["detail_zh"].startswith("每天呼叫9次，超过上限6次")

    uk = {"name": "uk", "rules": [{"when": "True", "treatment": {"channels": ["call"]}}]}
    for x in strategy_verdict(uk, "uk").violations:  # forbearance, and the vulnerable path (a strategy finding)
        text = pb.pack("uk").rule(x["rule"]).text
        _assert_worded_alike(x["detail"], x["detail_zh"], text.en, text.zh)
    relatives = {"name": "rel", "rules": [{"when": "True", "treatment": {
        "third_party": {"purpose": "pay", "only_when_lost": True}, "script": "找不到他，只能找你来还钱"}}]}
    zh = sorted(x["detail_zh"] for x in strategy_verdict(relatives, "cn").violations)
    assert zh[0].startswith("只能向第三方询问联系方式，不得要求其还款（")
    assert zh[1].startswith("话术使用了禁止的做法（向亲属施压要求代还）：“只能找你来还”。")


def test_cli_compliance_prints_details_in_the_language_asked_for(tmp_path, capsys):
    from playbook.loading import write_portfolio

    write_portfolio(tiny_portfolio([{"account_id": "U"}], calls("U", "2026-11-20", ["no_answer"] * 7)), tmp_path / "d",
                    fmt="csv")
    assert main(["compliance", str(tmp_path / "d"), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "cn_unanswered_calls：U，2026-11-20 15:00 Asia/Shanghai：当天对同一号码的第7次未接通呼叫（上限6次）" in out
    assert "unanswered call attempt" not in out
    assert main(["compliance", str(tmp_path / "d"), "--lang", "en"]) == 1
    assert "unanswered call attempt no. 7 today" in capsys.readouterr().out


def test_days_between_contacts_read_whole_or_with_one_decimal():
    """A gap of a whole number of days reads 5天 / 5 days (1 day), any other keeps one decimal."""
    log = []
    for acc, rpc, third in (("A", "2026-11-01 10:00:00", "2026-11-06 10:00:00"),   # 5 days
                            ("B", "2026-11-01 10:00:00", "2026-11-06 14:48:00"),   # 5.2 days
                            ("C", "2026-11-01 10:00:00", "2026-11-02 10:00:00")):  # 1 day
        log += [_one(acc, rpc, outcome="rpc"), _one(acc, third, party="relative", outcome="third_party_contact")]
    v = check_compliance(tiny_portfolio([{"account_id": a} for a in "ABC"], log), "cn").violations
    v = v[v["rule"] == "cn_third_party_only_when_lost"].set_index("account_id")
    said = {a: (v.loc[a, "detail"].split("(debtor reached ")[1].split(" earlier")[0], v.loc[a, "detail_zh"].split("（")[1].split("前")[0])
            for a in "ABC"}
    assert said == {"A": ("5 days", "5天"), "B": ("5.2 days", "5.2天"), "C": ("1 day", "1天")}
    for a in "ABC":
        _assert_worded_alike(v.loc[a, "detail"], v.loc[a, "detail_zh"])


def test_cli_compliance_in_chinese_uses_full_width_colons_and_says_the_moment_once(tmp_path, capsys):
    from playbook.loading import write_portfolio

    log = [_one("Q", "2026-11-21 22:30:00")] + calls("U", "2026-11-20", ["no_answer"] * 7)
    write_portfolio(tiny_portfolio([{"account_id": "Q"}, {"account_id": "U"}], log), tmp_path / "d", fmt="csv")
    assert main(["compliance", str(tmp_path / "d"), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "\n无法从联系记录检查（制度要求）：\n" in out and "\n违规明细：\n" in out
    assert "  cn_records_two_years：催收过程须记录并至少保存2年（" in out
    # quiet hours: the detail names the moment, so the line does not say it before it again
    assert "  cn_quiet_hours：Q，电话联系时间为2026-11-21 22:30 Asia/Shanghai；仅允许在当地时间08:00-22:00联系\n" in out
    assert out.count("2026-11-21 22:30") == 1
    listed = out.split("违规明细：")[1]
    assert not re.search(r"[\u4e00-\u9fff] \d|\d [\u4e00-\u9fff]", listed), listed
    assert ":\n" not in out and ": " not in listed
    assert main(["compliance", str(tmp_path / "d"), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "\nnot checkable from a contact log (policy):\n" in out and "\nViolations:\n" in out
    assert "  cn_quiet_hours: Q: call at 2026-11-21 22:30 Asia/Shanghai; contact is allowed 08:00-22:00 local time\n" in out
    assert "  cn_unanswered_calls: U at 2026-11-20 15:00 Asia/Shanghai: unanswered call attempt no. 7 today" in out
