"""Lawful in every jurisdiction we ship (issue 14): strategies, content, sources, new rules."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import playbook
from playbook.cli import main
from playbook.compliance import admissible_strategies, check_compliance, get_pack, lint_content, lint_text, strategy_verdict
from playbook.compliance.engine import NOT_CHECKABLE
from playbook.content import default_content_dir
from playbook.errors import ContentError
from playbook.strategy import claims, get_strategy, list_strategies

from .helpers import calls, tiny_portfolio

PACKS = ("cn", "us", "uk")
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
CJK = re.compile(r"[\u4e00-\u9fff]")
FOREIGN = ("CFR", "CONC", "FCA", "Act ", "GDPR", "U.S.C.")


def _one(account: str, ts: str, **kw) -> dict:
    return {"account_id": account, "ts": ts, "outcome": kw.pop("outcome", "no_answer"), **kw}


def _log(accounts: list[dict], rows: list[dict]) -> playbook.Portfolio:
    """A tiny portfolio keeping the optional ``consent`` column of the rows (the helper drops it)."""
    pf = tiny_portfolio(accounts, rows)
    pf.interactions["consent"] = pd.Series([r.get("consent") for r in rows], dtype=object)
    return pf


def _found(res) -> set[tuple[str, str]]:
    return set(zip(res.violations["rule"], res.violations["account_id"]))


# ---------------------------------------------------------------- strategies under every pack they claim


@pytest.mark.parametrize("pack", PACKS)
def test_every_shipped_strategy_is_admissible_under_every_pack_it_claims(pack):
    claiming = [s for s in list_strategies() if claims(get_strategy(s), pack)]
    for sid in claiming:
        v = strategy_verdict(get_strategy(sid), pack)
        assert v.admissible, (sid, pack, v.violations)
    assert admissible_strategies(pack) == claiming
    assert len(claiming) >= 4


def test_a_strategy_may_claim_only_some_packs():
    s = get_strategy("champion").model_copy(update={"id": "cn_only", "packs": ["cn"]})
    assert claims(s, "cn") and not claims(s, "us")
    assert claims(get_strategy("champion"), "uk")  # the shipped ones name all three


@pytest.mark.parametrize("pack", PACKS)
def test_whatif_without_strategies_compares_every_admissible_one(pack, tmp_path, capsys):
    assert main(["demo-data", "--accounts", "300", "--seed", "3", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["whatif", str(tmp_path), "--pack", pack, "--draws", "50", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    names = [s["name"] for s in body["strategies"]]
    assert names == admissible_strategies(pack) and len(names) >= 4
    assert all(s["admissible"] for s in body["strategies"])
    assert main(["whatif", str(tmp_path), "--pack", pack, "--draws", "50"]) == 0
    assert f"admissible under pack {pack}: " in capsys.readouterr().out


def test_simulate_keeps_its_python_api():
    pf = playbook.demo_portfolio(200, 1, "2026-11-29")
    res = playbook.simulate(pf, ["champion", "payday_calling"], draws=50, pack="us")
    assert list(res.totals.index) == ["champion", "payday_calling"] and res.totals["admissible"].all()


# ---------------------------------------------------------------- treatment elements the packs test


def _strategy(**treatment) -> dict:
    gentle = {"channels": ["letter"], "forbearance": {"options": ["token_payments"], "debt_advice": True}}
    base = {"channels": ["call"], "call_window": ["09:00", "20:00"], "pause_after_contact_days": 7,
            "forbearance": {"options": ["repayment_plan"]}}
    return {"name": "t", "rules": [{"when": "vulnerable != 'none'", "treatment": gentle},
                                   {"when": "True", "treatment": {**base, **treatment}}]}


def _rules(v) -> set[str]:
    return {x["rule"] for x in v.violations}


def test_reminder_calls_need_consent_under_us_only():
    with_consent = _strategy(reminder={"minutes_before": 30, "only_with_consent": True})
    without = _strategy(reminder={"minutes_before": 30, "only_with_consent": False})
    assert all(strategy_verdict(with_consent, p).admissible for p in PACKS)
    assert _rules(strategy_verdict(without, "us")) == {"us_after_conversation"}
    assert strategy_verdict(without, "cn").admissible and strategy_verdict(without, "uk").admissible


def test_pause_after_a_conversation_boundary():
    assert strategy_verdict(_strategy(attempts_per_week=2, pause_after_contact_days=7), "us").admissible
    assert _rules(strategy_verdict(_strategy(attempts_per_week=2, pause_after_contact_days=6), "us")) == {"us_after_conversation"}


def test_forbearance_is_needed_in_every_treatment_under_uk():
    s = _strategy(forbearance={})
    assert _rules(strategy_verdict(s, "uk")) == {"uk_forbearance"}
    assert strategy_verdict(_strategy(forbearance={}, offer={"type": "instalments", "months": 6}), "uk").admissible
    assert strategy_verdict(_strategy(forbearance={"debt_advice": True}), "uk").admissible
    assert strategy_verdict(s, "cn").admissible


def test_the_vulnerable_path_comes_first_and_is_gentler():
    s = _strategy()
    s["rules"][0]["treatment"]["escalation"] = {"after_days": 10, "action": "legal"}
    assert _rules(strategy_verdict(s, "uk")) == {"uk_vulnerable_path"}
    late = _strategy()
    late["rules"] = late["rules"][::-1]
    v = strategy_verdict(late, "uk")
    assert _rules(v) == {"uk_vulnerable_path"} and "after a rule that catches every account" in v.violations[0]["detail"]


def test_third_party_elements_objection_and_identity():
    tp = _strategy(third_party={"purpose": "locate", "only_when_lost": True, "stop_on_objection": False})
    assert _rules(strategy_verdict(tp, "cn")) == {"cn_third_party_objection"}
    blind = _strategy(verify_identity=False)
    assert _rules(strategy_verdict(blind, "uk")) == {"uk_verify_identity"}
    assert _rules(strategy_verdict(blind, "us")) == {"us_no_third_party_disclosure"}
    assert _rules(strategy_verdict(blind, "cn")) == {"cn_no_debt_disclosure"}


# ---------------------------------------------------------------- content lint


@pytest.mark.parametrize("pack", PACKS)
def test_every_opener_dialogue_line_and_tactic_passes_the_lint(pack):
    pb = playbook.load_playbook()
    texts = []
    for did, dim in pb.dimensions.items():
        for c in dim.categories:
            texts += [t for t in c.tactics] + [d.text for d in c.dialogue]
            if c.opening_line is not None:
                texts.append(c.opening_line)
    assert len(texts) > 50
    for t in texts:
        for s in (t.zh, t.en):
            assert lint_text(s, pb, pack) == [], (pack, s)
            assert lint_text(s, pb) == [], s
    assert lint_content(pack) == []


def test_reminder_tactics_say_they_need_consent_and_team_targets_are_linted(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(default_content_dir(), root)
    bt = root / "taxonomy" / "behaviour_type.yaml"
    bt.write_text(bt.read_text(encoding="utf-8").replace(
        "（须事先取得其同意；所选规则包会检查）", "").replace("债务人同意的，", "").replace(
        "with the debtor's consent, call shortly before it falls due (only with prior consent; the chosen rule pack "
        "checks it)", "reminder call just before it falls due"), encoding="utf-8")
    teams = root / "teams.yaml"
    teams.write_text(teams.read_text(encoding="utf-8").replace(
        "Instalments, extensions; reminders before a promise falls due (with the debtor's consent)",
        "Instalments; collectors paid only on amounts recovered"),
        encoding="utf-8")
    pb = playbook.load_playbook(root)
    us = lint_content("us", playbook=pb)
    assert [x["rule"] for x in us] == ["us_after_conversation"] and "serial_promiser" in us[0]["where"]
    cn = lint_content("cn", playbook=pb)
    assert [(x["rule"], x["where"]) for x in cn] == [("cn_appraisal_not_only_recovered", "teams.yaml mid tactics[0]")]
    assert cn[0]["source"].endswith("第66条")


def test_uk_property_and_borrowing_markers():
    for text in ("Sell your house and you must pay it all at once", "把房子卖了还钱", "去借钱还上"):
        assert [x["practice"] for x in lint_text(text, pack="uk")] == ["pressure_to_sell_or_borrow"], text
    pf = tiny_portfolio([{"account_id": "P", "timezone": "Europe/London"}], [
        _one("P", "2026-11-12 20:00:00", channel="sms", outcome="delivered", message="Please sell your car to clear this")])
    v = check_compliance(pf, "uk").violations
    assert list(v["rule"]) == ["uk_no_pressure"] and "FCA CONC 7.3" in v["detail"].iloc[0]


# ---------------------------------------------------------------- prohibited practices against the seed


NEW = {"harvesting_contacts", "asking_about_job_family", "contacting_business_partners", "mining_phone_bills",
       "social_media_data", "refusing_extension", "unlawful_detention_injury", "belittling_scripts"}


def test_every_practice_quotes_the_seed_exactly_and_cites_each_jurisdiction():
    pb = playbook.load_playbook()
    ids = {p.id for p in pb.prohibited}
    assert NEW <= ids and "pressure_to_sell_or_borrow" in ids
    for p in pb.prohibited:
        assert p.seed, p.id
        assert p.why_forbidden.zh and p.why_forbidden.en and p.do_instead.zh and p.do_instead.en
        assert p.markers.get("zh") and p.markers.get("en"), p.id
        packs = {s.pack for s in p.sources}
        assert packs == ({"cn"} if p.id == "single_person_visit" else set(PACKS)), p.id  # only China sets a headcount
        for s in p.sources:
            assert (CJK.search(s.citation) is None) == (s.pack != "cn"), (p.id, s.citation)
    lines = {}
    for p in pb.prohibited:
        for q in p.seed:
            path = SEEDS / q.file
            if not path.is_file():
                pytest.skip(f"seed {path} not available")
            lines.setdefault(q.file, path.read_text(encoding="utf-8").split("\n"))
            assert q.quote in lines[q.file][q.line - 1], (p.id, q.line, q.quote)


def test_the_corrected_entries():
    pb = playbook.load_playbook()
    by = {p.id: p for p in pb.prohibited}
    assert [q.line for q in by["refusing_extension"].seed][0] == 115
    assert 115 not in [q.line for q in by["untimely_contact"].seed]
    assert "does not tell collectors to pose" in by["false_identity"].seed_says.en
    b2b = by["workplace_exposure"]
    assert 738 in [q.line for q in b2b.seed]
    assert not any(s.citation.startswith(("12 CFR", "FCA CONC", "商业银行", "中国银行业协会")) for s in b2b.sources)


# ---------------------------------------------------------------- new log rules: boundaries


def test_a_debtor_line_answered_by_someone_else_is_no_third_party_contact_but_allows_no_disclosure():
    reached = _one("A", "2026-11-01 10:00:00", outcome="rpc")
    answered = _one("A", "2026-11-03 10:00:00", outcome="third_party_contact")  # aimed at the debtor
    for pack in ("cn", "uk"):
        assert check_compliance(tiny_portfolio([{"account_id": "A"}], [reached, answered]), pack).ok
    told = {**answered, "message": "请转告他尽快处理逾期欠款"}
    res = check_compliance(tiny_portfolio([{"account_id": "A"}], [reached, told]), "cn")
    assert list(res.violations["rule"]) == ["cn_no_debt_disclosure"]
    assert "reached a third party on the debtor's line: no disclosure allowed" in res.violations["detail"].iloc[0]
    aimed = _one("A", "2026-11-03 10:00:00", party="relative", outcome="third_party_contact", contact_ref="mother")
    assert list(check_compliance(tiny_portfolio([{"account_id": "A"}], [reached, aimed]), "cn").violations["rule"]) == [
        "cn_third_party_only_when_lost"]
    callback = {**answered, "ts": "2026-11-09 10:00:00", "message": "please ask him to call us back"}
    assert check_compliance(tiny_portfolio([{"account_id": "A"}], [reached, callback]), "us").ok
    debt = {**callback, "message": "tell him his overdue debt must be paid"}
    assert list(check_compliance(tiny_portfolio([{"account_id": "A"}], [reached, debt]), "us").violations["rule"]) == [
        "us_no_third_party_disclosure"]


def test_third_party_objection_boundary():
    tp = {"party": "relative", "outcome": "third_party_contact", "contact_ref": "mother"}
    log = [_one("O", "2026-11-10 10:00:00", **tp), _one("O", "2026-11-11 10:00:00", **{**tp, "outcome": "opt_out"}),
           _one("O", "2026-11-11 10:00:00", party="relative", outcome="third_party_contact", contact_ref="brother"),
           _one("O", "2026-11-12 10:00:00", **tp)]
    res = check_compliance(tiny_portfolio([{"account_id": "O"}], log), "cn")
    assert list(zip(res.violations["rule"], res.violations["row"])) == [("cn_third_party_objection", 3)]
    assert check_compliance(tiny_portfolio([{"account_id": "O"}], log[:3]), "cn").ok


def test_the_shared_lost_threshold_boundary_and_source():
    pb = playbook.load_playbook()
    days = pb.settings.lost_after_days
    for pid in ("cn", "uk"):
        rule = next(r for r in get_pack(pid).rules if r.check == "third_party_when_lost")
        assert rule.params["lost_after_days"] == days
    seg = next(r for r in pb.rules["contactability"] if r.id == "contact_recent_rpc")
    assert seg.when.replace(" ", "") == f"days_since_last_rpc<{days}"
    tp = {"party": "relative", "outcome": "third_party_contact", "contact_ref": "mother"}
    rpc = _one("A", "2026-09-01 10:00:00", outcome="rpc")
    before = pd.Timestamp("2026-09-01 10:00:00") + pd.Timedelta(days=days) - pd.Timedelta(minutes=1)
    at = before + pd.Timedelta(minutes=1)
    early = check_compliance(tiny_portfolio([{"account_id": "A"}], [rpc, _one("A", str(before), **tp)]), "uk")
    assert list(early.violations["rule"]) == ["uk_no_third_party_disclosure"]
    assert "FCA CONC 7.9" == early.violations["source"].iloc[0] and not CJK.search(early.violations["detail"].iloc[0])
    assert check_compliance(tiny_portfolio([{"account_id": "A"}], [rpc, _one("A", str(at), **tp)]), "uk").ok


def test_a_pack_rule_may_omit_the_shared_threshold_but_not_loosen_it(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(default_content_dir(), root)
    path = root / "compliance" / "uk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"params: \{lost_after_days: \d+\}", "params: {}", text), encoding="utf-8")
    pb = playbook.load_playbook(root)
    assert get_pack("uk", pb).rule("uk_no_third_party_disclosure").params["lost_after_days"] == pb.settings.lost_after_days
    path.write_text(re.sub(r"params: \{lost_after_days: \d+\}", "params: {lost_after_days: 30}", text), encoding="utf-8")
    with pytest.raises(ContentError, match="shared setting lost_after_days"):
        get_pack("uk", playbook.load_playbook(root))


def test_us_consent_lifts_the_pause_after_a_conversation_for_seven_days():
    conv = _one("A", "2026-11-01 10:00:00", outcome="ptp", consent="call")
    reminder = _one("A", "2026-11-03 14:30:00", outcome="rpc")
    assert check_compliance(_log([{"account_id": "A"}], [conv, reminder]), "us").ok
    no_consent = {**conv, "consent": None}
    assert list(check_compliance(_log([{"account_id": "A"}], [no_consent, reminder]), "us").violations["rule"]) \
        == ["us_after_conversation"]
    # consent given 7 days before the call no longer counts (1006.14(b)(3)(i): within the past 7 days)
    old = _one("A", "2026-10-25 10:00:00", outcome="rpc", consent="call")
    later = [old, {**no_consent, "ts": "2026-11-01 09:59:00"}, _one("A", "2026-11-01 10:00:00")]
    res = check_compliance(_log([{"account_id": "A"}], later), "us")
    assert list(zip(res.violations["rule"], res.violations["row"])) == [("us_after_conversation", 2)]
    # an account-level consent with its time
    acc = [{"account_id": "A", "consent_channels": "sms;call", "consent_at": pd.Timestamp("2026-11-01 01:00", tz="UTC")}]
    assert check_compliance(_log(acc, [no_consent, reminder]), "us").ok
    acc_sms = [{**acc[0], "consent_channels": "sms"}]
    assert not check_compliance(_log(acc_sms, [no_consent, reminder]), "us").ok


# ---------------------------------------------------------------- planted logs, one per pack


def _sms(account: str, ts: str, message: str, **kw) -> dict:
    return _one(account, ts, channel="sms", outcome=kw.pop("outcome", "delivered"), message=message, **kw)


TP = {"party": "relative", "outcome": "third_party_contact", "contact_ref": "mother"}
ANSWERED = {"outcome": "third_party_contact"}
PLANTED = {
    "cn": ([_one("Q", "2026-11-21 23:15:00")], "cn_quiet_hours"),
    "cn2": (calls("U", "2026-11-20", ["no_answer"] * 7), "cn_unanswered_calls"),
    "cn3": ([_one("T", "2026-11-10 10:00:00", outcome="rpc"), _one("T", "2026-11-12 10:00:00", **TP)],
            "cn_third_party_only_when_lost"),
    "cn4": ([_one("O", "2026-11-10 10:00:00", **{**TP, "outcome": "opt_out"}), _one("O", "2026-11-12 10:00:00", **TP)],
            "cn_third_party_objection"),
    "cn5": ([_one("D", "2026-11-12 10:00:00", message="他的信用卡欠款已经逾期", **ANSWERED)], "cn_no_debt_disclosure"),
    "cn6": ([_one("V", "2026-11-12 10:00:00", channel="visit", outcome="not_home", staff_count=1)], "cn_field_visit_two_staff"),
    "cn7": ([_sms("S", "2026-11-12 10:00:00", "再不还钱后果自负")], "cn_no_threats_insults_false_identity"),
    "us": (calls("S7", "2026-11-01", ["no_answer"]) + [_one("S7", f"2026-11-0{d} 10:00:00") for d in range(2, 8)]
           + [_one("S7", "2026-11-07 15:00:00")], "us_seven_in_seven"),
    "us2": ([_one("AC", "2026-11-01 10:00:00", outcome="rpc"), _one("AC", "2026-11-03 10:00:00")], "us_after_conversation"),
    "us3": ([_one("QT", "2026-11-21 21:30:00")], "us_inconvenient_time"),
    "us4": ([_one("TP", "2026-11-10 10:00:00", **TP), _one("TP", "2026-11-12 10:00:00", **TP)],
            "us_third_party_location_once"),
    "us5": ([_one("DS", "2026-11-12 10:00:00", message="tell him his overdue debt must be paid", **ANSWERED)],
            "us_no_third_party_disclosure"),
    "us6": ([_sms("OO", "2026-11-12 10:00:00", "Your account needs attention, please pay today")], "us_opt_out_notice"),
    "us7": ([_sms("HS", "2026-11-10 10:00:00", "STOP", outcome="opt_out", direction="inbound"),
             _sms("HS", "2026-11-12 10:00:00", "Reminder: please pay. Reply STOP to opt out")], "us_honour_channel_stop"),
    "us8": ([_sms("AB", "2026-11-12 10:00:00", "Pay today or else. Reply STOP to opt out")], "us_no_abuse"),
    "uk": ([_one("QT", "2026-11-21 21:30:00")], "uk_reasonable_hours"),
    "uk2": ([_one("T", "2026-11-10 10:00:00", outcome="rpc"), _one("T", "2026-11-12 10:00:00", **TP)],
            "uk_no_third_party_disclosure"),
    "uk3": ([_one("DS", "2026-11-12 10:00:00", message="your husband owes us a debt", **ANSWERED)], "uk_verify_identity"),
    "uk4": ([_sms("PR", "2026-11-12 10:00:00", "You could borrow from friends to pay this week")], "uk_no_pressure"),
}


@pytest.mark.parametrize("pack", PACKS)
def test_a_planted_log_per_pack_is_found_exactly_with_its_own_sources(pack):
    items = [v for k, v in PLANTED.items() if k.rstrip("0123456789") == pack]
    log = [row for rows, _ in items for row in rows]
    accounts = sorted({r["account_id"] for r in log})
    res = check_compliance(tiny_portfolio([{"account_id": a} for a in accounts], log), pack)
    expected = {(rule, rows[0]["account_id"]) for rows, rule in items}
    assert _found(res) == expected and len(res.violations) == len(expected)
    checked = [r.id for r in get_pack(pack).rules if r.enabled and r.id not in res.not_checkable]
    assert {rule for rule, _ in expected} == set(checked)  # every checkable rule planted once
    sources = {r.id: r.source for r in get_pack(pack).rules}
    for v in res.violations.itertuples(index=False):
        assert v.source == sources[v.rule]
        cited = v.source + " " + v.detail.split("source: ")[-1] if "source: " in v.detail else v.source
        if pack == "cn":
            assert not any(f in cited for f in FOREIGN), (v.rule, cited)
        else:
            assert not CJK.search(cited), (v.rule, cited)


def test_the_demo_never_cites_another_jurisdiction():
    pf = playbook.demo_portfolio(300, 5, "2026-11-29")
    for pack in PACKS:
        for v in check_compliance(pf, pack).violations.itertuples(index=False):
            cited = v.source + " " + v.detail.split("source: ")[-1]
            assert (CJK.search(cited) is None) == (pack != "cn"), (pack, v.rule, cited)


# ---------------------------------------------------------------- policy rules are reported apart


def test_policy_rules_are_not_checkable_rather_than_zero(tmp_path, capsys):
    pf = tiny_portfolio([{"account_id": "C"}], calls("C", "2026-11-20", ["no_answer"]))
    res = check_compliance(pf, "uk")
    s = res.summary.set_index("rule")
    assert set(res.not_checkable) == {"uk_forbearance", "uk_vulnerable_path"}
    assert (s.loc[res.not_checkable, "status"] == NOT_CHECKABLE).all()
    assert s.loc[res.not_checkable, "violations"].isna().all()
    assert s.loc["uk_reasonable_hours", "violations"] == 0
    body = res.to_dict()
    assert set(body["not_checkable"]) == {"uk_forbearance", "uk_vulnerable_path"}
    assert not set(body["summary"]) & set(body["not_checkable"])
    cn = check_compliance(pf, "cn")
    assert {"cn_records_two_years", "cn_appraisal_not_only_recovered"} <= set(cn.not_checkable)
    from playbook.loading import write_portfolio
    write_portfolio(pf, tmp_path / "d", fmt="csv")
    assert main(["compliance", str(tmp_path / "d"), "--pack", "cn"]) == 0
    out = capsys.readouterr().out
    head, _, policy = out.partition("not checkable from a contact log (policy)")
    assert "cn_records_two_years" in policy and "cn_records_two_years" not in head


def test_consent_columns_load_and_are_validated(tmp_path):
    pf = _log([{"account_id": "A", "consent_channels": "call;sms", "consent_at": "2026-11-01 10:00:00"}],
                        [_one("A", "2026-11-02 10:00:00", consent="call")])
    from playbook.loading import load_portfolio, write_portfolio
    write_portfolio(pf, tmp_path / "d", fmt="csv")
    back = load_portfolio(tmp_path / "d")
    assert back.accounts["consent_channels"].iloc[0] == "call;sms"
    assert back.interactions["consent"].iloc[0] == "call"
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "d", bad)
    acc = pd.read_csv(bad / "accounts.csv")
    acc["consent_channels"] = "phone"
    acc.to_csv(bad / "accounts.csv", index=False)
    r = load_portfolio(bad, on_error="keep_valid").report
    assert not r.ok and "consent" in r.to_text()


def test_strategy_files_name_the_packs_they_claim():
    for path in sorted((default_content_dir() / "strategies").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))["strategy"]
        assert set(raw["packs"]) == set(PACKS), path.name
