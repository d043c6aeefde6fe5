"""Briefings through papermill: one real run per team on small demo data."""

from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.loading import write_portfolio
from playbook.runner import default_template, run_briefings

AS_OF = "2026-11-29"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("brief_demo")
    pf = playbook.demo_portfolio(600, 8, AS_OF)
    # a hostile name in the data: it must reach the page escaped (and masked)
    seg = playbook.segment(pf, AS_OF)
    top = seg.sort_values("priority", ascending=False).groupby("team").head(1)
    pf.accounts.loc[pf.accounts["account_id"].isin(top["account_id"]), "name"] = "<script>alert(1)</script>"
    write_portfolio(pf, d)
    return d, pf


@pytest.fixture(scope="module")
def run(demo_dir, tmp_path_factory):
    d, _ = demo_dir
    out = tmp_path_factory.mktemp("reports")
    manifest = run_briefings(d, AS_OF, out=out, jobs=2, lang="zh", log=lambda m: None)
    return out / AS_OF, manifest


def test_every_team_ok_with_manifest_and_index(run):
    where, manifest = run
    teams = set(playbook.load_playbook().teams)
    assert {t["team"] for t in manifest["teams"]} == teams
    assert all(t["status"] == "ok" for t in manifest["teams"]), manifest
    on_disk = json.loads((where / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["data_sha256"] == manifest["data_sha256"] and len(on_disk["data_sha256"]) == 64
    for t in on_disk["teams"]:
        assert {"team", "status", "seconds", "accounts", "data_sha256", "playbook_version", "parameters"} <= set(t)
    index = (where / "index.html").read_text(encoding="utf-8")
    assert on_disk["currency"] == "CNY" and "（元）" in index  # the amounts' unit heads the collected column
    for team in teams:
        assert f"href='{team}.html'" in index
        assert (where / f"{team}.ipynb").is_file()
    assert not list(where.glob("*.tmp*")), "no half-written files"


def test_pages_hold_the_worklist_and_no_code_or_raw_pii(run, demo_dir):
    where, _ = run
    _, pf = demo_dir
    phones = set(pf.accounts["phone"])
    seg = pd.read_parquet(where / ".prepared" / "segments.parquet")
    for team in playbook.load_playbook().teams:
        page = (where / f"{team}.html").read_text(encoding="utf-8")
        top = seg[seg["team"] == team].sort_values(["priority", "account_id"], ascending=[False, True]).head(5)
        for aid in top["account_id"]:
            assert aid in page, (team, aid)
        assert "from playbook import" not in page and "team_briefing(" not in page
        assert not phones & set(re.findall(r"1[3-9]\d{9}", page)), team
        assert "<script>alert" not in page and "&lt;*" in page
        side = json.loads((where / f"{team}.json").read_text(encoding="utf-8"))
        assert side["team"] == team and "rpc_rate" in side["kpis"]


def test_pages_load_nothing_from_the_network(run):
    """A team page opens on an intranet with no internet and tells no CDN who read it."""
    where, _ = run
    for page in sorted(where.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert not re.findall(r"""(?:src|href)=["']?https?://""", text), page.name
        assert "import(" not in text and "require.min.js" not in text and "mathjax" not in text.lower(), page.name


def test_second_briefing_compares_kpis_with_the_first(run, demo_dir):
    where, _ = run
    d, _ = demo_dir
    later = run_briefings(d, "2026-11-30", teams="early", out=where.parent, jobs=1, log=lambda m: None)
    assert later["teams"][0]["status"] == "ok"
    page = (where.parent / "2026-11-30" / "early.html").read_text(encoding="utf-8")
    assert "较上期" in page


def test_one_failing_team_leaves_the_others_and_exits_1(demo_dir, tmp_path, capsys):
    d, _ = demo_dir
    nb = nbformat.read(default_template(), as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell('if team == "mid":\n    raise RuntimeError("forced failure for mid")'))
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    code = main(["briefings", str(d), "--as-of", AS_OF, "--teams", "early,mid,care", "--out", str(tmp_path / "r"),
                 "--template", str(broken), "--lang", "en"])
    assert code == 1
    manifest = json.loads((tmp_path / "r" / AS_OF / "manifest.json").read_text(encoding="utf-8"))
    status = {t["team"]: t for t in manifest["teams"]}
    assert status["early"]["status"] == "ok" and status["care"]["status"] == "ok"
    assert status["mid"]["status"] == "failed" and "forced failure for mid" in status["mid"]["error"]
    assert (tmp_path / "r" / AS_OF / "early.html").is_file()
    assert "FAILED: mid" in capsys.readouterr().out


def test_unknown_team_is_a_usage_error(demo_dir, tmp_path, capsys):
    d, _ = demo_dir
    assert main(["briefings", str(d), "--as-of", AS_OF, "--teams", "early,nightshift", "--out", str(tmp_path)]) == 2
    assert "unknown team 'nightshift'" in capsys.readouterr().err


def test_team_roll_and_cure_tiles_use_the_book_at_the_start_of_the_period(tmp_path):
    """Recomputed by hand: early works M1, mid works M2 (teams.yaml)."""
    import pandas as pd

    from playbook.briefing import prepare, team_briefing

    from .helpers import tiny_portfolio

    paths = {"A": ("M1", "M2", 45), "B": ("M1", "current", 0), "C": ("M2", "M3+", 75), "D": ("M2", "M2", 50),
             "E": ("current", "M1", 10), "F": ("M3+", "M3+", 120)}
    accounts = [{"account_id": a, "dpd": dpd, "overdue_amount": 100.0 if dpd else 0.0} for a, (_, _, dpd) in paths.items()]
    history = [{"account_id": a, "month": m, "bucket": b, "balance": 1000.0}
               for a, (b0, b1, _) in paths.items() for m, b in (("2026-10-01", b0), ("2026-11-01", b1))]
    pf = tiny_portfolio(accounts, history=history)
    cache = prepare(pf, "2026-11-29", tmp_path / "prep")
    k = pd.read_parquet(cache / "kpis.parquet").set_index("team")
    # early's book: A and B were in M1 at the start; A rolled forward, B cured
    assert k.loc["early", "book_accounts"] == 2
    assert k.loc["early", "roll_forward_rate"] == 0.5 and k.loc["early", "cure_rate"] == 0.5
    # mid's book: C and D were in M2; C rolled forward, D stayed
    assert k.loc["mid", "roll_forward_rate"] == 0.5 and k.loc["mid", "cure_rate"] == 0.0
    # late/legal's book is F alone, already in the last bucket: it cannot roll forward (n/a, not 0%)
    assert k.loc["late_legal", "book_accounts"] == 1 and pd.isna(k.loc["late_legal", "roll_forward_rate"])
    assert k.loc["late_legal", "cure_rate"] == 0.0
    b = team_briefing(None, "2026-11-29", "mid", lang="en", prepared=cache)
    assert b.roll.loc["M2", "M3+"] == 0.5 and b.roll.loc["M2", "M2"] == 0.5  # the heatmap agrees with the tiles
    assert b.roll.loc["M1"].isna().all()
    tiles = b.kpi_tiles_html()
    assert "2026-10 → 2026-11: the 2 accounts in M2 (the team&#x27;s buckets) at the start" in tiles
    assert "50.0%" in tiles
    late = team_briefing(None, "2026-11-29", "late_legal", lang="zh", prepared=cache).kpi_tiles_html()
    assert "不适用：M3+是最后一个账龄段，不会再前滚" in late  # the n/a roll-forward tile says why
    # every tile's figure is defined on the page: its numerator and denominator
    assert "RPC rate = right-party contacts / outbound call, visit and IVR attempts" in tiles
    assert "本人接通率＝本人接通次数÷外呼及上门尝试次数" in late and "治愈率＝" in late


def test_collectors_are_never_given_more_than_their_capacity():
    import pandas as pd

    from playbook.briefing import assign_collectors

    need = pd.Series([3.0, 3.0, 0.0, 3.0, 3.0, 3.0], index=list("abcdef"))  # c has no calls left today
    got = assign_collectors(need, pd.Series({"x": 6.0, "y": 4.0}))
    assert pd.isna(got["c"])
    load = need[got.notna()].groupby(got[got.notna()]).sum()
    assert load["x"] <= 6 and load["y"] <= 4 and load.sum() == 9  # 3 accounts fit; the rest wait
    assert list(got[got.notna()].index) == ["a", "b", "d"]  # in priority order
    assert pd.isna(got["e"]) and pd.isna(got["f"])


def test_morning_worklist_lists_promises_due_today_and_broken_yesterday(tmp_path):
    import pandas as pd

    from playbook.briefing import prepare, team_briefing

    from .helpers import tiny_portfolio

    accounts = [{"account_id": a, "dpd": 20} for a in "ABC"]
    interactions = [
        {"account_id": "A", "ts": "2026-11-20 10:00:00", "outcome": "ptp", "ptp_amount": 300.0, "ptp_date": "2026-11-29"},
        {"account_id": "B", "ts": "2026-11-20 10:00:00", "outcome": "ptp", "ptp_amount": 200.0, "ptp_date": "2026-11-28"},
        {"account_id": "C", "ts": "2026-11-20 10:00:00", "outcome": "ptp", "ptp_amount": 100.0, "ptp_date": "2026-11-28"},
    ]
    payments = [{"account_id": "C", "paid_at": "2026-11-27 12:00:00", "amount": 100.0}]  # C kept its promise
    pf = tiny_portfolio(accounts, interactions, payments)
    cache = prepare(pf, "2026-11-29", tmp_path / "prep")
    b = team_briefing(None, "2026-11-29", "early", lang="en", prepared=cache)
    kinds = dict(zip(b.promises["account_id"], b.promises["kind"]))
    assert kinds == {"A": "due_today", "B": "broken_yesterday"}
    page = b.promises_html()
    assert "Promises due today (1)" in page and "Promises broken yesterday (1)" in page
    assert "Contact headroom as at 2026-11-29 09:00 Asia/Shanghai" in b.worklist_html()


def _visible(page: str) -> str:
    """The text a reader sees: no styles, scripts or tags."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", page)


def test_pages_show_no_raw_ids_and_amounts_carry_the_currency(run):
    where, _ = run
    pb = playbook.load_playbook()
    ids = {r.id for rules in pb.rules.values() for r in rules}
    ids |= {c.id for card in pb.scorecards.values() for cues in card.types.values() for c in cues}
    ids |= {c for d in pb.dimensions.values() for c in d.ids if "_" in c}  # late_legal, serial_promiser, ...
    ids |= {f for f in pb.features if "_" in f}
    for team in pb.teams:
        page = (where / f"{team}.html").read_text(encoding="utf-8")
        text = _visible(page)
        found = {i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)}
        assert not found, (team, found)
        assert not re.search(rf"(?<![\w-]){team}-\d", text), team  # collectors are not named by team id
        assert "<th>source</th>" not in page and "依据" in text
        assert re.search(r"余额（(元|CNY)）", text) and re.search(r"逾期金额（(元|CNY)）", text), team
        assert "开场白" in text and "核实本人" in text


def test_worklist_reasons_are_words_and_openers_fit_the_stage(tmp_path):
    from playbook.briefing import prepare, team_briefing

    pb = playbook.load_playbook()
    prep = prepare(playbook.demo_portfolio(600, 8, AS_OF), AS_OF, tmp_path / "prep", top_n=10)
    for team in pb.teams:
        for lang in ("zh", "en"):
            b = team_briefing(None, AS_OF, team, lang=lang, prepared=prep, top_n=10)
            w = b.worklist
            why_type, why_team = w[b._ui("reason", lang)], w[b._ui("why_team", lang)]
            descriptions = {c.description(lang) for d in pb.dimensions.values() for c in d.categories}
            assert (why_team != "").all() and not set(why_team) & descriptions
            assert not set(why_type) & descriptions
            gentle = {o.name(lang) for o in pb.openers.openers if o.tone == "gentle"}
            late = w[b._ui("stage", lang)] == pb.label("stage", "M3+", lang)
            if team == "late_legal":
                late[:] = True
            assert not set(w.loc[late, b._ui("opening", lang)]) & gentle, team
            assert {o.id for o in b.openers} and "<script" not in b.openers_html()


def test_worklist_shows_the_type_confidence_and_names_the_runner_up(tmp_path):
    """A close call is visible on the worklist: each scored type with its confidence (as in
    segment's ``confidence``), the reason text naming the runner-up; a gate-assigned type shows none."""
    from playbook.briefing import prepare, team_briefing

    pb = playbook.load_playbook()
    prep = prepare(playbook.demo_portfolio(600, 8, AS_OF), AS_OF, tmp_path / "prep", top_n=15)
    for lang in ("zh", "en"):
        b = team_briefing(None, AS_OF, "early", lang=lang, prepared=prep, top_n=15)
        w = b.worklist.set_index(b._ui("account", lang))
        seg = b.segments.set_index("account_id").loc[w.index]
        conf, why = w[b._ui("type_confidence", lang)], w[b._ui("reason", lang)]
        for acc, text in conf.items():
            row = seg.loc[acc]
            if pd.isna(row["type_score"]) or row["behaviour_type"] == "unclassified":
                assert text == "", acc
                continue
            assert text == f"{row['confidence']:.0%}", (acc, text)
            if pd.notna(row["runner_up"]) and row["runner_up_score"] > 0:
                assert pb.label("behaviour_type", str(row["runner_up"]), lang) in why[acc], acc
        assert (conf != "").any()


def test_red_lines_cite_only_the_briefings_pack_in_its_language(tmp_path):
    """A cn briefing cites the Chinese sources (no US or UK law, no English note in a zh page);
    a us briefing cites Regulation F."""
    from playbook.briefing import prepare, team_briefing

    prep = prepare(playbook.demo_portfolio(300, 8, AS_OF), AS_OF, tmp_path / "prep", top_n=5)
    b = team_briefing(None, AS_OF, "early", lang="zh", prepared=prep, top_n=5, pack="cn")
    red = b.section_html().split(b._ui("red_lines", "zh"))[1]  # the red-lines table
    assert "商业银行信用卡业务监督管理办法" in red and "不得向与债务无关的第三人催收" in red
    assert "CFR" not in red and "FCA" not in red and "State defamation" not in red and "No collection from" not in red
    us = team_briefing(None, AS_OF, "early", lang="en", prepared=prep, top_n=5, pack="us").section_html()
    assert "12 CFR 1006.6(d)(1)" in us and "商业银行" not in us


def test_queue_rows_follow_the_taxonomy_and_zh_headers_use_full_width_colons(tmp_path):
    from playbook.briefing import prepare, team_briefing

    pb = playbook.load_playbook()
    prep = prepare(playbook.demo_portfolio(600, 8, AS_OF), AS_OF, tmp_path / "prep", top_n=5)
    for lang in ("zh", "en"):
        b = team_briefing(None, AS_OF, "early", lang=lang, prepared=prep, top_n=5)
        names = [pb.label("behaviour_type", c, lang) for c in pb.dimension("behaviour_type").ids]
        rows = [r for r in b.queue.index if r in names]
        assert rows == sorted(rows, key=names.index) and b.queue.index[-1] == b._ui("total", lang)
    assert "团队晨报：" in team_briefing(None, AS_OF, "early", lang="zh", prepared=prep, top_n=5).header_html()


def test_a_team_without_a_book_says_the_one_reason_that_applies(tmp_path):
    """The roll chart of a team with no book names its reason: not routed by bucket (care,
    skip-trace), or no monthly history; a team with a book has none to give."""
    import matplotlib

    matplotlib.use("Agg")
    from playbook import plots
    from playbook.briefing import prepare, team_briefing

    pf = playbook.demo_portfolio(300, 8, AS_OF)
    prep = prepare(pf, AS_OF, tmp_path / "prep", top_n=5)
    assert team_briefing(None, AS_OF, "early", lang="en", prepared=prep, top_n=5).book_note() is None
    care = team_briefing(None, AS_OF, "care", lang="zh", prepared=prep, top_n=5)
    assert care.book_note() == "不适用：本组不按账龄段分派，没有月初账簿"
    ax = plots.roll_heatmap(care.roll, lang="en", empty="n/a: no monthly history, so no roll rates")
    assert [t.get_text() for t in ax.texts] == ["n/a: no monthly history, so no roll rates"]
    no_hist = playbook.Portfolio(pf.accounts, pf.interactions, pf.payments, pf.history.iloc[:0])
    prep2 = prepare(no_hist, AS_OF, tmp_path / "prep2", top_n=5)
    b = team_briefing(None, AS_OF, "mid", lang="en", prepared=prep2, top_n=5)
    assert b.book_note() == "n/a: no monthly history, so no roll rates"


def test_a_window_in_another_zone_is_shown_on_the_collectors_clock_first():
    from playbook.briefing import _opens_text
    from playbook.content import load_playbook

    pb = load_playbook()
    at = pd.Timestamp("2026-11-29 02:00", tz="UTC")  # 08:00 in Urumqi (UTC+6), 10:00 in Beijing
    local = "2026-11-29 08:00 Asia/Urumqi"
    assert _opens_text(local, at, "Asia/Urumqi", "Asia/Shanghai", "en", pb) == \
        "2026-11-29 10:00 Asia/Shanghai (debtor's local time 2026-11-29 08:00 Asia/Urumqi)"
    assert _opens_text(local, at, "Asia/Urumqi", "Asia/Shanghai", "zh", pb).startswith("2026-11-29 10:00 Asia/Shanghai（客户当地")
    same = "2026-11-29 08:00 Asia/Shanghai"
    assert _opens_text(same, pd.Timestamp("2026-11-29 00:00", tz="UTC"), "Asia/Shanghai", "Asia/Shanghai", "en", pb) == same


def test_headroom_gives_the_opening_moment_in_utc_too(demo):
    from playbook.compliance import headroom

    room = headroom(demo, pd.Timestamp("2026-11-29 09:00", tz="Asia/Shanghai"), "cn")
    closed = room[~room["window_open_now"]].head(50)
    assert len(closed)  # Urumqi accounts: their window opens later than Beijing's
    for text, at in zip(closed["next_window_opens"], closed["next_window_opens_utc"]):
        day, clock, zone = text.split(" ")
        assert at.tz_convert(zone).strftime("%Y-%m-%d %H:%M") == f"{day} {clock}"


def test_kernels_talk_over_private_sockets_not_tcp(tmp_path, capfd):
    """No loopback port is opened for a run, so nothing is sent in plain text and ipykernel has nothing to warn about."""
    from playbook.runner import run_notebook

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import json, ipykernel\n"
                                          "print(json.load(open(ipykernel.get_connection_file()))['transport'])")]
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    res = run_notebook(src, tmp_path / "out.ipynb", tmp_path / "out.html", {"x": 2})
    assert res["status"] == "ok", res
    ran = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert ran.cells[-1].outputs[0]["text"].strip() == "ipc"
    assert "over TCP" not in capfd.readouterr().err


def test_a_partitioned_dataset_gives_the_same_pages(run, demo_dir, tmp_path):
    """`briefings` on `playbook partition`'s output, prepared partition by partition: the same
    teams, counts and pages as one machine. (The engine runs the partitions in this process
    here; tests/test_distributed.py compares the Dask cluster's preparation file by file.)"""
    from playbook.loading import load_portfolio
    from playbook.partitioned import write_partitioned

    where, flat = run
    d, _ = demo_dir
    parts = write_partitioned(load_portfolio(d), tmp_path / "parts", partitions=3)
    manifest = run_briefings(parts.path, AS_OF, out=tmp_path / "out", jobs=2, lang="zh", log=lambda m: None)
    assert manifest["data_sha256"] == flat["data_sha256"]
    for a, b in zip(flat["teams"], manifest["teams"]):
        assert (b["team"], b["status"], b["accounts"], b["alerts"]) == (a["team"], "ok", a["accounts"], a["alerts"])
        assert b["headline"] == pytest.approx(a["headline"], nan_ok=True)
        seen = [_visible((p / f"{a['team']}.html").read_text(encoding="utf-8")) for p in (where, tmp_path / "out" / AS_OF)]
        assert seen[0] == seen[1], a["team"]


def test_dask_needs_a_partitioned_dataset_and_no_mapping(demo_dir, tmp_path):
    from playbook.errors import ArgumentError

    d, _ = demo_dir
    with pytest.raises(ArgumentError, match="partition"):
        run_briefings(d, AS_OF, out=tmp_path / "out", engine="dask", log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_activity_tiles_count_todays_queue_and_bucketless_teams_have_no_book(tmp_path):
    """Recomputed by hand: an account that is current today is in no queue, so its payment
    is no team's collection; skip-trace and care are not routed by bucket, so they have no
    start-of-month book (n/a), never 0% cure / 100% roll by construction."""
    import pandas as pd

    from playbook.briefing import prepare, team_briefing

    from .helpers import calls, tiny_portfolio

    accounts = [{"account_id": "W", "dpd": 10, "overdue_amount": 300.0},   # early's queue
                {"account_id": "P", "dpd": 0, "overdue_amount": 0.0},      # current: not worked
                {"account_id": "S", "dpd": 40, "overdue_amount": 300.0}]   # mid's queue
    payments = [{"account_id": "W", "paid_at": "2026-11-20 10:00:00", "amount": 100.0},
                {"account_id": "P", "paid_at": "2026-11-21 10:00:00", "amount": 500.0}]
    history = [{"account_id": a, "month": m, "bucket": b, "balance": 1000.0}
               for a, path in {"W": ("M1", "M1"), "P": ("M2", "current"), "S": ("M1", "M2")}.items()
               for m, b in zip(("2026-10-01", "2026-11-01"), path)]
    interactions = calls("W", "2026-11-20", ["rpc"]) + calls("P", "2026-11-19", ["rpc"])
    pf = tiny_portfolio(accounts, interactions=interactions, payments=payments, history=history)
    cache = prepare(pf, "2026-11-29", tmp_path / "prep")
    k = pd.read_parquet(cache / "kpis.parquet").set_index("team")
    assert k.loc["early", "collected"] == 100.0  # W's payment; P's 500 is in no queue
    assert k.loc["early", "attempts"] == 1
    for team in ("skip_trace", "care"):
        assert k.loc[team, "book_accounts"] == 0
        assert pd.isna(k.loc[team, "roll_forward_rate"]) and pd.isna(k.loc[team, "cure_rate"])
    b = team_briefing(None, "2026-11-29", "care", lang="en", prepared=cache)
    assert "not routed by bucket" in b.kpi_tiles_html() and b.roll.isna().all().all()


def test_a_portfolio_without_a_contact_log_gets_no_compliance_verdict(tmp_path):
    from playbook.briefing import prepare, team_briefing

    from .helpers import tiny_portfolio

    pf = tiny_portfolio([{"account_id": "A", "dpd": 10}])
    cache = prepare(pf, "2026-11-29", tmp_path / "prep")
    for lang, said in (("en", "no compliance verdict was made"), ("zh", "未作任何合规判断")):
        page = team_briefing(None, "2026-11-29", "early", lang=lang, prepared=cache).alerts_html()
        assert said in page and "No violations" not in page and "无违规" not in page


def test_the_vulnerability_column_shows_only_where_someone_is_vulnerable(run):
    from playbook.briefing import team_briefing

    where, _ = run
    for team, shown in (("care", True), ("early", False)):
        b = team_briefing(None, AS_OF, team, lang="en", prepared=where / ".prepared")
        assert ("Vulnerability" in b.worklist.columns) == shown, team
        if shown:
            assert (b.worklist["Vulnerability"] != "").any()


def test_compliance_details_are_shown_in_the_pages_language_and_escaped(tmp_path):
    """A zh briefing words each violation's detail in Chinese, an en one in English; a
    contact recorded with markup in its name reaches the page escaped."""
    from playbook.briefing import prepare, team_briefing

    from .helpers import calls, tiny_portfolio

    who = "<img src=x onerror=alert(1)>"
    tp = {"party": "relative", "contact_ref": who}
    pf = tiny_portfolio([{"account_id": "A", "dpd": 10}],
                        calls("A", "2026-11-27", ["no_answer"] * 7)
                        + [{"account_id": "A", "ts": "2026-11-26 10:00:00", "outcome": "opt_out", **tp},
                           {"account_id": "A", "ts": "2026-11-28 10:00:00", "outcome": "third_party_contact", **tp}])
    team = playbook.segment(pf, AS_OF)["team"].iloc[0]
    cache = prepare(pf, AS_OF, tmp_path / "prep")
    zh = team_briefing(None, AS_OF, team, lang="zh", prepared=cache).alerts_html()
    en = team_briefing(None, AS_OF, team, lang="en", prepared=cache).alerts_html()
    assert "<th class='txt'>详情</th>" in zh
    assert "<td>当天对同一号码的第7次未接通呼叫（上限6次）</td>" in zh
    assert "第三方“&lt;img src=x onerror=alert(1)&gt;”已表示不愿被联系，之后仍被联系：" in zh
    assert "unanswered call" not in zh and "objected" not in zh and who not in zh
    assert "<td>unanswered call attempt no. 7 today to the same number (limit 6)</td>" in en
    assert "contact with third party &lt;img src=x onerror=alert(1)&gt; after they objected" in en
    assert "当天" not in en and who not in en


def _window_portfolio():
    """Five accounts, one violation each, as-of 2026-11-29 (window 2026-11-23 to 2026-11-29):
    W is in early's queue; P (current) and C (closed) are in no queue today but the routing
    rules give them early; N (settled, no days past due) has no team at all; M's violations
    fall before the window and after the as-of day."""
    from .helpers import tiny_portfolio

    accounts = [{"account_id": "W", "dpd": 10},
                {"account_id": "P", "dpd": 0, "overdue_amount": 0.0},
                {"account_id": "C", "dpd": 0, "overdue_amount": 0.0, "status": "closed"},
                {"account_id": "N", "dpd": float("nan"), "overdue_amount": float("nan"), "status": "settled"},
                {"account_id": "M", "dpd": 40}]
    late = {"outcome": "no_answer"}
    interactions = [{"account_id": "W", "ts": "2026-11-27 23:00:00", **late},
                    {"account_id": "P", "ts": "2026-11-28 11:00:00", "channel": "sms", "outcome": "delivered",
                     "agent_id": None, "message": "逾期不还后果自负"},
                    {"account_id": "C", "ts": "2026-11-23 07:00:00", **late},
                    {"account_id": "N", "ts": "2026-11-25 22:30:00", **late},
                    {"account_id": "M", "ts": "2026-11-22 23:30:00", **late},   # the day before the window
                    {"account_id": "M", "ts": "2026-11-30 07:00:00", **late}]   # after the as-of day
    return tiny_portfolio(accounts, interactions=interactions)


def test_every_violation_of_the_window_reaches_a_team_page_or_the_no_queue_line(tmp_path):
    """A violation belongs to the contact that was made: an account not worked today (current,
    closed) still shows its violation, on the page of the team its routing gives it, marked as
    not in today's queue; an account with no team is counted on the index's no-queue line. The
    counts add up to what the whole log's check finds in the 7 days, nothing before or after."""
    from playbook.briefing import prepare, team_briefing
    from playbook.compliance import check_compliance

    pf = _window_portfolio()
    seg = playbook.segment(pf, AS_OF).set_index("account_id")
    assert not seg.loc[["P", "C", "N"], "worked"].any() and seg.loc["W", "worked"]
    assert (seg.loc[["W", "P", "C"], "team"] == "early").all() and pd.isna(seg.loc["N", "team"])
    # the whole log's violations, kept by the contact's moment (all accounts are in Shanghai)
    every = check_compliance(pf, "cn").violations
    when = pf.interactions["ts"].iloc[every["row"].to_numpy()].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    inside = every[((when >= "2026-11-23") & (when < "2026-11-30")).to_numpy()]
    assert sorted(inside["account_id"]) == ["C", "N", "P", "W"] and (every["account_id"] == "M").sum() == 2

    cache = prepare(pf, AS_OF, tmp_path / "prep")
    prov = json.loads((cache / "provenance.json").read_text(encoding="utf-8"))
    assert prov["alerts"] == {"since": "2026-11-23", "until": AS_OF, "timezone": "Asia/Shanghai",
                              "total": len(inside), "no_queue": 1}
    per_team = {t: pd.read_parquet(cache / "teams" / t / "violations.parquet") for t in playbook.load_playbook().teams}
    no_queue = pd.read_parquet(cache / "violations_no_queue.parquet")
    assert sorted(per_team["early"]["account_id"]) == ["C", "P", "W"]
    assert list(no_queue["account_id"]) == ["N"]
    assert sum(map(len, per_team.values())) + len(no_queue) == len(inside)
    early = per_team["early"].set_index("account_id")["in_queue"]
    assert early.to_dict() == {"C": False, "P": False, "W": True}

    zh = team_briefing(None, AS_OF, "early", lang="zh", prepared=cache).alerts_html()
    en = team_briefing(None, AS_OF, "early", lang="en", prepared=cache).alerts_html()
    assert "统计期间：2026-11-23至2026-11-29（Asia/Shanghai），共7天" in zh
    assert "其中2条所涉账户今日不在队列中" in zh
    rows = re.findall(r"<tr><td>[^<]*</td><td>(\w)</td><td>([^<]*)</td>", zh.split("class='pb alerts'")[1])
    assert sorted(rows) == [("C", "不在队列中"), ("P", "不在队列中"), ("W", "在队列中")]
    assert "<th class='txt'>Today&#x27;s queue</th>" in en and "<td>P</td><td>not in the queue</td>" in en
    assert "Period: 2026-11-23 to 2026-11-29 (Asia/Shanghai), 7 days" in en
    assert "2 of them on accounts not in today&#x27;s queue" in en


def test_the_index_adds_up_to_every_violation_of_the_window(tmp_path):
    """Run for one team: the index shows early's violations, the no-queue line, the teams not
    in this run and a total equal to the violations the check finds in the stated 7 days."""
    from playbook.compliance import check_compliance

    pf = _window_portfolio()
    man = run_briefings(pf, AS_OF, teams="early,mid", out=tmp_path, jobs=2, lang="zh", log=lambda m: None)
    assert [t["status"] for t in man["teams"]] == ["ok", "ok"], man
    inside = check_compliance(pf, "cn", since="2026-11-23", until="2026-11-30").violations
    assert man["alerts"] == {"since": "2026-11-23", "until": AS_OF, "timezone": "Asia/Shanghai",
                             "total": len(inside), "no_queue": 1} and len(inside) == 4
    assert {t["team"]: t["alerts"] for t in man["teams"]} == {"early": 3, "mid": 0}
    index = (tmp_path / AS_OF / "index.html").read_text(encoding="utf-8")
    cells = re.findall(r"<tr class='alerts-\d'><td>([^<]*)</td>(?:<td></td>)*<td class='num'>([\d,]+)</td>", index)
    assert cells == [("不在任何队列的账户", "1"), ("合计（2026-11-23至2026-11-29，Asia/Shanghai）", "4")]
    en = run_briefings(pf, AS_OF, teams="mid", out=tmp_path / "en", jobs=1, lang="en", log=lambda m: None)
    index = (tmp_path / "en" / AS_OF / "index.html").read_text(encoding="utf-8")
    cells = re.findall(r"<tr class='alerts-\d'><td>([^<]*)</td>(?:<td></td>)*<td class='num'>([\d,]+)</td>", index)
    assert cells == [("Accounts in no queue", "1"), ("Teams not in this run", "3"),
                     ("Total (2026-11-23 to 2026-11-29, Asia/Shanghai)", "4")]
    assert en["teams"][0]["alerts"] == 0
