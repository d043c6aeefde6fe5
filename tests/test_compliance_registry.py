"""Check types as registered objects, validated packs, and compliance work computed once."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import Field

import playbook
from playbook.arrays import previous_time
from playbook.compliance import (CheckParams, CheckType, ComplianceConfigError, UnknownTimezoneError, check_compliance,
                                 get_check, get_pack, headroom, lint_text, register_check, registered_check,
                                 strategy_verdict, tighten, unregister_check)
from playbook.errors import ArgumentError, ContentError, PlaybookError, UnknownKeyError
from playbook.prepared import prepare
from playbook.strategy import StrategyRules, get_strategy

from .helpers import calls, tiny_portfolio


# ---------------------------------------------------------------- a check type from outside the package


class Gap(CheckParams):
    minutes: int = Field(ge=1)


class MinimumCallGap(CheckType):
    """A house rule: at least ``minutes`` between two outbound calls to the same account."""

    name = "minimum_call_gap"
    Params = Gap
    stricter = {"minutes": "higher"}

    def find(self, events, rule, params):
        f = events.frame
        is_call = f["is_call"].to_numpy()
        prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), is_call)
        gap = f["t"].to_numpy() - prev
        hit = is_call & (prev >= 0) & (gap < params.minutes * 60)
        return events.violations(rule, hit, lambda i: [f"call {g // 60} minutes after the last one" for g in gap[i]])

    def limit(self, room, rule, params):
        last = room.last(room.events["is_call"].to_numpy())
        until = last + params.minutes * 60
        room.wait((last >= 0) & (until > room.now_s), until, rule.id)

    def treatment_problems(self, treatment, rule, params):
        start, end = treatment.call_window or ("08:00", "22:00")
        minutes = (int(end[:2]) * 60 + int(end[3:])) - (int(start[:2]) * 60 + int(start[3:]))
        if treatment.attempts_per_day * params.minutes <= minutes:
            return []
        return [f"{treatment.attempts_per_day} calls do not fit in {start}-{end} {params.minutes} minutes apart"]


GAP_RULE = {"id": "house_call_gap", "check": "minimum_call_gap", "source": "house rule 7",
            "text": {"zh": "两次呼叫至少间隔两小时", "en": "At least two hours between two calls"},
            "params": {"minutes": 120}}


@pytest.fixture()
def gap_check():
    with registered_check(MinimumCallGap) as check:
        yield check


def test_a_check_type_registered_from_outside_is_used_everywhere(gap_check):
    pack = tighten("cn", {}, add=[GAP_RULE])
    assert pack.rule("house_call_gap").params == {"minutes": 120}
    # A: calls an hour apart (09:00, 10:00); B: one call a day
    pf = tiny_portfolio([{"account_id": "A"}, {"account_id": "B"}],
                        calls("A", "2026-11-20", ["no_answer", "no_answer"]) + calls("B", "2026-11-19", ["no_answer"]))
    res = check_compliance(pf, pack)
    assert list(zip(res.violations["rule"], res.violations["account_id"], res.violations["row"])) == [
        ("house_call_gap", "A", 1)]
    assert res.violations["detail"].iloc[0] == "call 60 minutes after the last one"
    # a type that words its details in one language only fills both columns with them
    assert res.violations["detail_zh"].iloc[0] == "call 60 minutes after the last one"
    assert check_compliance(pf, "cn").ok  # the shipped pack does not have the rule
    row = res.summary.set_index("rule").loc["house_call_gap"]
    assert (row["violations"], row["accounts"], row["checked_in_logs"], row["source"]) == (1, 1, True, "house rule 7")

    room = headroom(pf, "2026-11-20 10:30", pack).set_index("account_id")
    assert room.loc["A", "calls_left_today"] == 0 and room.loc["A", "blocked_by"] == "house_call_gap"
    assert room.loc["A", "next_window_opens"] == "2026-11-20 12:00 Asia/Shanghai"
    assert room.loc["B", "calls_left_today"] == 6 and room.loc["B", "blocked_by"] == ""

    squeezed = {"name": "squeezed", "rules": [{"when": "True", "treatment": {
        "channels": ["call"], "call_window": ["09:00", "12:00"], "attempts_per_day": 3}}]}
    v = strategy_verdict(squeezed, pack)
    assert [(x["rule"], x["source"], x["where"]) for x in v.violations] == [
        ("house_call_gap", "house rule 7", "rules[0] (when: True)")]
    assert v.violations[0]["detail_zh"] == v.violations[0]["detail"] == "3 calls do not fit in 09:00-12:00 120 minutes apart"
    assert strategy_verdict(squeezed, "cn").admissible

    # the type's own ordering decides what loosens the added rule
    assert tighten(pack, {"house_call_gap": {"minutes": 180}}).rule("house_call_gap").params == {"minutes": 180}
    with pytest.raises(ComplianceConfigError, match="house_call_gap.minutes from 120 to 60 would loosen"):
        tighten(pack, {"house_call_gap": {"minutes": 60}})


def test_registration_is_undone_and_lookups_list_the_known_types():
    with registered_check(MinimumCallGap):
        pack = tighten("cn", {}, add=[GAP_RULE])
        assert isinstance(get_check("minimum_call_gap"), MinimumCallGap)
    with pytest.raises(UnknownKeyError, match="unknown compliance check type 'minimum_call_gap'; known: .*quiet_hours"):
        get_check("minimum_call_gap")
    # a pack that still names the type is now invalid, and says where
    with pytest.raises(ContentError) as err:
        get_pack(pack)
    n = len(get_pack("cn").rules)
    assert err.value.problems[0][:3] == ("compliance/cn.yaml", f"pack.rules[{n}] (id: house_call_gap)", "check")
    register_check(MinimumCallGap)
    try:
        assert check_compliance(tiny_portfolio([{"account_id": "A"}]), pack).ok
        with pytest.raises(ArgumentError):
            register_check("minimum_call_gap")
    finally:
        unregister_check("minimum_call_gap")
    with pytest.raises(UnknownKeyError):
        unregister_check("minimum_call_gap")


def test_added_rules_are_validated_like_pack_rules(gap_check):
    with pytest.raises(ContentError) as err:
        tighten("cn", {}, add=[{**GAP_RULE, "params": {"minutes": 0}}, {**GAP_RULE, "id": "x", "check": "nope"},
                               {**GAP_RULE, "id": "cn_quiet_hours"}])
    problems = [p[1:3] for p in err.value.problems]
    assert problems == [("add[0] (id: house_call_gap)", "params.minutes"), ("add[1] (id: x)", "check"),
                        ("add[2] (id: cn_quiet_hours)", "id")]
    with pytest.raises(ComplianceConfigError, match="no parameter 'hours'"):
        tighten("cn", {"cn_unanswered_calls": {"hours": 2}})
    with pytest.raises(ComplianceConfigError, match="cn_unanswered_calls.max"):
        tighten("cn", {"cn_unanswered_calls": {"max": "many"}})


# ---------------------------------------------------------------- pack validation


def test_every_shipped_pack_validates():
    pb = playbook.load_playbook()
    assert set(pb.packs) == {"cn", "us", "uk"}
    for pid, pack in pb.packs.items():
        checked = get_pack(pid)
        assert [r.id for r in checked.rules] == [r.id for r in pack.rules]
        for rule in checked.rules:
            get_check(rule.check).parse(rule.params)
        assert get_pack(pid) is checked  # validated once, then cached


def test_a_bad_parameter_or_unknown_check_in_content_is_a_content_error(content_copy):
    path = content_copy / "compliance" / "cn.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("params: {max: 6}", "params: {max: -1, hours: 2}").replace("check: visit_staff", "check: visits")
    path.write_text(text, encoding="utf-8")
    pb = playbook.load_playbook(content_copy)  # the content layer does not know the check types
    with pytest.raises(ContentError) as err:
        get_pack("cn", pb)
    assert sorted(p[:3] for p in err.value.problems) == [
        ("compliance/cn.yaml", "pack.rules[1] (id: cn_unanswered_calls)", "params.hours"),
        ("compliance/cn.yaml", "pack.rules[1] (id: cn_unanswered_calls)", "params.max"),
        ("compliance/cn.yaml", f"pack.rules[{[r.id for r in pb.pack('cn').rules].index('cn_field_visit_two_staff')}] "
                               "(id: cn_field_visit_two_staff)", "check"),
    ]
    assert "known: " in dict(((p[2], p[3]) for p in err.value.problems))["check"]
    assert err.value.exit_code == 2
    pf = tiny_portfolio([{"account_id": "A"}])
    with pytest.raises(ContentError):
        check_compliance(pf, "cn", playbook=pb)
    get_pack("us", pb)  # the other packs are unaffected


# ---------------------------------------------------------------- computed once, since


def test_a_prepared_bundle_gives_the_same_results_and_prepares_events_once(monkeypatch):
    pf = playbook.demo_portfolio(300, 5, "2026-11-29")
    expected = {p: check_compliance(pf, p).violations for p in ("cn", "us")}
    room = headroom(pf, "2026-11-29 10:00", "cn")
    import playbook.compliance.events as events

    calls_made = []
    real = events.prepare_events
    monkeypatch.setattr(events, "prepare_events", lambda *a, **k: calls_made.append(a[2]) or real(*a, **k))
    prep = prepare(pf, "2026-11-29")
    pd.testing.assert_frame_equal(check_compliance(prep, "cn").violations, expected["cn"])
    pd.testing.assert_frame_equal(check_compliance(prep, tighten("cn", {})).violations, expected["cn"])
    pd.testing.assert_frame_equal(headroom(prep, "2026-11-29 10:00", "cn"), room)
    assert calls_made == ["Asia/Shanghai"]  # one preparation for three uses sharing a default zone
    pd.testing.assert_frame_equal(check_compliance(prep, "us").violations, expected["us"])
    assert calls_made == ["Asia/Shanghai", "America/New_York"]
    assert sorted(k[1] for k in prep._memo if isinstance(k, tuple) and k[0] == "compliance_events") == [
        "America/New_York", "Asia/Shanghai"]


def test_since_reports_recent_violations_with_earlier_events_as_context():
    log = ([{"account_id": "A", "ts": "2026-11-01 10:00:00", "outcome": "rpc"},       # a conversation
            {"account_id": "A", "ts": "2026-11-01 23:00:00", "outcome": "no_answer"},  # quiet hours, before since
            {"account_id": "A", "ts": "2026-11-03 10:00:00", "outcome": "no_answer"}]  # 2 days after the conversation
           + [{"account_id": "B", "ts": f"2026-11-{d:02d} 10:00:00", "outcome": "no_answer"} for d in range(1, 8)]
           + [{"account_id": "B", "ts": "2026-11-07 15:00:00", "outcome": "no_answer"}])  # 8th call in 7 days
    pf = tiny_portfolio([{"account_id": "A"}, {"account_id": "B"}], log)
    everything = check_compliance(pf, "us")
    assert sorted(everything.violations["rule"]) == ["us_after_conversation", "us_after_conversation",
                                                     "us_inconvenient_time", "us_seven_in_seven"]
    recent = check_compliance(pf, "us", since="2026-11-03")  # naive: business time zone (Asia/Shanghai)
    assert list(zip(recent.violations["account_id"], recent.violations["rule"], recent.violations["ts"])) == [
        ("A", "us_after_conversation", "2026-11-03 10:00 Asia/Shanghai"),
        ("B", "us_seven_in_seven", "2026-11-07 15:00 Asia/Shanghai")]
    assert recent.checked == 7
    aware = check_compliance(pf, "us", since=pd.Timestamp("2026-11-02 16:00", tz="UTC"))
    pd.testing.assert_frame_equal(aware.violations, recent.violations)
    prep = prepare(pf, "2026-11-08")
    pd.testing.assert_frame_equal(check_compliance(prep, "us", since="2026-11-03").violations, recent.violations)
    assert check_compliance(pf, "us", since="2026-12-01").ok
    with pytest.raises(ArgumentError, match="since"):
        check_compliance(pf, "us", since="next week")


def test_an_unknown_account_time_zone_is_bad_input_naming_the_account():
    pf = tiny_portfolio([{"account_id": "A"}, {"account_id": "M", "timezone": "Mars/Olympus"}],
                        calls("M", "2026-11-20", ["no_answer"]))
    with pytest.raises(UnknownTimezoneError, match="'Mars/Olympus' for account 'M'") as err:
        check_compliance(pf, "cn")
    assert isinstance(err.value, PlaybookError) and err.value.exit_code == 2
    with pytest.raises(UnknownTimezoneError):
        headroom(pf, "2026-11-20 12:00", "cn")


# ---------------------------------------------------------------- strategies and the marker scan


def test_strategy_verdict_reads_typed_strategies():
    champion = get_strategy("champion")
    as_model = strategy_verdict(champion, "cn")
    assert as_model.to_dict() == strategy_verdict(champion.model_dump(), "cn").to_dict()
    assert as_model.to_dict() == strategy_verdict(StrategyRules(rules=champion.rules), "cn").to_dict()
    with pytest.raises(ContentError) as err:
        strategy_verdict({"name": "bad", "rules": [{"when": "True", "treatment": {"attempts_per_day": -1}},
                                                   {"when": "True", "treatment": {"call_window": ["9am", "25:99"]}}]})
    assert [p[:3] for p in err.value.problems] == [
        ("strategy 'bad'", "rules[0]", "treatment.attempts_per_day"),
        ("strategy 'bad'", "rules[1]", "treatment.call_window.0"),
        ("strategy 'bad'", "rules[1]", "treatment.call_window.1")]


def test_the_vulnerable_path_needs_a_rule_that_reads_vulnerable():
    def strategy(when: str) -> dict:
        return {"rules": [{"when": when, "treatment": {"channels": ["letter"], "offer": {"type": "instalments", "months": 6}}},
                          {"when": "True", "treatment": {"channels": ["call"], "forbearance": {"debt_advice": True}}}]}

    assert strategy_verdict(strategy("vulnerable != ''"), "uk").admissible
    # a category literal that merely contains the word is not a rule for vulnerable customers
    v = strategy_verdict(strategy("behaviour_type == 'vulnerable_victim'"), "uk")
    assert [x["rule"] for x in v.violations] == ["uk_vulnerable_path"]


def test_prohibited_practices_are_refused_whatever_the_pack_by_one_marker_scan():
    script = "我是法院的工作人员，再不还钱让你同事都知道"
    found = [x["practice"] for x in lint_text(script)]
    assert len(found) == 2 and "false_identity" in found and "workplace_exposure" in found
    for pack in ("cn", "us", "uk"):
        v = strategy_verdict({"rules": [{"treatment": {"script": script}}]}, pack)
        assert {x["rule"] for x in v.violations if x["rule"].startswith("prohibited:")} == {f"prohibited:{p}" for p in found}
    pf = tiny_portfolio([{"account_id": "S"}], [{"account_id": "S", "ts": "2026-11-12 10:00:00", "channel": "sms",
                                                 "outcome": "delivered", "message": script}])
    v = check_compliance(pf, "cn").violations
    assert len(v) == 1 and f"'{found[0]}'" in v["detail"].iloc[0]  # one violation per message: the first practice
