"""Trainer material (issue 15, item 3): craft topics, case studies, the repayment-plan calculator."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import playbook
from playbook.compliance.lint import scan_prohibited
from playbook.content import default_content_dir
from playbook.errors import ContentError
from playbook.widgets.craft import Case, Topic, load_trainer, repayment_plan

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_9232c2dc761d0433.txt"

ISSUE_TOPICS = {  # what issue 15 found missing -> the material that now teaches it
    "interviewing steps (望闻问切)": "craft_interview_steps", "度": "craft_measure",
    "purpose over volume": "craft_purpose_over_volume", "prevention before cure": "craft_prevention",
    "relations with contacts": "craft_contact_relations", "married customers' pain points": "craft_married_pain_points",
    "repayment-plan principles": "craft_plan_principles", "financial-advice help": "craft_financial_advice",
    "government segment": "seg_government", "medical segment": "seg_medical", "technology": "seg_technology",
}


def _texts(item: Topic | Case):
    """Every taught text of a topic or case, as (field, Text)."""
    out = [("title", item.title)]
    if isinstance(item, Topic):
        out += [("summary", item.summary)] + [(f"steps[{i}]", s.text) for i, s in enumerate(item.steps)]
        out += [(f"steps[{i}].name", s.name) for i, s in enumerate(item.steps)]
        out += [(f"points[{i}]", t) for i, t in enumerate(item.points)]
        out += [("lawful", item.lawful)] if item.lawful else []
    else:
        out += [("what_happened", item.what_happened), ("lesson", item.lesson)]
        out += [(f"what_worked[{i}]", t) for i, t in enumerate(item.what_worked)]
        out += [(f"what_failed[{i}]", t) for i, t in enumerate(item.what_failed)]
    return out


def test_the_missing_craft_is_now_taught_in_both_languages():
    t = load_trainer()
    for what, tid in ISSUE_TOPICS.items():
        assert tid in t.topics, what
    steps = t.topics["craft_interview_steps"].steps
    assert [s.name.zh[0] for s in steps] == ["望", "闻", "问", "切"]
    for item in [*t.topics.values(), *t.cases.values()]:
        for field, text in _texts(item):
            assert text.zh.strip() and text.en.strip(), (item.id, field)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh), (item.id, field)


def test_cases_tell_what_happened_worked_failed_and_the_lawful_lesson():
    t = load_trainer()
    assert len(t.cases) >= 8
    for c in t.cases.values():
        assert c.what_happened and c.what_worked and c.what_failed and c.lesson, c.id
    assert {"case_success_plan", "case_failure_merchant", "case_credit_card_50k"} <= set(t.cases)
    assert t.cases["case_credit_card_50k"].plan.amount == 50000 and t.cases["case_credit_card_50k"].plan.months == 10


DESCRIPTIVE = ("lawful", "what_happened", "what_failed")  # fields that may name what is forbidden


@pytest.mark.parametrize("pack", [None, "cn", "us", "uk"])
def test_no_trainer_text_teaches_a_prohibited_practice(pack):
    """What is taught (summaries, steps, points, what worked, lessons) uses no prohibited
    practice; the fields that say what is forbidden or what went wrong may name one only
    when the item links that practice as a red line."""
    pb, t = playbook.load_playbook(), load_trainer()
    items = [*t.topics.values(), *t.cases.values()]
    taught = [(item, field, text) for item in items for field, text in _texts(item)]
    hits = scan_prohibited([x.zh + "\n" + x.en for _, _, x in taught], pb, pack)
    bad = []
    for h in hits.itertuples():
        item, field, _ = taught[h.pos]
        practice = pb.prohibited[h.practice].id
        if field.split("[")[0] not in DESCRIPTIVE or f"prohibited:{practice}" not in item.related:
            bad.append((item.id, field, practice, h.marker))
    assert not bad, bad


def test_prohibited_practices_appear_only_as_red_lines():
    """Where a case retells what the seed did unlawfully, it links the prohibited practice."""
    t = load_trainer()
    assert "prohibited:workplace_exposure" in t.cases["case_b2b_types"].related
    assert "prohibited:belittling_scripts" in t.cases["case_call_script"].related
    assert "prohibited:shaming" in t.topics["craft_married_pain_points"].related


@pytest.mark.skipif(not SEED.is_file(), reason="the shared seeds folder is absent")
def test_seed_phrases_are_the_seeds_own_words():
    text = SEED.read_text(encoding="utf-8")
    t = load_trainer()
    for item in [*t.topics.values(), *t.cases.values()]:
        for q in item.seed:
            assert q in text, (item.id, q)


def test_content_errors_name_the_file_the_entry_and_the_field(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(default_content_dir(), root)
    path = root / "trainer" / "cases.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["cases"][1]["lesson"]["en"]
    data["cases"][2]["related"].append("prohibited:no_such_practice")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_trainer(root)
    msg = str(err.value)
    assert "trainer/cases.yaml" in msg and "case_success_plan" in msg and "lesson.en" in msg
    data["cases"][1]["lesson"]["en"] = "x"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match="no prohibited practice 'no_such_practice'"):
        load_trainer(root)


# ------------------------------------------------------------------ the calculator


def test_the_seed_worked_example_is_ten_instalments_of_5000():
    plan = repayment_plan(50000, 10)
    s = plan["schedule"]
    assert plan["instalment"] == 5000 and list(s["payment"]) == [5000.0] * 10
    assert list(s["remaining"])[-1] == 0 and plan["total"] == 50000
    assert plan["affordable"] is None and plan["share_of_income"] is None


def test_rounding_down_payment_waiver_dates_and_affordability():
    plan = repayment_plan(10000, 3)
    assert list(plan["schedule"]["payment"]) == [3333.0, 3333.0, 3334.0] and plan["total"] == 10000
    plan = repayment_plan(50000, 6, down_payment=5000, waiver=2000, start="2026-12-10")
    s = plan["schedule"]
    assert plan["to_pay"] == 48000 and s["payment"].iloc[0] == 5000 and s["month"].iloc[0] == 0
    assert s["payment"].sum() == 48000 and s["remaining"].iloc[-1] == 0
    assert str(s["due"].iloc[1].date()) == "2026-12-10" and str(s["due"].iloc[-1].date()) == "2027-05-10"
    ok = repayment_plan(50000, 10, monthly_income=9000, essentials=3000)
    assert ok["affordable"] and ok["left_after"] == 1000 and abs(ok["share_of_income"] - 5000 / 9000) < 1e-12
    assert repayment_plan(50000, 10, monthly_income=6000, essentials=3000)["affordable"] is False


@pytest.mark.parametrize("kw", [dict(amount=0, months=3), dict(amount=100, months=0), dict(amount=100, months=3, waiver=100),
                                dict(amount=100, months=3, down_payment=200), dict(amount=float("nan"), months=3)])
def test_bad_plans_are_refused_with_the_reason(kw):
    with pytest.raises(ValueError):
        repayment_plan(kw.pop("amount"), kw.pop("months"), **kw)


def test_calculator_widget_updates_in_both_languages():
    from playbook.widgets import CaseTrainer

    pf = playbook.demo_portfolio(300, 5, "2026-11-29")
    seg = playbook.segment(pf, "2026-11-29")
    for lang, unit in (("zh", "元"), ("en", "CNY")):
        app = CaseTrainer(pf, seg, lang=lang)
        assert f"5,000 {unit}" in app.plan_out.value
        app.calc["months"].value = 20
        assert f"2,500 {unit}" in app.plan_out.value and app.pb.text("trainer.instalment", lang) in app.plan_out.value
        app.calc["income"].value = 4000
        app.calc["essentials"].value = 3000
        assert app.pb.text("trainer.not_affordable", lang) in app.plan_out.value
        app.calc["waiver"].value = 60000
        assert app.pb.text("trainer.bad_plan", lang) in app.plan_out.value
        app.case_pick.value = "case_success_plan"
        app.case_pick.value = "case_credit_card_50k"
        assert app.calc["amount"].value == 50000 and app.calc["months"].value == 10
