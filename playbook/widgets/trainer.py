"""Case-type trainer: a gallery of the behavioural types, real (masked) examples, a quiz."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..content import Playbook, load_playbook
from ..portfolio import Portfolio
from .._docstrings import share_docs
from .common import LabelledApp, timeline_html

__all__ = ["CaseTrainer", "SEED_TYPES", "static_view", "type_card_html", "type_evidence_html"]

SEED_TYPES = ("hostile", "evasive", "victim", "defiant", "stubborn", "sophisticated", "serial_promiser")


def _li(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def _text(pb: Playbook, key: str, lang: str) -> str:
    return html.escape(pb.text(f"trainer.{key}", lang))


def type_evidence_html(pb: Playbook, segments: pd.DataFrame, account_id: str, lang: str, *,
                       features: pd.DataFrame | None = None, section: str = "trainer") -> str:
    """The account's behavioural type with its confidence, the runner-up and the cues that
    fired (with the account's values when ``features`` are given), as escaped HTML.

    Labels come from the ``section`` of ``ui.yaml`` (``trainer`` or ``explorer``).
    """
    from ..segmentation import explain_type

    e = explain_type(segments, features, account_id, lang, pb)

    def t(key: str) -> str:
        return html.escape(pb.text(f"{section}.{key}", lang))

    ru = (f"{html.escape(e['runner_up_name'])} ({e['runner_up_score']:.2f})" if e["runner_up"] else "—")
    cues = []
    for c in e["cues"]:
        vals = ", ".join(f"{html.escape(k)}={html.escape(_value(v))}" for k, v in c["values"].items())
        cues.append(f"<li><code>{html.escape(c['id'])}</code> {html.escape(c['text'])}"
                    + (f" <small>({vals})</small>" if vals else "") + f"<br><small><i>{html.escape(c['seed'])}</i></small></li>")
    if not cues:
        cues.append(f"<li><code>{html.escape(str(segments.loc[segments['account_id'] == account_id, 'reason_behaviour_type'].iloc[0]))}</code> "
                    f"{html.escape(e['text'])}</li>")
    return (f"<p><b>{html.escape(e['type_name'])}</b> · {t('confidence')} {e['confidence']:.0%} · "
            f"{t('runner_up')}: {ru}</p><p><b>{t('cues_fired')}</b></p><ul>{''.join(cues)}</ul>")


def _value(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return "n/a" if np.isnan(v) else (f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}")
    return str(v)


@share_docs
def type_card_html(pb: Playbook, type_id: str, lang: str) -> str:
    """Everything a trainer shows about one behavioural type, as one card.

    Parameters
    ----------
    pb : Playbook
        The playbook content.
    type_id : str
        A ``behaviour_type`` category, e.g. ``"serial_promiser"``.
    {lang}

    Returns
    -------
    str
        An HTML card: names in both languages, traits, cues, tactics, what to avoid, the
        escalation path, a sample dialogue and the red lines, labelled in ``lang``.
    """
    c = pb.dimension("behaviour_type").category(type_id)
    other = "en" if lang == "zh" else "zh"
    parts = [f"<h3>{html.escape(c.name(lang))} <small>({html.escape(c.name(other))})</small></h3>",
             f"<p><b>{_text(pb, 'traits', lang)}</b>: {html.escape(c.description(lang))}</p>",
             f"<p><b>{_text(pb, 'cues', lang)}</b></p>{_li([x(lang) for x in c.cues])}",
             f"<p><b>{_text(pb, 'tactics', lang)}</b></p>{_li([x(lang) for x in c.tactics])}",
             f"<p><b>{_text(pb, 'avoid', lang)}</b></p>{_li([x(lang) for x in c.avoid])}",
             f"<p><b>{_text(pb, 'escalation', lang)}</b>: {html.escape(c.escalation(lang))}</p>"]
    if c.dialogue:
        lines = "".join(f"<tr><td>{_text(pb, d.speaker, lang)}</td><td>{html.escape(d.text.zh)}</td><td>{html.escape(d.text.en)}</td></tr>"
                        for d in c.dialogue)
        parts.append(f"<p><b>{_text(pb, 'dialogue', lang)}</b></p><table class='pb-dialogue'>{lines}</table>")
    if c.seed_example:
        parts.append(f"<p><i>{html.escape(c.seed_example(lang))}</i></p>")
    red = "".join(f"<li><b>{html.escape(p.name(lang))}</b>: {html.escape(p.why_forbidden(lang))} "
                  f"<i>({html.escape(p.sources[0].citation)})</i></li>" for p in pb.prohibited)
    parts.append(f"<details><summary><b>{_text(pb, 'red', lang)}</b></summary><ul>{red}</ul></details>")
    return "".join(parts)


@share_docs
class CaseTrainer(LabelledApp):
    """Gallery, examples and quiz; the quiz's feedback names the rule behind the answer.

    Labels come from the ``trainer`` section of ``ui.yaml``; ``widget`` is the view.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables the examples and quiz cases come from.
    segments : pandas.DataFrame
        The segments of ``portfolio`` (:func:`playbook.segment`).
    {lang}
    {playbook}
    seed : int
        Seed for drawing quiz cases.
    features : pandas.DataFrame, optional
        The features the segments came from: the feedback then shows each cue's values.
    """

    section = "trainer"

    def __init__(self, portfolio: Portfolio, segments: pd.DataFrame, *, lang: str = "zh",
                 playbook: Playbook | None = None, seed: int = 0, features: pd.DataFrame | None = None) -> None:
        self.portfolio, self.segments, self.lang = portfolio, segments, lang
        self.features = features
        self.pb = playbook or load_playbook()
        self.rng = np.random.default_rng(seed)
        typed = segments[segments["behaviour_type"].astype(str).isin(SEED_TYPES)]
        self.examples = {t: typed.loc[typed["behaviour_type"].astype(str) == t, "account_id"].tolist() for t in SEED_TYPES}
        self.quiz_pool = typed["account_id"].tolist()
        self.current: str | None = None
        self.score = [0, 0]
        self._build()


    def card(self, type_id: str) -> str:
        """The gallery card of one type (see :func:`type_card_html`).

        Parameters
        ----------
        type_id : str
            A ``behaviour_type`` category.

        Returns
        -------
        str
            HTML.
        """
        return type_card_html(self.pb, type_id, self.lang)

    def example(self, type_id: str) -> str:
        """A masked real case of one type, as a timeline.

        Parameters
        ----------
        type_id : str
            A ``behaviour_type`` category.

        Returns
        -------
        str
            HTML, or ``""`` when the portfolio has no account of that type.
        """
        ids = self.examples.get(type_id) or []
        if not ids:
            return ""
        return f"<p><b>{html.escape(self.text('example'))}</b></p>" + timeline_html(self.portfolio, ids[0], self.segments, self.pb, self.lang)

    def new_case(self) -> str | None:
        """Draw the next quiz case and show it anonymised.

        Returns
        -------
        str or None
            The case's account id, or None when no account has a seed type.
        """
        if not self.quiz_pool:
            return None
        self.current = self.quiz_pool[int(self.rng.integers(len(self.quiz_pool)))]
        self.case_html.value = timeline_html(self.portfolio, self.current, self.segments, self.pb, self.lang, anonymise=True)
        self.feedback.value = ""
        return self.current

    def answer(self, type_id: str) -> tuple[bool, str]:
        """Check an answer for the current case; the feedback shows the type's confidence,
        the runner-up and the cues that fired (or the gate rule that decided).

        Parameters
        ----------
        type_id : str
            The ``behaviour_type`` the trainee chose.

        Returns
        -------
        correct : bool
            Whether ``type_id`` is the case's type.
        feedback : str
            The HTML feedback also shown in ``feedback``.
        """
        row = self.segments[self.segments["account_id"] == self.current].iloc[0]
        truth = str(row["behaviour_type"])
        ok = type_id == truth
        self.score[0] += ok
        self.score[1] += 1
        name = self.pb.label("behaviour_type", truth, self.lang)
        text = (f"<p><b>{html.escape(self.text('right' if ok else 'wrong'))}</b> — {html.escape(name)} · "
                f"{self.score[0]}/{self.score[1]}</p>"
                + type_evidence_html(self.pb, self.segments, self.current, self.lang, features=self.features))
        self.feedback.value = text
        return ok, text

    def _build(self) -> None:
        import ipywidgets as w

        L = self.lang
        opts = [(self.pb.label("behaviour_type", t, L), t) for t in SEED_TYPES]
        self.gallery_pick = w.ToggleButtons(options=opts, value=SEED_TYPES[0])
        self.card_html = w.HTML(self.card(SEED_TYPES[0]))
        self.card_html.add_class("pb-card")
        self.example_html = w.HTML(self.example(SEED_TYPES[0]))
        self.gallery_pick.observe(lambda ch: self._show(ch["new"]), names="value")
        self.case_html = w.HTML()
        self.choice = w.RadioButtons(options=opts)
        self.feedback = w.HTML()
        check = w.Button(description=self.text("check"), button_style="primary")
        nxt = w.Button(description=self.text("next"))
        check.on_click(lambda _: self.answer(self.choice.value))
        nxt.on_click(lambda _: self.new_case())
        quiz = w.VBox([w.HTML(f"<h3>{html.escape(self.text('quiz'))}</h3>"), self.case_html, self.choice, w.HBox([check, nxt]), self.feedback])
        self.widget = w.Tab(children=[w.VBox([self.gallery_pick, self.card_html, self.example_html]), quiz])
        self.widget.set_title(0, self.pb.text("trainer.gallery", L))
        self.widget.set_title(1, self.pb.text("trainer.quiz_tab", L))
        self.new_case()

    def _show(self, type_id: str) -> None:
        self.card_html.value = self.card(type_id)
        self.example_html.value = self.example(type_id)


@share_docs
def static_view(portfolio: Portfolio, segments: pd.DataFrame, *, lang: str = "zh", playbook: Playbook | None = None) -> str:
    """Every seed type's card (both languages' names) with one masked example, without widgets.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio``.
    {lang}
    {playbook}

    Returns
    -------
    str
        HTML for papermill runs and reports.
    """
    pb = playbook or load_playbook()
    typed = segments[segments["behaviour_type"].astype(str).isin(SEED_TYPES)]
    parts = []
    for t in SEED_TYPES:
        parts.append(type_card_html(pb, t, lang))
        ids = typed.loc[typed["behaviour_type"].astype(str) == t, "account_id"]
        if len(ids):
            parts.append(f"<p><b>{_text(pb, 'example', lang)}</b></p>" + timeline_html(portfolio, ids.iloc[0], segments, pb, lang))
        parts.append("<hr>")
    return "".join(parts)
