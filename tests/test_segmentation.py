from __future__ import annotations

import pandas as pd
import pytest
import yaml

import playbook
from playbook.cli import main
from playbook.features import derive_features
from playbook.segmentation import segment

from .helpers import calls, tiny_portfolio

AS_OF = "2026-11-29"
DIMS = ["stage", "lifecycle", "severity", "contactability", "ability", "willingness", "quadrant", "behaviour_type",
        "intent", "risk_segment", "occupation_group", "life_stage", "vulnerable", "team"]


def test_one_row_per_account_with_every_dimension_and_reasons(demo):
    seg = segment(demo, AS_OF)
    assert len(seg) == len(demo.accounts) and seg["account_id"].is_unique
    for d in DIMS:
        assert seg[d].notna().all(), d
        assert seg[f"reason_{d}"].str.len().gt(0).all()
        ids = set(playbook.load_playbook().dimension(d).ids)
        assert set(seg[d]) <= ids
    assert seg["reasons"].str.count("=").eq(len(DIMS)).all()
    assert seg["priority"].between(0, 100).all()
    assert seg["recommended_treatment"].str.len().gt(10).all()


def test_reasons_name_the_rule_that_fired():
    pf = tiny_portfolio([{"account_id": "H", "dpd": 45}], calls("H", "2026-11-20", ["hostile", "hostile", "rpc", "refuse"]))
    row = segment(pf, AS_OF).iloc[0]
    assert row["behaviour_type"] == "hostile" and row["reason_behaviour_type"] == "hostile_abuse"
    assert row["stage"] == "M2" and "stage=stage_m2" in row["reasons"]
    assert 0.5 < row["confidence"] <= 1
    assert row["type_cues"].split(";")[0] == "hostile_abuse"


def test_thin_evidence_is_unclassified():
    """Too little evidence for every type: one unanswered call and one conversation without outcome."""
    pf = tiny_portfolio([{"account_id": "T", "dpd": 50}], calls("T", "2026-11-20", ["no_answer", "rpc"]))
    row = segment(pf, AS_OF).iloc[0]
    assert row["behaviour_type"] == "unclassified" and row["reason_behaviour_type"] == "type_too_little_evidence"
    assert row["type_score"] < playbook.load_playbook().scorecards["behaviour_type"].min_score
    assert row["confidence"] == 0


def test_two_hostile_conversations_are_enough():
    """The old gate (fewer than 3 right-party contacts: unclassified) is gone: evidence decides."""
    pf = tiny_portfolio([{"account_id": "T"}], calls("T", "2026-11-20", ["hostile", "hostile"]))
    assert segment(pf, AS_OF).iloc[0]["behaviour_type"] == "hostile"


def test_team_routing():
    pf = tiny_portfolio(
        [{"account_id": "early", "dpd": 10}, {"account_id": "mid", "dpd": 75}, {"account_id": "late", "dpd": 120},
         {"account_id": "lost", "dpd": 40}, {"account_id": "vuln", "dpd": 40, "vulnerable": "health"},
         {"account_id": "old", "dpd": 10, "age": 72}],
        calls("early", "2026-11-20", ["rpc"]) + calls("mid", "2026-11-20", ["rpc"]) + calls("late", "2026-11-20", ["rpc"])
        + calls("lost", "2026-11-20", ["wrong_number", "no_answer", "power_off"]) + calls("vuln", "2026-11-20", ["rpc"])
        + calls("old", "2026-11-20", ["rpc"]))
    seg = segment(pf, AS_OF).set_index("account_id")
    assert seg["team"].to_dict() == {"early": "early", "mid": "mid", "late": "late_legal", "lost": "skip_trace",
                                     "vuln": "care", "old": "care"}
    assert seg.loc["lost", "contactability"] == "lost"
    assert seg.loc["old", "vulnerable"] == "elderly"


def test_treatment_is_bilingual_and_follows_the_playbook():
    pf = tiny_portfolio([{"account_id": "S", "dpd": 20}], calls("S", "2026-11-20", ["ptp", "ptp", "ptp", "rpc"],
                                                                   ptp_amount=100.0, ptp_date="2026-11-21"))
    en = segment(pf, AS_OF, lang="en").iloc[0]
    zh = segment(pf, AS_OF, lang="zh").iloc[0]
    bt = playbook.load_playbook().dimension("behaviour_type").category(en["behaviour_type"])
    assert bt.tactics[0].en in en["recommended_treatment"]
    assert bt.tactics[0].zh in zh["recommended_treatment"]


