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
                       features: pd.DataFrame | None = None, section: str = "trainer",
                       currency: str | None = None) -> str:
    """Why the account has its behavioural type, in words: the type with its confidence and
    runner-up, then each cue that fired with the observed facts behind it (feature names and
    values, when ``features`` are given), from :func:`playbook.reasons.explain_type`.

    Labels come from the ``section`` of ``ui.yaml`` (``trainer`` or ``explorer``); no rule
    or cue ids and no expressions are shown. The counter-evidence that applied is listed
    apart, so the cues shown account for the score. Amounts are in ``currency`` (the
    portfolio's; by default the playbook's).
    """
    from .common import facts_text

    e = facts_text(pb, segments, features, account_id, lang, currency=currency)

    def t(key: str) -> str:
        return html.escape(pb.text(f"{section}.{key}", lang))

    colon, semi, lp, rp = ("：", "；", "（", "）") if lang == "zh" else (": ", "; ", "(", ")")

    def listed(cues: list) -> str:
        items = []
        for text, vals in cues:
            facts = semi.join(f"{html.escape(n)}{colon}<b>{html.escape(v)}</b>" for n, v in vals)
            items.append(f"<li>{html.escape(text)}" + (f" <small>{lp}{facts}{rp}</small>" if facts else "") + "</li>")
        return f"<ul class='pb-facts'>{''.join(items)}</ul>"

    ru = html.escape(e["runner_up_name"]) if e["runner_up_name"] else "—"
    body = listed(e["facts"]) if e["facts"] else f"<p class='pb-facts'>{html.escape(e['body'])}</p>"
    if e["against"]:
        body += f"<p><b>{t('against')}</b></p>" + listed(e["against"])
    return (f"<p><b>{html.escape(e['type_name'])}</b> · {t('confidence')} {e['confidence']:.0%} · "
            f"{t('runner_up')}{colon}{ru}</p><p><b>{t('cues_fired')}</b></p>{body}")


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
    """Gallery, craft, cases, the repayment-plan calculator, the collector-assessed types and
    a quiz whose feedback explains in words which observed facts led to the type.

    Labels come from the ``trainer`` section of ``ui.yaml``; ``widget`` is the view (a
    ``Tab``: gallery, craft, cases, calculator, assessed by the collector, quiz).

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
        The features the segments came from: the feedback then names each observed fact's
        value.
    """

    section = "trainer"
    TABS = ("gallery", "craft_tab", "cases_tab", "calculator_tab", "assessed_tab", "quiz_tab")

    def __init__(self, portfolio: Portfolio, segments: pd.DataFrame, *, lang: str = "zh",
                 playbook: Playbook | None = None, seed: int = 0, features: pd.DataFrame | None = None) -> None:
        from .craft import load_trainer

        self.portfolio, self.segments, self.lang = portfolio, segments, lang
        self.features = features
        self.pb = playbook or load_playbook()
        self.material = load_trainer()
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
        """Draw the next quiz case and show it anonymised, with no answer chosen.

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
        self.choice.value = None
        return self.current

    def answer(self, type_id: str | None) -> tuple[bool, str]:
        """Check an answer for the current case; the feedback says, in words, which observed
        facts led to the type (the cues that fired and the account's values), with the
        type's confidence and the runner-up.

        Parameters
        ----------
        type_id : str or None
            The ``behaviour_type`` the trainee chose; ``None`` (nothing chosen) asks for a
            choice and does not count.

        Returns
        -------
        correct : bool
            Whether ``type_id`` is the case's type.
        feedback : str
            The HTML feedback also shown in ``feedback``.
        """
        if type_id is None:
            self.feedback.value = f"<p class='pb-feedback'>{html.escape(self.text('choose_first'))}</p>"
            return False, self.feedback.value
        row = self.segments[self.segments["account_id"] == self.current].iloc[0]
        truth = str(row["behaviour_type"])
        ok = type_id == truth
        self.score[0] += ok
        self.score[1] += 1
        name = self.pb.label("behaviour_type", truth, self.lang)
        text = (f"<div class='pb-feedback'><p><b>{html.escape(self.text('right' if ok else 'wrong'))}</b> — "
                f"{html.escape(self.text('answer_is'))} {html.escape(name)} · {html.escape(self.text('score'))} "
                f"{self.score[0]}/{self.score[1]}</p>"
                + type_evidence_html(self.pb, self.segments, self.current, self.lang, features=self.features,
                                     currency=self.portfolio.currency)
                + "</div>")
        self.feedback.value = text
        return ok, text

    # ------------------------------------------------------------------ material
    def topic(self, topic_id: str) -> str:
        """A craft topic as HTML (see :func:`playbook.widgets.craft.topic_html`)."""
        from .craft import topic_html

        return topic_html(self.material.topics[topic_id], self.pb, self.material, self.lang)

    def case_study(self, case_id: str) -> str:
        """A case study as HTML (see :func:`playbook.widgets.craft.case_html`)."""
        from .craft import case_html

        return case_html(self.material.cases[case_id], self.pb, self.material, self.lang)

    def calculate(self) -> dict:
        """Recompute the repayment plan from the calculator's controls and show it.

        Returns
        -------
        dict
            The :func:`playbook.widgets.craft.repayment_plan` result (empty on bad input,
            with the reason shown).
        """
        from .craft import plan_html, repayment_plan

        c = self.calc
        try:
            plan = repayment_plan(c["amount"].value, int(c["months"].value), down_payment=c["down_payment"].value,
                                  waiver=c["waiver"].value, monthly_income=c["income"].value or None,
                                  essentials=c["essentials"].value)
        except ValueError as exc:
            self.plan_out.value = f"<p style='color:#b00'>{html.escape(self.text('bad_plan'))}: {html.escape(str(exc))}</p>"
            return {}
        self.plan_out.value = plan_html(plan, self.pb, self.lang)
        return plan

    def _build(self) -> None:
        import ipywidgets as w

        L = self.lang
        opts = [(self.pb.label("behaviour_type", t, L), t) for t in SEED_TYPES]
        self.gallery_pick = w.ToggleButtons(options=opts, value=SEED_TYPES[0])
        self.card_html = w.HTML(self.card(SEED_TYPES[0]))
        self.card_html.add_class("pb-card")
        self.example_html = w.HTML(self.example(SEED_TYPES[0]))
        self.gallery_pick.observe(lambda ch: self._show(ch["new"]), names="value")

        topics = list(self.material.topics.values())
        self.topic_pick = w.Dropdown(options=[(t.title(L), t.id) for t in topics], value=topics[0].id,
                                     description=self.text("topic"), layout=w.Layout(width="640px"))
        self.topic_html = w.HTML(self.topic(topics[0].id))
        self.topic_html.add_class("pb-topic")
        self.topic_pick.observe(lambda ch: setattr(self.topic_html, "value", self.topic(ch["new"])), names="value")

        cases = list(self.material.cases.values())
        self.case_pick = w.Dropdown(options=[(c.title(L), c.id) for c in cases], value=cases[0].id,
                                    description=self.text("case"), layout=w.Layout(width="640px"))
        self.case_study_html = w.HTML(self.case_study(cases[0].id))
        self.case_study_html.add_class("pb-case")
        self.case_pick.observe(lambda ch: self._case_changed(ch["new"]), names="value")

        ex = next((c.plan for c in cases if c.plan is not None), None)
        style = {"description_width": "230px"}
        wide = w.Layout(width="380px")
        self.calc = {
            "amount": w.BoundedFloatText(value=ex.amount if ex else 50000, min=1, max=1e9, step=100,
                                         description=self.text("amount"), style=style, layout=wide),
            "months": w.BoundedIntText(value=ex.months if ex else 10, min=1, max=120, description=self.text("months"), style=style, layout=wide),
            "down_payment": w.BoundedFloatText(value=ex.down_payment if ex else 0, min=0, max=1e9, step=100,
                                               description=self.text("down_payment"), style=style, layout=wide),
            "waiver": w.BoundedFloatText(value=ex.waiver if ex else 0, min=0, max=1e9, step=100,
                                         description=self.text("waiver"), style=style, layout=wide),
            "income": w.BoundedFloatText(value=0, min=0, max=1e9, step=100, description=self.text("income"), style=style, layout=wide),
            "essentials": w.BoundedFloatText(value=0, min=0, max=1e9, step=100, description=self.text("essentials"), style=style, layout=wide),
        }
        self.plan_out = w.HTML()
        self.plan_out.add_class("pb-plan-out")
        for c in self.calc.values():
            c.observe(lambda _: self.calculate(), names="value")
        self.calculate()
        calc_box = w.VBox([w.HTML(f"<p>{html.escape(self.text('calculator_intro'))}</p>"),
                           w.HBox([w.VBox([self.calc[k] for k in ("amount", "months", "down_payment")]),
                                   w.VBox([self.calc[k] for k in ("waiver", "income", "essentials")])]),
                           self.plan_out])

        assessed = w.HTML(self.assessed_html())
        assessed.add_class("pb-assessed")

        self.case_html = w.HTML()
        self.case_html.add_class("pb-quiz-case")
        self.choice = w.RadioButtons(options=opts, value=None)
        self.choice.add_class("pb-choice")
        self.feedback = w.HTML()
        self.feedback.add_class("pb-feedback-box")
        check = w.Button(description=self.text("check"), button_style="primary")
        check.add_class("pb-check")
        nxt = w.Button(description=self.text("next"))
        nxt.add_class("pb-next")
        check.on_click(lambda _: self.answer(self.choice.value))
        nxt.on_click(lambda _: self.new_case())
        quiz = w.VBox([w.HTML(f"<h3>{html.escape(self.text('quiz'))}</h3>"), self.case_html, self.choice,
                       w.HBox([check, nxt]), self.feedback])
        pages = [w.VBox([self.gallery_pick, self.card_html, self.example_html]),
                 w.VBox([self.topic_pick, self.topic_html]), w.VBox([self.case_pick, self.case_study_html]),
                 calc_box, assessed, quiz]
        self.widget = w.Tab(children=pages)
        for i, key in enumerate(self.TABS):
            self.widget.set_title(i, self.text(key))
        self.new_case()

    def _case_changed(self, case_id: str) -> None:
        self.case_study_html.value = self.case_study(case_id)
        plan = self.material.cases[case_id].plan
        if plan is not None:
            self.calc["amount"].value, self.calc["months"].value = plan.amount, plan.months
            self.calc["down_payment"].value, self.calc["waiver"].value = plan.down_payment, plan.waiver

    def assessed_html(self) -> str:
        """Communication styles and B2B types: what to look for and how to respond; both are
        assessed by the collector (set per account in the explorer), since no data field or
        rule can assign them."""
        parts = [f"<p><i>{html.escape(self.text('assessed_note'))}</i></p>"]
        for dim in ("communication_style", "b2b_type"):
            d = self.pb.dimension(dim)
            parts.append(f"<h3>{html.escape(d.name(self.lang))}</h3><p>{html.escape(d.description(self.lang))}</p>")
            rows = "".join(
                f"<tr><td><b>{html.escape(c.name(self.lang))}</b><br><small>{html.escape(c.description(self.lang))}</small></td>"
                f"<td>{'; '.join(html.escape(x(self.lang)) for x in c.cues)}</td>"
                f"<td>{'; '.join(html.escape(x(self.lang)) for x in c.tactics)}</td>"
                f"<td>{'; '.join(html.escape(x(self.lang)) for x in c.avoid)}</td></tr>" for c in d.categories)
            parts.append(f"<table class='pb-styles'><tr><th>{html.escape(self.text('type'))}</th>"
                         f"<th>{html.escape(self.text('cues'))}</th><th>{html.escape(self.text('tactics'))}</th>"
                         f"<th>{html.escape(self.text('avoid'))}</th></tr>{rows}</table>")
        return "".join(parts)

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
        HTML for papermill runs and reports: the type cards, then the craft topics and the
        case studies.
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
    from .craft import case_html, load_trainer, topic_html

    material = load_trainer()
    parts.append(f"<h2>{_text(pb, 'craft_tab', lang)}</h2>")
    parts += [topic_html(t, pb, material, lang) for t in material.topics.values()]
    parts.append(f"<h2>{_text(pb, 'cases_tab', lang)}</h2>")
    parts += [case_html(c, pb, material, lang) for c in material.cases.values()]
    return "".join(parts)
