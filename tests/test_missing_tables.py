"""Every command on exports that hold only some tables, account status, and briefing prechecks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.metrics import NEEDS, kpis

SUBSETS = {
    "accounts_only": ("accounts",),
    "accounts_history": ("accounts", "history"),
    "accounts_payments": ("accounts", "payments"),
    "no_interactions": ("accounts", "payments", "history"),
    "no_history": ("accounts", "interactions", "payments"),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("subsets")
    full = root / "full"
    assert main(["demo-data", "--accounts", "150", "--seed", "21", "--out", str(full)]) == 0
    out = {}
    for name, tables in SUBSETS.items():
        d = root / name
        d.mkdir()
        for t in tables:
            shutil.copy(full / f"{t}.parquet", d / f"{t}.parquet")
        out[name] = d
    return out


@pytest.mark.parametrize("name", list(SUBSETS))
def test_every_command_runs_and_says_what_it_cannot_compute(name, exports, tmp_path, capsys):
    d = exports[name]
    missing = [t for t in ("interactions", "payments", "history") if t not in SUBSETS[name]]
    capsys.readouterr()
    assert main(["validate", str(d)]) == 0
    assert main(["segment", str(d), "--as-of", "2026-11-29", "--out", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    for t in missing:
        assert f"note: no {t}:" in err
    assert main(["kpis", str(d), "--as-of", "2026-11-29", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["missing"] == missing
    row = body["kpis"][0]
    assert row["accounts"] == 150
    for t in missing:  # n/a, never a fabricated 0
        assert all(row[k] is None for k in NEEDS[t]), t
    if "payments" not in missing and "interactions" in missing:
        assert row["collected"] is not None
    code = main(["compliance", str(d)])
    out = capsys.readouterr().out
    if "interactions" in missing:
        assert code == 0 and "no interactions to check" in out and "not a clean result" in out
    else:
        assert code in (0, 1) and "interactions checked" in out
    assert main(["whatif", str(d), "--as-of", "2026-11-29", "--draws", "50"]) == 0


def test_accounts_only_what_if_needs_an_as_of_and_says_so(exports, capsys):
    assert main(["whatif", str(exports["accounts_only"]), "--draws", "50"]) == 2
    assert "no contacts, payments or history to take a default from" in capsys.readouterr().err
    # with history alone, the default is the month after the last history month
    assert main(["whatif", str(exports["accounts_history"]), "--draws", "50"]) == 0


def test_roll_forward_without_history_is_not_zero(exports):
    pf = playbook.load_portfolio(exports["no_history"])
    res = playbook.simulate(pf, ["champion"], 30, 50, 0, as_of="2026-11-29")
    assert np.isnan(res.totals.loc["champion", "roll_forward"])


def _with_status(pf: playbook.Portfolio, status: dict[int, str]) -> playbook.Portfolio:
    acc = pf.accounts.copy()
    acc["status"] = "open"
    for i, s in status.items():
        acc.loc[i, "status"] = s
    return playbook.Portfolio(acc, pf.interactions, pf.payments, pf.history, timezone=pf.timezone)


def test_closed_accounts_leave_queues_and_charged_off_accounts_route_to_late_legal():
    pf = playbook.demo_portfolio(200, 3, "2026-11-29")
    top = playbook.segment(pf, "2026-11-29").sort_values("priority", ascending=False)["account_id"].head(8)
    pos = {aid: i for i, aid in enumerate(pf.accounts["account_id"])}
    closed = {pos[a]: s for a, s in zip(top[:6], ["paid_off", "closed", "settled", "sold", "bankrupt", "deceased"])}
    charged = {pos[a]: "charged_off" for a in top[6:]}
    pf2 = _with_status(pf, {**closed, **charged})
    seg = playbook.segment(pf2, "2026-11-29", lang="en").set_index("account_id")
    for a in top[:6]:
        assert not seg.loc[a, "worked"] and seg.loc[a, "priority"] == 0
        assert seg.loc[a, "recommended_treatment"].startswith("Not worked: ")
    for a in top[6:]:
        assert seg.loc[a, "worked"] and seg.loc[a, "team"] == "late_legal"
        assert seg.loc[a, "reason_team"] == "team_charged_off"
    by_status = kpis(pf2, "2026-11-29", by="status", segments=seg.reset_index())
    assert by_status["accounts"].sum() == 200 and by_status.loc["paid_off", "accounts"] == 1


def test_a_closed_account_is_never_in_a_worklist(tmp_path):
    from playbook.briefing import prepare, team_briefing

    pf = playbook.demo_portfolio(200, 3, "2026-11-29")
    seg = playbook.segment(pf, "2026-11-29")
    first = seg.sort_values(["priority", "account_id"], ascending=[False, True]).iloc[0]
    pos = int(np.flatnonzero(pf.accounts["account_id"] == first["account_id"])[0])
    pf2 = _with_status(pf, {pos: "paid_off"})
    cache = prepare(pf2, "2026-11-29", tmp_path / "prep")
    b = team_briefing(None, "2026-11-29", str(first["team"]), lang="en", top_n=50, prepared=cache)
    assert first["account_id"] not in set(b.worklist.iloc[:, 1])
    assert first["account_id"] not in set(b.segments["account_id"])


def test_briefings_check_everything_before_any_kernel_and_write_nothing(exports, tmp_path, capsys):
    d = exports["no_interactions"]
    out = tmp_path / "reports"
    assert main(["briefings", str(d), "--as-of", "2026-11-29", "--out", str(out), "--pack", "zz"]) == 2
    assert main(["briefings", str(d), "--as-of", "2026-11-29", "--out", str(out), "--top-n", "0"]) == 2
    assert main(["briefings", str(d), "--as-of", "2026-11-29", "--out", str(out), "--teams", "nobody"]) == 2
    assert main(["briefings", str(tmp_path / "nothing-here"), "--as-of", "2026-11-29", "--out", str(out)]) == 2
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["briefings", str(d), "--as-of", "2026-11-29", "--out", str(blocker / "reports")]) == 2
    assert not out.exists()
    assert "cannot write reports here" in capsys.readouterr().err


def test_briefings_without_a_contact_log_say_na_and_write_manifest(exports, tmp_path):
    out = tmp_path / "r"
    assert main(["briefings", str(exports["no_interactions"]), "--as-of", "2026-11-29", "--teams", "mid",
                 "--out", str(out), "--lang", "en", "--jobs", "1"]) == 0
    page = (out / "2026-11-29" / "mid.html").read_text(encoding="utf-8")
    assert "no interactions: behaviour types unclassified" in page
    assert ">n/a<" in page
    # nothing known of today's calls or the promises: said so, not "6 call(s) left" or "none"
    assert "call(s) left today" not in page and "calls made today unknown (no contact log)" in page
    assert "Accounts with no calls left today: n/a (no contact log)" in page
    assert "No contact log: the promises to pay are unknown" in page and "Promises due today (0)" not in page
    assert "<html lang=\"en\">" in page
    manifest = json.loads((out / "2026-11-29" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["missing_tables"] == ["interactions"]


def test_a_briefing_without_a_contact_log_says_what_is_unknown_in_zh(exports, tmp_path):
    from playbook.briefing import prepare, team_briefing
    from playbook.loading import load_portfolio

    pf = load_portfolio(exports["no_interactions"])
    cache = prepare(pf, "2026-11-29", tmp_path / "prep")
    b = team_briefing(None, "2026-11-29", "mid", lang="zh", top_n=20, prepared=cache)
    contact = b.worklist["今日联系"].tolist()
    assert contact and all(c.startswith("今日已呼次数不明（无联络记录）") for c in contact)
    assert "今日不可再致电的账户：不适用（无联络记录）" in b.alerts_html()
    assert "无联络记录：不知道有哪些还款承诺" in b.promises_html()


def test_a_failed_preparation_still_writes_manifest_and_index(exports, tmp_path, monkeypatch):
    import playbook.briefing

    def broken(*args, **kwargs):
        raise ValueError("disk full while preparing")

    monkeypatch.setattr(playbook.briefing, "prepare", broken)
    out = tmp_path / "r"
    assert main(["briefings", str(exports["no_history"]), "--as-of", "2026-11-29", "--teams", "early",
                 "--out", str(out), "--jobs", "1"]) == 1
    manifest = json.loads((out / "2026-11-29" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["teams"][0]["status"] == "failed"
    assert "disk full while preparing" in manifest["error"]
    assert (out / "2026-11-29" / "index.html").is_file()