def test_rules_are_editable_yaml(content_copy):
    rules = content_copy / "rules" / "segmentation.yaml"
    data = yaml.safe_load(rules.read_text(encoding="utf-8"))
    data["rules"]["team"].insert(0, {"id": "team_all_mid", "when": "dpd >= 0", "then": "mid"})
    rules.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    pb = playbook.load_playbook(content_copy)
    pf = tiny_portfolio([{"account_id": "A", "dpd": 5}])
    row = segment(pf, AS_OF, playbook=pb).iloc[0]
    assert row["team"] == "mid" and row["reason_team"] == "team_all_mid"


def test_recovers_the_hidden_type_on_demo_data():
    """Regression floor on the first generator, accounts with >= 3 contact attempts (measured
    0.664 macro, worst type defiant 0.43, on 30,000 accounts, seed 2; the issue's target 0.75
    is not met there: see ``python -m bench segmentation_accuracy``, which also prints the
    setting's ceiling). This generator's defiant debtor mostly talks without committing and
    sometimes refuses, which the seed reads as the stubborn's unless the debtor shows money
    (顽固就会愿意聊; 我手里一直有钱). Money is read against what the account owes, so that any
    currency gives the same types, while this generator draws the defiant's income higher in
    absolute terms only, independent of the balance: hence the lower floor per type than on the
    seed's generator."""
    pf = playbook.demo_portfolio(8000, 21, AS_OF)
    seg = segment(pf, AS_OF)
    attempts = derive_features(pf, AS_OF)["attempts"].to_numpy()
    m = seg.assign(truth=pf.truth["behaviour_type"].to_numpy())[attempts >= 3]
    recall = (m["behaviour_type"] == m["truth"]).groupby(m["truth"]).mean()
    assert len(recall) == 8
    assert recall.mean() >= 0.65, recall
    assert recall.min() >= 0.4, recall


def test_recovers_the_hidden_type_on_the_independent_generator():
    """The generator written from the seed's passages (measured 0.828 macro on 30,000 accounts, seed 2)."""
    from playbook.demo_seed import seed_portfolio

    pf = seed_portfolio(8000, 21, AS_OF)
    seg = segment(pf, AS_OF)
    attempts = derive_features(pf, AS_OF)["attempts"].to_numpy()
    m = seg.assign(truth=pf.truth["behaviour_type"].to_numpy())[attempts >= 3]
    recall = (m["behaviour_type"] == m["truth"]).groupby(m["truth"]).mean()
    assert len(recall) == 8
    assert recall.mean() >= 0.75, recall
    assert recall.min() >= 0.6, recall


def test_cli_segment_writes_parquet_and_csv(tmp_path, capsys):
    assert main(["demo-data", "--accounts", "200", "--seed", "1", "--out", str(tmp_path / "d")]) == 0
    for ext in ("parquet", "csv"):
        out = tmp_path / f"seg.{ext}"
        assert main(["segment", str(tmp_path / "d"), "--as-of", AS_OF, "--out", str(out)]) == 0
        seg = pd.read_parquet(out) if ext == "parquet" else pd.read_csv(out, encoding="utf-8-sig")
        assert len(seg) == 200 and set(DIMS) <= set(seg.columns) and "reasons" in seg.columns
    assert main(["segment", str(tmp_path / "d"), "--as-of", AS_OF, "--out", str(tmp_path / "seg.txt")]) == 2
    assert "--out" in capsys.readouterr().err


def test_segmentation_leaves_the_callers_frames_alone(demo):
    from playbook.segmentation import apply_rules

    feats = derive_features(demo, AS_OF)
    before = feats.copy()
    accounts = demo.accounts.copy()
    apply_rules(feats)
    segment(demo, AS_OF)
    pd.testing.assert_frame_equal(feats, before)
    pd.testing.assert_frame_equal(demo.accounts, accounts)


def test_segment_keeps_the_features_of_a_bundle_it_was_given_and_gives_the_same_result():
    """segment frees the features of a bundle it made itself; a bundle the caller passes
    keeps its features for the caller's next use, and both ways give the same segments."""
    from playbook.prepared import prepare

    pf = tiny_portfolio([{"account_id": "A", "dpd": 12}, {"account_id": "B", "dpd": 70}],
                        calls("A", "2026-11-20", ["ptp", "rpc"], ptp_amount=50.0, ptp_date="2026-11-21")
                        + calls("B", "2026-11-20", ["refuse", "refuse", "rpc"]))
    prep = prepare(pf, AS_OF)
    feats = prep.features
    from_bundle = segment(prep)
    assert prep.features is feats
    pd.testing.assert_frame_equal(from_bundle, segment(pf, AS_OF))


