from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from playbook import load_playbook
from playbook.errors import ContentError, UnknownKeyError

SEED_TYPES = {"hostile": "挑衅型", "evasive": "推脱型", "victim": "受害型", "defiant": "自信型",
              "stubborn": "顽固型", "sophisticated": "老练型", "serial_promiser": "保证还款型"}
DIMENSIONS = {"factor", "behaviour_type", "intent", "contactability", "risk_segment", "severity", "stage",
              "lifecycle", "occupation_group", "life_stage", "b2b_type", "communication_style", "ability",
              "willingness", "quadrant", "vulnerable", "team"}


def test_seven_seed_types_bilingual_with_cues_and_tactics():
    bt = load_playbook().dimension("behaviour_type")
    for cid, zh in SEED_TYPES.items():
        c = bt.category(cid)
        assert c.name.zh == zh and c.name.en
        assert c.cues and c.tactics and c.avoid
        assert all(t.zh and t.en for t in c.cues + c.tactics + c.avoid)
    assert {"short_term", "refusing", "unclassified"} <= set(bt.ids)


def test_every_dimension_of_the_domain_is_present():
    pb = load_playbook()
    assert DIMENSIONS <= set(pb.dimensions)
    assert set(pb.dimension("stage").ids) == {"current", "M1", "M2", "M3+"}
    assert set(pb.dimension("contactability").ids) >= {"reachable", "semi_lost", "lost"}
    assert set(pb.dimension("team").ids) == {"early", "mid", "late_legal", "skip_trace", "care"}
    assert len(pb.dimension("factor").categories) == 4


def test_prohibited_practices_carry_reason_and_legal_source():
    pb = load_playbook()
    ids = {p.id for p in pb.prohibited}
    assert {"pressing_relatives", "workplace_exposure", "threats", "shaming", "false_identity",
            "untimely_contact", "extreme_pressure"} <= ids
    for p in pb.prohibited:
        assert p.why_forbidden.zh and p.why_forbidden.en and p.sources


def test_lifecycle_late_stage_is_not_extreme_pressure():
    late = load_playbook().dimension("lifecycle").category("late")
    assert all("极限施压" not in t.zh for t in late.tactics)


def test_unknown_lookups_list_the_known_keys():
    pb = load_playbook()
    with pytest.raises(UnknownKeyError, match="known: .*ability"):
        pb.dimension("nope")
    with pytest.raises(UnknownKeyError, match="hostile"):
        pb.dimension("behaviour_type").category("grumpy")


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _problem(exc: ContentError, file: str) -> tuple[str, str, str, str]:
    hits = [p for p in exc.problems if p[0] == file]
    assert hits, exc.problems
    return hits[0]


def test_unknown_field_names_file_entry_and_field(content_copy):
    _edit(content_copy / "taxonomy/behaviour_type.yaml",
          lambda d: d["dimension"]["categories"][1].update(colour="red"))
    with pytest.raises(ContentError) as ei:
        load_playbook(content_copy)
    f, entry, field, why = _problem(ei.value, "taxonomy/behaviour_type.yaml")
    assert "id: evasive" in entry and field == "colour" and "not permitted" in why.lower()


def test_missing_translation_is_an_error(content_copy):
    _edit(content_copy / "taxonomy/severity.yaml",
          lambda d: d["dimension"]["categories"][2]["name"].pop("en"))
    with pytest.raises(ContentError) as ei:
        load_playbook(content_copy)
    _, entry, field, _ = _problem(ei.value, "taxonomy/severity.yaml")
    assert "id: heavy" in entry and field == "name.en"
    assert re.search(r"severity\.yaml: entry .*heavy.*: field name\.en", str(ei.value))


def test_duplicate_id_is_an_error(content_copy):
    def dup(d):
        d["dimension"]["categories"][1]["id"] = d["dimension"]["categories"][0]["id"]
    _edit(content_copy / "taxonomy/stage.yaml", dup)
    with pytest.raises(ContentError, match=r"stage\.yaml.*duplicate id 'current'"):
        load_playbook(content_copy)


def test_rule_with_unknown_category_or_feature(content_copy):
    def bad(d):
        d["rules"]["willingness"][1]["then"] = "grumpy"
        d["rules"]["willingness"][2]["when"] = "mood_score > 3"
        d["rules"]["team"][0]["when"] = "vulnerable != 'sleepy'"
    _edit(content_copy / "rules/segmentation.yaml", bad)
    with pytest.raises(ContentError) as ei:
        load_playbook(content_copy)
    text = str(ei.value)
    assert "rules.willingness[1] (id: will_paying): field then: unknown willingness category 'grumpy'" in text
    assert "field when: unknown feature or dimension 'mood_score'" in text
    assert "unknown vulnerable category 'sleepy'" in text


def test_rule_may_not_use_a_later_dimension(content_copy):
    _edit(content_copy / "rules/segmentation.yaml",
          lambda d: d["rules"]["stage"][0].update(when="team == 'early'"))
    with pytest.raises(ContentError, match="unknown feature or dimension 'team'"):
        load_playbook(content_copy)


def test_rule_rejects_function_calls(content_copy):
    _edit(content_copy / "rules/segmentation.yaml",
          lambda d: d["rules"]["stage"][0].update(when="__import__('os').system('true')"))
    with pytest.raises(ContentError, match="unsupported syntax"):
        load_playbook(content_copy)


def test_invalid_yaml_names_the_line(content_copy):
    (content_copy / "costs.yaml").write_text("actions: [\n  - broken", encoding="utf-8")
    with pytest.raises(ContentError, match=r"costs\.yaml: entry line \d+"):
        load_playbook(content_copy)


def test_vulnerability_reasons_of_the_data_contract_are_playbook_categories():
    from playbook.schema import VULNERABILITY_REASONS

    assert set(VULNERABILITY_REASONS) <= set(load_playbook().dimension("vulnerable").ids)


def test_an_unknown_feature_in_a_cues_show_list_names_file_cue_and_key(content_copy):
    def bad(d):
        d["scorecards"]["behaviour_type"]["types"]["hostile"][0]["show"] = ["hostile_count", "no_such_feature?"]
    _edit(content_copy / "rules/segmentation.yaml", bad)
    with pytest.raises(ContentError) as ei:
        load_playbook(content_copy)
    f, entry, field, why = _problem(ei.value, "rules/segmentation.yaml")
    assert "hostile_abuse" in entry and field == "show[1]" and "no_such_feature" in why
