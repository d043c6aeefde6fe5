from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

import playbook
from playbook.cli import main
from playbook.errors import ContentError
from playbook.learning import learn, read_results, update_effect, write_response
from playbook.whatif import EFFECT_SD_LOG, analyze_test, calibrate, load_response, simulate

AS_OF = "2026-11-29"


def _experiment(true_factor: float, n: int, seed: int, base: float = 0.5) -> pd.DataFrame:
    """One promise per account; kept with ``base`` (champion) or ``base * true_factor`` (challenger)."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "challenger", "champion")
    p = np.where(arm == "challenger", base * true_factor, base)
    return pd.DataFrame({"account_id": np.arange(n), "arm": arm, "kept": (rng.random(n) < p).astype(float)})


def test_analyze_test_writes_a_results_file_learn_reads(tmp_path):
    res = analyze_test(_experiment(1.3, 4000, 1), outcome="kept", test_id="payday_q4", effect="payday_aligned",
                       param="keep", out=tmp_path / "r.yaml")
    back = read_results(tmp_path / "r.yaml")
    assert back["test"] == "payday_q4" and back["effect"] == "payday_aligned" and back["param"] == "keep"
    assert back["challenger_mean"] == pytest.approx(res["challenger_mean"])
    assert len(back["results_sha256"]) == 64


def test_update_effect_is_the_normal_normal_posterior_on_the_log_scale():
    r = {"champion_mean": 0.5, "challenger_mean": 0.6, "champion_sd": 0.5, "challenger_sd": 0.49,
         "n_champion": 1000, "n_challenger": 1000}
    u = update_effect(1.1, 0.25, r)
    se2 = 0.49 ** 2 / (1000 * 0.36) + 0.5 ** 2 / (1000 * 0.25)  # recomputed by hand
    prec = 1 / 0.0625 + 1 / se2
    mu = (math.log(1.1) / 0.0625 + math.log(1.2) / se2) / prec
    assert u["posterior"]["factor"] == pytest.approx(math.exp(mu), rel=1e-5)
    assert u["posterior"]["sd_log"] == pytest.approx(prec ** -0.5, rel=1e-5)
    assert u["observed"]["factor"] == pytest.approx(1.2)
    assert u["posterior"]["p05"] < u["posterior"]["factor"] < u["posterior"]["p95"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_posterior_moves_toward_a_known_truth_and_covers_it(seed):
    truth = 1.30  # the shipped prior of payday_aligned on keep is 1.10
    rv = load_response()
    prior = rv.priors.effects["payday_aligned"].multiply["keep"]
    res = analyze_test(_experiment(truth, 3000, seed), outcome="kept")
    new, entries = learn([{**res, "test": f"sim{seed}", "effect": "payday_aligned", "param": "keep"}], response=rv)
    post = new.priors.effects["payday_aligned"].multiply["keep"]
    e = entries[0]
    assert abs(math.log(post / truth)) < abs(math.log(prior / truth))  # closer to the truth than the prior
    assert e["posterior"]["p05"] <= truth <= e["posterior"]["p95"]
    assert e["posterior"]["sd_log"] < EFFECT_SD_LOG  # and surer
    assert new.version == 2 and new.provenance[-1]["test"] == f"sim{seed}"


def test_posterior_interval_covers_the_truth_about_90_percent_of_the_time():
    rv = load_response()
    hits = 0
    for seed in range(200):
        res = analyze_test(_experiment(1.3, 600, 100 + seed), outcome="kept")
        _, (e,) = learn([{**res, "test": "t", "effect": "payday_aligned", "param": "keep"}], response=rv)
        hits += e["posterior"]["p05"] <= 1.3 <= e["posterior"]["p95"]
    assert 0.84 <= hits / 200 <= 0.96


def test_write_response_round_trips_with_provenance_and_whatif_names_the_version(tmp_path):
    pb = playbook.load_playbook()
    rv = load_response(playbook=pb)
    assert rv.version == 1 and rv.label.startswith("v1 (shipped")
    res = analyze_test(_experiment(1.3, 5000, 9), outcome="kept")
    new, _ = learn([{**res, "test": "payday_q4", "effect": "payday_aligned", "param": "keep"}], response=rv)
    written = write_response(new, tmp_path / "response_v2.yaml", parent=rv)
    back = load_response(tmp_path / "response_v2.yaml")
    assert back.version == 2 and back.sha256 == written.sha256
    assert back.priors.effects["payday_aligned"].multiply["keep"] == new.priors.effects["payday_aligned"].multiply["keep"]
    assert back.provenance[0]["test"] == "payday_q4" and "moved" in back.provenance[0]
    raw = yaml.safe_load((tmp_path / "response_v2.yaml").read_text(encoding="utf-8"))
    assert raw["parent"]["version"] == 1 and raw["parent"]["sha256"] == rv.sha256
    # untouched effects keep their factors
    assert back.priors.effects["mornings"] == rv.priors.effects["mornings"]
    pf = playbook.demo_portfolio(400, 3, AS_OF)
    seg = playbook.segment(pf, AS_OF)
    r = simulate(pf, ["payday_calling"], 30, 50, 0, as_of=AS_OF, segments=seg, response=tmp_path / "response_v2.yaml")
    assert r.response_version == back.label and "payday_q4" in r.response_version
    assert calibrate(pf, seg, AS_OF).version == rv.label


def test_bad_results_and_response_files_name_file_and_field(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("test: x\neffect: payday_aligned\nparam: keep\n", encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        read_results(p)
    assert "bad.yaml" in str(exc.value) and "champion_mean" in str(exc.value)
    p.write_text(yaml.safe_dump({"test": "x", "effect": "payday_aligned", "param": "speed", "champion_mean": 0.5,
                                 "challenger_mean": 0.6, "champion_sd": 0.5, "challenger_sd": 0.5, "n_champion": 10,
                                 "n_challenger": 10}), encoding="utf-8")
    with pytest.raises(ContentError, match="param"):
        read_results(p)
    q = tmp_path / "resp.yaml"
    q.write_text("version: 2\nresponse: {strength: -1}\n", encoding="utf-8")
    with pytest.raises(ContentError, match="resp.yaml"):
        load_response(q)


def test_cli_learn_writes_a_version_and_whatif_states_it(tmp_path, capsys):
    analyze_test(_experiment(1.3, 4000, 5), outcome="kept", test_id="payday_q4", effect="payday_aligned",
                 param="keep", out=tmp_path / "r.yaml")
    out = tmp_path / "response_v2.yaml"
    assert main(["learn", str(tmp_path / "r.yaml"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "payday_aligned" in text and "v2 (learned from payday_q4" in text
    assert main(["learn", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "v3.yaml"), "--response", str(out),
                 "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["to"].startswith("v3") and body["updates"][0]["from_version"] == 2
    assert main(["learn", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "x.yaml")]) == 2
    assert not (tmp_path / "x.yaml").exists()
    capsys.readouterr()
    assert main(["demo-data", "--accounts", "300", "--seed", "2", "--out", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    assert main(["whatif", str(tmp_path / "d"), "--strategies", "champion", "payday_calling", "--draws", "50",
                 "--response", str(out)]) == 0
    assert "response model: v2 (learned from payday_q4" in capsys.readouterr().out
