"""Shared helpers for the widget apps: data loading, labels, account timelines."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..content import Playbook
from ..loading import load_portfolio
from ..portfolio import Portfolio
from ..masking import mask_pii

__all__ = ["load_or_demo", "timeline_html", "label_map", "TEXT"]

TEXT = {
    "stage": {"zh": "阶段", "en": "Stage"}, "team": {"zh": "团队", "en": "Team"},
    "behaviour_type": {"zh": "类型", "en": "Type"}, "contactability": {"zh": "可联性", "en": "Contactability"},
    "product": {"zh": "产品", "en": "Product"}, "balance": {"zh": "余额", "en": "Balance"}, "overdue": {"zh": "逾期金额", "en": "Overdue"},
    "accounts": {"zh": "账户数", "en": "Accounts"}, "export": {"zh": "导出", "en": "Export"},
    "account": {"zh": "账户", "en": "Account"}, "timeline": {"zh": "时间线", "en": "Timeline"},
    "reasons": {"zh": "分类依据", "en": "Reasons"}, "all": {"zh": "全部", "en": "All"},
    "matching": {"zh": "符合条件的账户", "en": "matching accounts"},
    "time": {"zh": "时间", "en": "Time"}, "event": {"zh": "事件", "en": "Event"},
}


def fig_png(fig) -> bytes:  # noqa: ANN001
    """A matplotlib figure as PNG bytes (for an ``ipywidgets.Image``)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def t(key: str, lang: str) -> str:
    return TEXT[key][lang]


def load_or_demo(data_path: str | Path | None, as_of: str = "2026-11-29", *, n_demo: int = 2000,
                 seed: int = 7) -> Portfolio:
    """The portfolio at ``data_path``, or, when it is None or missing, a demo portfolio."""
    from ..demo import demo_portfolio

    if data_path and (Path(data_path).exists() or "://" in str(data_path)):
        return load_portfolio(data_path)
    return demo_portfolio(n_demo, seed, as_of)


def label_map(pb: Playbook, dim: str, lang: str) -> dict[str, str]:
    d = pb.dimension(dim)
    return {c: d.category(c).name(lang) for c in d.ids}


def timeline_html(portfolio: Portfolio, account_id: str, segments: pd.DataFrame, pb: Playbook, lang: str,
                  *, anonymise: bool = False) -> str:
    """One account's contacts, promises and payments in time order, with its reasons.

    Personal data is masked; with ``anonymise`` the account id is hidden too (quiz mode).
    """
    acc = mask_pii(portfolio.accounts[portfolio.accounts["account_id"] == account_id])
    it = portfolio.interactions[portfolio.interactions["account_id"] == account_id]
    pay = portfolio.payments[portfolio.payments["account_id"] == account_id]
    disp = {d: pb.dispositions[d].name(lang) for d in pb.dispositions}
    events = [(r.ts, f"{html.escape(str(r.channel))}: {html.escape(disp.get(r.outcome, str(r.outcome)))}"
               + (f" — {'承诺' if lang == 'zh' else 'promise'} {r.ptp_amount:,.0f} @ {r.ptp_date:%Y-%m-%d}"
                  if pd.notna(r.ptp_amount) else "")) for r in it.itertuples()]
    events += [(r.paid_at, f"{'还款' if lang == 'zh' else 'payment'} {r.amount:,.2f}") for r in pay.itertuples()]
    events.sort(key=lambda e: e[0])
    rows = "".join(f"<tr><td>{ts.tz_convert('Asia/Shanghai'):%Y-%m-%d %H:%M}</td><td>{text}</td></tr>" for ts, text in events)
    head = ""
    if len(acc):
        a = acc.iloc[0]
        who = "" if anonymise else f"{html.escape(str(a['account_id']))} · {html.escape(str(a.get('name', '')))} · "
        head = (f"<p><b>{who}dpd {int(a['dpd'])} · {t('balance', lang)} {a['balance']:,.0f} · "
                f"overdue {a['overdue_amount']:,.0f}</b></p>")
    reasons = ""
    s = segments[segments["account_id"] == account_id]
    if len(s) and not anonymise:
        pairs = "; ".join(html.escape(x) for x in str(s["reasons"].iloc[0]).split(";"))
        reasons = f"<p style='word-break:break-word;white-space:normal'><b>{t('reasons', lang)}</b>: {pairs}</p>"
    return f"{head}{reasons}<table><tr><th>{t('time', lang)}</th><th>{t('event', lang)}</th></tr>{rows}</table>"
