"""The safe expression language: what it computes, and what it refuses before anything runs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook.cli import main
from playbook.errors import ContentError
from playbook.expressions import ExpressionError, parse
from playbook.strategy import get_strategy

FRAME = pd.DataFrame({
    "dpd": [0.0, 15.0, 45.0, np.nan],
    "stage": pd.Categorical(["current", "M1", "M2", None]),
    "share": [0.1, 0.5, np.nan, 0.9],
    "occupation": ["worker", None, "business_owner", "worker"],
})


def _mask(text: str) -> list[bool]:
    return parse(text).mask(FRAME, len(FRAME)).tolist()


@pytest.mark.parametrize("text, expected", [
    ("dpd > 10", [False, True, True, False]),               # missing compares as false
    ("dpd > 10 and stage == 'M1'", [False, True, False, False]),
    ("dpd > 30 or share >= 0.9", [False, False, True, True]),
    ("not dpd > 10", [True, False, False, True]),
    ("stage in ['M1', 'M2']", [False, True, True, False]),
    ("stage not in ['M1', 'M2']", [True, False, False, True]),
    ("stage != 'M2'", [True, True, False, True]),
    ("0 < dpd <= 30", [False, True, False, False]),
    ("dpd + 30 > 40", [False, True, True, False]),
    ("share >= 2 * 0.25", [False, True, False, True]),
    ("where(dpd > 10, share, 1) >= 0.5", [True, True, False, True]),
    ("max(dpd, 20) == 20", [True, True, False, False]),
    ("abs(0 - dpd) > 40", [False, False, True, False]),
    ("isna(dpd) or occupation == 'business_owner'", [False, False, True, True]),
    ("True", [True, True, True, True]),
    ("False", [False, False, False, False]),
])
def test_values_are_computed_element_wise_like_the_rules_expect(text, expected):
    assert _mask(text) == expected


def test_the_callers_frame_is_left_alone():
    before = FRAME.copy()
    _mask("dpd > 10 and stage == 'M1'")
    pd.testing.assert_frame_equal(FRAME, before)


ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "dpd.__class__.__init__.__globals__['os'].system('touch pwned')",
    "stage.__class__",
    "__import__('os').system('touch pwned')",
    "(lambda: 1)()",
    "[x for x in (1, 2)]",
    "(y := 1)",
    "open('pwned', 'w')",
    "getattr(dpd, '__class__')",
    "FRAME['dpd']",
    "f'{dpd}'",
    "2 ** 2 ** 100",
    "'a' * 1000000000",
    "_private > 1",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_escape_chains_are_refused_before_anything_runs(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError) as ei:
        parse(text)
    assert "unsupported syntax" in ei.value.reason or "not a valid expression" in ei.value.reason
    assert list(tmp_path.iterdir()) == []


def test_unknown_names_are_named_with_the_known_ones():
    with pytest.raises(ExpressionError, match="unknown name 'mood'; known: dpd, occupation, share, stage"):
        parse("mood > 1").evaluate(FRAME)


def _strategy_file(path: Path, when: str, call_window: list[str] | None = None) -> Path:
    import yaml

    treatment = {"channels": ["call"], "attempts_per_week": 2}
    if call_window:
        treatment["call_window"] = call_window
    doc = {"strategy": {"id": "shared", "name": {"zh": "共享策略", "en": "Shared strategy"},
                        "description": {"zh": "同事发来的策略文件", "en": "A strategy file from a colleague"},
                        "rules": [{"when": "stage == 'M1'", "treatment": {"channels": ["sms"]}},
                                  {"when": when, "treatment": treatment}]}}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("when", [
    "().__class__.__base__.__subclasses__()",
    "stage.__class__.__init__.__globals__['os'].system('touch pwned')",
    "__import__('os').system('touch pwned')",
    "(lambda: __import__('os').system('touch pwned'))()",
    "[__import__('os').system('touch pwned') for _ in (1,)]",
    "(x := __import__('os').system('touch pwned'))",
])
def test_a_strategy_file_with_an_escape_chain_exits_2_and_runs_nothing(when, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bad = _strategy_file(tmp_path / "shared.yaml", when)
    with pytest.raises(ContentError) as ei:
        get_strategy(bad)
    assert "strategy.rules[1]" in str(ei.value) and "field when" in str(ei.value)
    before = set(os.listdir(tmp_path))
    data = tmp_path / "d"
    assert main(["demo-data", "--accounts", "120", "--seed", "3", "--out", str(data)]) == 0
    capsys.readouterr()
    assert main(["whatif", str(data), "--strategies", str(bad), "--draws", "50"]) == 2
    err = capsys.readouterr().err
    assert "shared.yaml" in err and "rules[1]" in err and "when" in err
    assert not (tmp_path / "pwned").exists()
    assert set(os.listdir(tmp_path)) - before == {"d"}


def test_a_malformed_call_window_is_a_content_error_not_a_traceback(tmp_path):
    bad = _strategy_file(tmp_path / "window.yaml", "True", call_window=["9am", "25:99"])
    with pytest.raises(ContentError) as ei:
        get_strategy(bad)
    text = str(ei.value)
    assert "window.yaml: entry strategy.rules[1]: field treatment.call_window.0" in text
    assert "treatment.call_window.1" in text


def test_shared_subexpressions_are_computed_once_with_the_same_values():
    """A scorecard's cues repeat parts (e.g. the ability reading): with a memo each shared part
    is computed once, and every expression's value is what it is without one."""
    import numpy as np
    import pandas as pd

    from playbook.expressions import parse, shared_subexpressions

    texts = ["min(max((a / b - 1) / 2, 0), 1) * where(c <= 6, 1, 0.5)",
             "min(max((a / b - 1) / 2, 0), 1) * where(c <= 6, 1, 0.5) * where(d >= 1, 1, 0)",
             "where(d >= 1, 2, 0) + min(max((a / b - 1) / 2, 0), 1)", "a + 1", "where(d >= 1, 1, 0)"]
    exprs = [parse(t) for t in texts]
    memo = shared_subexpressions(exprs)
    # the longest repeated part is shared; its inner parts, met only inside it, are not held apart
    assert "min(max((a / b - 1) / 2, 0), 1) * where(c <= 6, 1, 0.5)" in memo
    assert "min(max((a / b - 1) / 2, 0), 1)" in memo  # also met alone, in the third expression
    assert "(a / b - 1) / 2" not in memo and "a + 1" not in memo
    assert "d >= 1" in memo and "where(d >= 1, 1, 0)" in memo
    rng = np.random.default_rng(1)
    cols = {k: pd.Series(v) for k, v in {"a": rng.random(50) * 10, "b": rng.random(50) + 0.1,
                                         "c": rng.integers(0, 12, 50).astype(float), "d": rng.integers(0, 3, 50)}.items()}
    cols["a"].iloc[3] = np.nan
    for e in exprs:
        np.testing.assert_array_equal(np.asarray(e.values(cols, memo), dtype=float), np.asarray(e.values(cols), dtype=float))
    assert all(v is not None for v in memo.values())  # every shared part was computed (once)
