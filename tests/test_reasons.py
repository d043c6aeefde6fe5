"""Reasons in words: every rule's ``because`` text, filled with the account's own values."""

from __future__ import annotations

import string
from pathlib import Path

import pandas as pd
import pytest
import yaml

import playbook
from playbook import reasons
from playbook.content import load_playbook
from playbook.errors import ContentError
from playbook.features import derive_features
from playbook.reasons import explain, explain_many, feature_value
from playbook.segmentation import segment

from .helpers import calls, tiny_portfolio

AS_OF = "2026-11-29"


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_every_rule_outside_the_type_scorecard_says_what_it_tested_in_both_languages():
    pb = load_playbook()
    for did, rules in pb.rules.items():
        for r in rules:
            assert r.because is not None, (did, r.id)
            for lang in ("zh", "en"):
                text = r.because(lang)
                assert r.id not in text
                names = {n for _, n, _, _ in string.Formatter().parse(text) if n}
                assert names <= (r.expression.names | set(pb.features) | set(pb.rules) | {"currency"}), (r.id, names)


def test_a_placeholder_the_rule_may_not_read_names_file_entry_and_field(content_copy):
    def bad(d):
        rule = d["rules"]["willingness"][0]
        rule["because"] = {"zh": "{promises_kept}次", "en": "{team} kept {promises_kept}"}
    _edit(content_copy / "rules/segmentation.yaml", bad)
    with pytest.raises(ContentError) as ei:
        load_playbook(content_copy)
    hits = [p for p in ei.value.problems if p[0] == "rules/segmentation.yaml"]
    assert hits, ei.value.problems
    f, entry, field, why = hits[0]
    assert "will_keeps_promises" in entry and field == "because.en" and "team" in why


def test_a_format_that_does_not_fit_is_a_content_error(content_copy):
    _edit(content_copy / "rules/segmentation.yaml",
          lambda d: d["rules"]["quadrant"][1].update(because={"zh": "{ability:.0%}", "en": "{ability}"}))
    with pytest.raises(ContentError, match=r"segmentation\.yaml: entry .*quad_able_willing.*: field because\.zh"):
        load_playbook(content_copy)


def _segmented():
    accounts = [
        {"account_id": "P1", "balance": 9000.0, "overdue_amount": 3000.0, "dpd": 20, "product": "card",
         "monthly_income": 9000.0, "external_debts": 0.0, "age": 40},
        {"account_id": "P2", "balance": 80000.0, "overdue_amount": 60000.0, "dpd": 120, "product": "card", "age": 70},
    ]
    inter = (calls("P1", "2026-11-10", ["ptp", "ptp", "ptp"], ptp_amount=1000.0)
             + calls("P2", "2026-11-20", ["no_answer"] * 4))
    pf = tiny_portfolio(accounts, inter)
    bundle = playbook.prepare(pf, AS_OF)
    return playbook.segment(bundle), bundle.features


def test_explain_fills_in_the_accounts_values_and_never_shows_ids_or_descriptions():
    seg, feats = _segmented()
    pb = load_playbook()
    ids = {r.id for rules in pb.rules.values() for r in rules}
    for aid in seg["account_id"]:
        for lang in ("zh", "en"):
            got = reasons.explain(seg, feats, aid, lang)
            assert set(got) == set(pb.rules)
            row = seg.loc[seg["account_id"] == aid].iloc[0]
            for did, text in got.items():
                assert text and not any(i in text for i in ids), (did, text)
                desc = pb.dimension(did).category(str(row[did])).description(lang)
                assert text != desc
    en = reasons.explain(seg, feats, "P2", "en")
    assert en["stage"] == "120 days past due: more than 60"
    assert "60,000 CNY" in en["severity"]
    assert "Aged 70" in en["vulnerable"] and "Elderly" in en["team"]  # the dimension by its name
    zh = reasons.explain(seg, feats, "P2", "zh")
    assert zh["stage"] == "逾期120天：超过60天"


def test_explain_many_matches_explain_and_a_missing_value_reads_n_a():
    seg, feats = _segmented()
    many = reasons.explain_many(seg, feats, "en")
    for i, aid in enumerate(seg["account_id"]):
        one = reasons.explain(seg, feats, aid, "en")
        for did in many.columns:
            if did != "behaviour_type":
                assert many.iloc[i][did] == one[did]
    assert reasons.rule_text("ability", "ability_low_dti", {"debt_to_income": float("nan")}, "en") == \
        "Debts are n/a times monthly income (6 or less)"
    assert reasons.rule_text("ability", "no_such_rule", {}, "en") == ""


def test_type_reason_names_features_by_their_names():
    seg, feats = _segmented()
    pb = load_playbook()
    for aid in seg["account_id"]:
        for lang in ("zh", "en"):
            text = reasons.type_text(seg, feats, aid, lang)
            assert "=" not in text and "_" not in text, text
            assert text.startswith(pb.label("behaviour_type", str(seg.set_index("account_id").loc[aid, "behaviour_type"]), lang))


