"""The seed-coverage table: every section of every seed is listed, with content ids that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import playbook
from playbook.content import default_content_dir
from playbook.widgets.craft import load_trainer, resolve_ref

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
TABLE = default_content_dir() / "seed_coverage.yaml"


def seed_headings(text: str) -> list[tuple[int, str]]:
    """The section headings of a seed file: its first line, and every document title (a line
    repeated on the next non-empty line, and each later occurrence of such a title)."""
    ne = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not ne:
        return []
    titles = {ne[0][1]} | {ne[k][1] for k in range(len(ne) - 1) if ne[k][1] == ne[k + 1][1]}
    return [(n, t) for k, (n, t) in enumerate(ne) if t in titles and (k == 0 or ne[k - 1][1] != t)]


def _table() -> dict:
    return yaml.safe_load(TABLE.read_text(encoding="utf-8"))["seeds"]


def _seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


def test_every_entry_names_ids_that_exist():
    pb, material = playbook.load_playbook(), load_trainer()
    bad = []
    for file, sections in _table().items():
        for sec in sections:
            assert sec["parts"], f"{file}:{sec['line']} {sec['heading']}: no parts"
            for part in sec["parts"]:
                assert part["ids"], f"{file}:{sec['line']} {part['quote']}: no ids"
                for ref in part["ids"]:
                    why = resolve_ref(ref, pb, material)
                    if why:
                        bad.append(f"{file}:{sec['line']} {sec['heading']} / {part['quote']}: {why}")
    assert not bad, "\n".join(bad)


def test_resolve_ref_rejects_what_does_not_exist():
    pb, material = playbook.load_playbook(), load_trainer()
    assert resolve_ref("behaviour_type:hostile", pb, material) is None
    assert resolve_ref("stage:M3+", pb, material) is None
    assert resolve_ref("trainer:craft_measure", pb, material) is None
    for ref in ("behaviour_type:no_such", "trainer:no_such", "prohibited:no_such", "compliance:cn.no_such",
                "strategy:no_such", "metric:no_such", "cue:no_such", "nonsense:x", "no colon"):
        assert resolve_ref(ref, pb, material), ref


@pytest.mark.skipif(not _seed_files(), reason="the shared seeds folder is absent")
def test_every_seed_heading_is_in_the_table_and_every_quote_is_in_its_section():
    table = _table()
    for path in _seed_files():
        text = path.read_text(encoding="utf-8")
        heads = seed_headings(text)
        assert heads, path.name
        listed = [(s["line"], s["heading"]) for s in table.get(path.name, [])]
        missing = sorted(set(heads) - set(listed))
        extra = sorted(set(listed) - set(heads))
        assert not missing, f"{path.name}: seed sections missing from seed_coverage.yaml: {missing}"
        assert not extra, f"{path.name}: entries that are not headings of the seed: {extra}"
        lines = text.splitlines()
        starts = [n for n, _ in heads] + [len(lines) + 1]
        for sec in table[path.name]:
            k = starts.index(sec["line"])
            body = "\n".join(lines[sec["line"] - 1:starts[k + 1] - 1])
            for part in sec["parts"]:
                assert part["quote"] in body, f"{path.name}:{sec['line']} {sec['heading']}: quote not in the section: {part['quote']}"


@pytest.mark.skipif(not _seed_files(), reason="the shared seeds folder is absent")
def test_every_craft_and_case_section_is_taught_by_trainer_material():
    """Issue 15: the trainer teaches the craft and case sections, not only the taxonomy."""
    for file, sections in _table().items():
        for sec in sections:
            if sec["kind"] in ("craft", "case"):
                refs = [r for p in sec["parts"] for r in p["ids"]]
                assert any(r.startswith("trainer:") for r in refs), f"{file}:{sec['line']} {sec['heading']}"


def test_a_missing_heading_or_unknown_id_fails(tmp_path):
    """The checks above fail for a heading left out and for an id that does not exist."""
    text = "标题\n\n甲文档\n\n甲文档\n\n内容一\n\n乙文档\n\n乙文档\n\n内容二\n"
    assert seed_headings(text) == [(1, "标题"), (3, "甲文档"), (9, "乙文档")]
    assert resolve_ref("trainer:case_that_was_never_written") is not None