def test_a_bundle_keeps_the_promises_derived_beside_its_features(demo):
    from playbook.features import derive_features, promise_states
    from playbook.prepared import prepare

    prep = prepare(demo, AS_OF)
    feats = prep.features  # the promises are derived beside the counts, once
    assert "promises" in prep._memo
    pd.testing.assert_frame_equal(prep.promises, promise_states(demo.interactions, demo.payments, AS_OF))
    pd.testing.assert_frame_equal(feats, derive_features(demo, AS_OF))
    other = prepare(demo, AS_OF)
    ps = other.promises  # asked for first: the features use them
    assert other.promises is ps
    pd.testing.assert_frame_equal(other.features, feats)


def test_vulnerable_accounts_are_recommended_the_care_path_only():
    """No late-stage escalation (field visits, legal, placement) is recommended to a vulnerable
    customer in the segment output; the care path says such steps need a review first."""
    import playbook

    pf = playbook.demo_portfolio(3000, 5, "2026-11-29")
    pb = playbook.load_playbook()
    for lang in ("en", "zh"):
        seg = playbook.segment(pf, "2026-11-29", lang=lang)
        vul = (seg["vulnerable"].astype(str).isin(pb.dimension("vulnerable").ids)
               & (seg["vulnerable"].astype(str) != "none") & seg["worked"])  # idle accounts say "not worked"
        late = pb.dimension("stage").category("M3+").tactics[0](lang)
        assert vul.sum() > 0 and (seg.loc[vul, "stage"].astype(str) == "M3+").any()
        shown = seg.loc[vul, "recommended_treatment"].astype(str)
        assert shown.str.startswith(pb.text("briefing.care_path", lang)).all()
        assert not shown.str.contains(late, regex=False).any()
        assert seg.loc[~vul & (seg["stage"].astype(str) == "M3+"), "recommended_treatment"].astype(str).str.contains(
            late, regex=False).any()  # the others still get the stage's tactic


@pytest.mark.parametrize("generator", ["demo", "seed"])
def test_rules_applied_in_two_halves_equal_one_pass(generator, monkeypatch):
    """A large book's rules run in two halves side by side; the joined result is the one pass's,
    categories and their order included (the fired-cue texts sorted, "" first)."""
    import playbook.segmentation as seg_mod
    from playbook.demo_seed import seed_portfolio
    from playbook.prepared import prepare

    pf = (playbook.demo_portfolio if generator == "demo" else seed_portfolio)(3000, 5, "2026-11-29")
    prep = prepare(pf, "2026-11-29")
    feats = prep.features_for(90)
    one = seg_mod._apply_rules(feats, prep.playbook)
    monkeypatch.setattr(seg_mod, "_SPLIT_ROWS", 2)
    halves = seg_mod.apply_rules(feats, prep.playbook)
    pd.testing.assert_frame_equal(halves, one)
    cues = halves["cues_behaviour_type"].cat.categories
    assert list(cues) == sorted(cues) and cues[0] == ""


def test_no_vulnerability_with_an_unknown_age_does_not_claim_the_customer_is_not_elderly():
    """Without an age the special-group reason says the age is unknown rather than "not over 60"."""
    from playbook.reasons import explain

    pf = tiny_portfolio([{"account_id": "K", "age": 40.0}, {"account_id": "U", "age": None}, {"account_id": "O", "age": 70.0}],
                        calls("K", "2026-11-20", ["rpc"]))
    seg = segment(pf, "2026-11-29").set_index("account_id")
    assert list(seg["vulnerable"]) == ["none", "none", "elderly"]
    assert seg.loc["K", "reason_vulnerable"] == "vuln_none" and seg.loc["U", "reason_vulnerable"] == "vuln_none_age_unknown"
    feats = derive_features(pf, "2026-11-29")
    assert "not over 60" in explain(seg.reset_index(), feats, "K")["vulnerable"]
    assert "age unknown" in explain(seg.reset_index(), feats, "U", "en")["vulnerable"]
    assert "年龄未知" in explain(seg.reset_index(), feats, "U", "zh")["vulnerable"]
