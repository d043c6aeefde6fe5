"""Call openers: caller and creditor first, the right-party check next, the debt only after."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from playbook.briefing import choose_openers
from playbook.compliance import lint_text
from playbook.content import load_playbook
from playbook.errors import ContentError

PACKS = ("cn", "us", "uk")
# words that tell a listener there is a debt; none may come before the right-party check
DEBT = {"zh": ["欠", "逾期", "还款", "账单", "债", "催收", "金额", "到期"],
        "en": ["debt", "overdue", "owe", "payment", "pay ", "arrears", "collect", "past due", "balance", "account"]}


def _openers():
    op = load_playbook().openers
    assert op is not None and op.openers
    return op


def test_packs_exist():
    assert set(PACKS) <= set(load_playbook().packs)


@pytest.mark.parametrize("pack", PACKS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_opener_passes_the_lint_of_every_pack(pack, lang):
    op = _openers()
    for o in op.openers:
        text = o.text(lang, op.creditor(lang))
        assert lint_text(text, pack=pack) == [], (o.id, lang, pack)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_caller_and_creditor_then_right_party_check_before_the_debt(lang):
    op = _openers()
    creditor = op.creditor(lang)
    for o in op.openers:
        text = o.text(lang, creditor)
        before = (o.identify(lang).format(creditor=creditor) + ("" if lang == "zh" else " ") + o.verify(lang))
        assert text.startswith(before), o.id  # said in this order
        assert creditor in o.identify(lang).format(creditor=creditor), o.id
        for word in DEBT[lang]:
            assert word not in before.lower(), (o.id, word)
        check = "本人" if lang == "zh" else "Am I speaking with"
        assert check in o.verify(lang), o.id
        assert text.index(check) < min((text.lower().find(w) for w in DEBT[lang] if w in text.lower()),
                                       default=len(text)), o.id


def test_openers_fit_stage_type_and_team():
    pb = load_playbook()
    op = _openers()
    gentle = {o.id for o in op.openers if o.tone == "gentle"}
    assert gentle, "the early team has a gentle reminder"
    for stage, btype, team in itertools.product(pb.dimension("stage").ids, pb.dimension("behaviour_type").ids, pb.teams):
        chosen = op.choose(stage, btype, team)
        if stage == "M3+" or team == "late_legal":
            assert chosen.tone != "gentle", (stage, btype, team, chosen.id)
        if team == "care":
            assert chosen.tone == "care"
    assert op.choose("M1", "short_term", "early").tone == "gentle"
    zh = choose_openers(["M3+", "M1"], ["short_term", "short_term"], "late_legal", "zh", pb)
    assert "本期账单已过还款日" not in "".join(zh)


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_gentle_opener_that_could_reach_m3_is_a_content_error(content_copy):
    def bad(d):
        o = next(o for o in d["openers"] if o["tone"] == "gentle")
        o["stages"] = ["M1", "M3+"]
    _edit(content_copy / "openers.yaml", bad)
    with pytest.raises(ContentError, match=r"openers\.yaml: entry openers\[\d+\] \(id: early_reminder\): field tone"):
        load_playbook(content_copy)


def test_the_last_opener_is_the_fallback_and_ids_are_known(content_copy):
    def bad(d):
        d["openers"][-1]["stages"] = ["M9"]
    _edit(content_copy / "openers.yaml", bad)
    with pytest.raises(ContentError) as ei:
        load_playbook(content_copy)
    msgs = str(ei.value)
    assert "unknown stage 'M9'" in msgs and "fallback" in msgs