def test_a_worklist_reason_names_the_strongest_cues_and_counts_the_rest():
    from playbook.reasons import explain_type

    seg, feats = _segmented()
    pb = load_playbook()
    seen = 0
    for aid in seg["account_id"]:
        cues = explain_type(seg[seg["account_id"] == aid], feats, aid, "en", pb)["cues"]
        if len(cues) < 2:
            continue
        seen += 1
        short = reasons.type_text(seg, feats, aid, "en", most=1)
        strongest = max(cues, key=lambda c: c["strength"])
        assert cues[0] is strongest or cues[0]["strength"] == strongest["strength"]
        rest = len(cues) - 1
        assert cues[0]["text"] in short and (f"{rest} more cues" if rest > 1 else "1 more cue") in short
        assert "1 more cues" not in short
        assert all(c["text"] not in short for c in cues[1:] if c["text"] != cues[0]["text"])
        assert "另有" in reasons.type_text(seg, feats, aid, "zh", most=1)
        assert reasons.type_text(seg, feats, aid, "en") == reasons.type_text(seg, feats, aid, "en", most=len(cues))
    assert seen


def test_amounts_are_named_in_the_portfolios_currency():
    """A book in New Taiwan dollars reads 'TWD' in every reason text, fact and timeline, never
    the playbook's 元/CNY (the amounts are not converted, so the label must be the book's)."""
    import dataclasses

    from playbook.widgets.common import facts_text, timeline_html

    pf = tiny_portfolio([{"account_id": "A1", "dpd": 60, "overdue_amount": 3913.0, "monthly_income": 30000.0}],
                        [{"account_id": "A1", "ts": "2026-11-20 10:00", "outcome": "ptp", "ptp_amount": 1200.0,
                          "ptp_date": "2026-11-25"}],
                        [{"account_id": "A1", "paid_at": "2026-11-21 09:00", "amount": 800.0}])
    pf = dataclasses.replace(pf, currency="TWD")
    seg = segment(pf, "2026-11-29")
    feats = derive_features(pf, "2026-11-29")
    for lang in ("zh", "en"):
        sev = explain_many(seg, feats, lang, dimensions=["severity"], currency=pf.currency)["severity"].iloc[0]
        assert "3,913 TWD" in sev and "3,913 CNY" not in sev and "3,913 元" not in sev, sev
        one = explain(seg, feats, "A1", lang, currency=pf.currency)
        assert "3,913 TWD" in one["severity"]
        assert feature_value("overdue_amount", 3913.0, lang, currency="TWD") == "3,913 TWD"
        page = timeline_html(pf, "A1", seg, load_playbook(), lang)
        assert "1,200 TWD" in page and "800 TWD" in page and "元" not in page and "CNY" not in page
        facts = facts_text(load_playbook(), seg, feats, "A1", lang, currency="TWD")
        assert "元" not in facts["text"] and "CNY" not in facts["text"]
    # without a currency the playbook's is named, as before
    assert "CNY" in explain_many(seg, feats, "en", dimensions=["severity"])["severity"].iloc[0]


@pytest.mark.parametrize(("currency", "severity"), [("CNY", "medium"), ("TWD", "light"), ("USD", "heavy"),
                                                    ("XYZ", "light")])
def test_amount_thresholds_are_read_in_the_rules_currency(currency, severity):
    """The severity rule's 10,000 / 50,000 are CNY (settings.yaml rule_currency): 40,000 overdue
    is medium in yuan, light in New Taiwan dollars (about 9,600 CNY at the listed rate), heavy in
    US dollars; a currency with no listed rate leaves the amount rules out (days decide) and
    its converted amount is missing, never read as yuan."""
    import dataclasses

    pf = tiny_portfolio([{"account_id": "A1", "dpd": 10, "overdue_amount": 40000.0, "balance": 40000.0}])
    pf = dataclasses.replace(pf, currency=currency)
    seg = segment(pf, "2026-11-29")
    feats = derive_features(pf, "2026-11-29")
    assert seg["severity"].iloc[0] == severity
    rate = load_playbook().settings.rate_of(currency)
    assert feats["overdue_amount_ref"].iloc[0] == pytest.approx(40000.0 * rate, nan_ok=True)
    if currency == "XYZ":
        assert pd.isna(feats["overdue_amount_ref"].iloc[0])
    text = explain(seg, feats, "A1", "en", currency=currency)["severity"]
    assert f"40,000 {currency}" in text
    assert ("CNY 50,000" if severity == "heavy" else "CNY 10,000") in text  # the threshold names its currency


def test_a_bucket_reads_as_its_name_and_shares_as_percentages():
    assert feature_value("worst_bucket_12m", 1.0, "en") == "M1 (1-30 days)"
    assert feature_value("worst_bucket_12m", 0.0, "zh") == "正常"
    assert feature_value("ptp_kept_rate", 0.0, "en") == "0%"
    assert feature_value("monthly_income", 19490.0, "zh") == "19,490 元"
