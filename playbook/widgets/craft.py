"""Trainer material beyond the taxonomy: craft topics, case studies and the repayment-plan
calculator.

The material is content (``playbook/content/trainer/*.yaml``), validated by the typed models
here when :func:`load_trainer` reads it; a content error names the file, the entry and the
field, like every other content file. :func:`resolve_ref` checks the content ids the
material and the seed-coverage table (``content/seed_coverage.yaml``) refer to.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from ..content import ContentModel, Playbook, Text, default_content_dir, load_playbook, parse_model, read_yaml
from ..errors import ContentError

__all__ = ["Case", "Plan", "Step", "Topic", "Trainer", "case_html", "load_trainer", "plan_html", "repayment_plan",
           "resolve_ref", "topic_html"]

_ID = r"^[A-Za-z][A-Za-z0-9_+]*$"
_REF = r"^[a-z][a-z0-9_]*:[A-Za-z0-9_.+]+$"


class Step(ContentModel):
    """One named step of a topic (e.g. 望 of 望闻问切)."""

    name: Text
    text: Text


class Topic(ContentModel):
    """A craft topic: summary, ordered steps, points, the lawful way, related ids, seed phrases."""

    id: str = Field(pattern=_ID)
    title: Text
    summary: Text
    steps: list[Step] = Field(default_factory=list)
    points: list[Text] = Field(default_factory=list)
    lawful: Text | None = None
    related: list[str] = Field(default_factory=list)
    seed: list[str] = Field(min_length=1)


class Plan(ContentModel):
    """A worked repayment plan (the calculator's inputs)."""

    amount: float = Field(gt=0)
    months: int = Field(ge=1, le=120)
    down_payment: float = Field(default=0, ge=0)
    waiver: float = Field(default=0, ge=0)


class Case(ContentModel):
    """A case study: what happened, what worked, what failed, the lawful lesson."""

    id: str = Field(pattern=_ID)
    title: Text
    what_happened: Text
    what_worked: list[Text] = Field(min_length=1)
    what_failed: list[Text] = Field(min_length=1)
    lesson: Text
    plan: Plan | None = None
    related: list[str] = Field(default_factory=list)
    seed: list[str] = Field(min_length=1)


class _CraftFile(ContentModel):
    topics: list[Topic] = Field(min_length=1)


class _CasesFile(ContentModel):
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class Trainer:
    """The trainer material: craft topics and case studies, by id."""

    topics: dict[str, Topic]
    cases: dict[str, Case]

    def item(self, tid: str) -> Topic | Case:
        """The topic or case ``tid``."""
        if tid in self.topics:
            return self.topics[tid]
        if tid in self.cases:
            return self.cases[tid]
        from ..errors import UnknownKeyError

        raise UnknownKeyError("trainer topic or case", tid, [*self.topics, *self.cases])


_CACHE: dict[tuple, Trainer] = {}


def load_trainer(path: str | Path | None = None) -> Trainer:
    """Read and validate ``trainer/craft.yaml`` and ``trainer/cases.yaml`` of a content folder.

    Parameters
    ----------
    path : str or Path, optional
        A content folder laid out like ``playbook/content``; defaults to the shipped one.

    Returns
    -------
    Trainer

    Raises
    ------
    ContentError
        Listing every problem, each naming the file, the entry and the field (also for
        duplicate ids and ``related`` ids that do not exist).
    """
    root = Path(path) if path is not None else default_content_dir()
    files = [root / "trainer" / "craft.yaml", root / "trainer" / "cases.yaml"]
    key = (str(root.resolve()), tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None for p in files))
    if key in _CACHE:
        return _CACHE[key]
    problems: list[tuple[str, str, str, str]] = []
    parsed = []
    for p, model in zip(files, (_CraftFile, _CasesFile)):
        rel = p.relative_to(root).as_posix()
        if not p.is_file():
            problems.append((rel, "(file)", "-", "file missing"))
            parsed.append(None)
            continue
        parsed.append(parse_model(model, read_yaml(p, rel), rel, problems))
    if problems:
        raise ContentError(problems)
    craft, cases = parsed
    seen: set[str] = set()
    for rel, kind, items in (("trainer/craft.yaml", "topics", craft.topics), ("trainer/cases.yaml", "cases", cases.cases)):
        for i, it in enumerate(items):
            if it.id in seen:
                problems.append((rel, f"{kind}[{i}] (id: {it.id})", "id", f"duplicate id {it.id!r}"))
            seen.add(it.id)
    out = Trainer({t.id: t for t in craft.topics}, {c.id: c for c in cases.cases})
    pb = load_playbook(root) if path is not None else load_playbook()
    for rel, kind, items in (("trainer/craft.yaml", "topics", craft.topics), ("trainer/cases.yaml", "cases", cases.cases)):
        for i, it in enumerate(items):
            for j, ref in enumerate(it.related):
                why = resolve_ref(ref, pb, out)
                if why:
                    problems.append((rel, f"{kind}[{i}] (id: {it.id})", f"related[{j}]", why))
    if problems:
        raise ContentError(problems)
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[key] = out
    return out


def resolve_ref(ref: str, pb: Playbook | None = None, trainer: Trainer | None = None) -> str | None:
    """Whether a content id exists: ``None`` when it does, else the reason it does not.

    Kinds: ``<dimension>:<category>`` (any dimension, ``team`` included),
    ``dimension:<id>``, ``prohibited:<id>``, ``cue:<scorecard cue>``,
    ``rule:<dimension>.<rule>``, ``compliance:<pack>.<rule>``, ``strategy:<id>``,
    ``feature:<id>``, ``disposition:<id>``, ``metric:<function of playbook.metrics>`` and
    ``trainer:<topic or case>``.
    """
    import re

    if not re.match(_REF, ref):
        return f"{ref!r} is not a content id (kind:id)"
    pb = pb or load_playbook()
    kind, _, key = ref.partition(":")
    if kind == "trainer":
        t = trainer or load_trainer()
        return None if key in t.topics or key in t.cases else f"no trainer topic or case {key!r}"
    if kind == "dimension":
        return None if key in pb.dimensions else f"no dimension {key!r}"
    if kind == "prohibited":
        return None if key in {p.id for p in pb.prohibited} else f"no prohibited practice {key!r}"
    if kind == "cue":
        ids = {c.id for card in pb.scorecards.values() for cues in card.types.values() for c in cues}
        return None if key in ids else f"no scorecard cue {key!r}"
    if kind == "rule":
        dim, _, rid = key.partition(".")
        return None if rid in {r.id for r in pb.rules.get(dim, [])} else f"no rule {rid!r} of dimension {dim!r}"
    if kind == "compliance":
        pack, _, rid = key.partition(".")
        ok = pack in pb.packs and rid in {r.id for r in pb.packs[pack].rules}
        return None if ok else f"no rule {rid!r} in compliance pack {pack!r}"
    if kind == "strategy":
        from ..strategy import list_strategies

        return None if key in list_strategies() else f"no strategy {key!r}"
    if kind == "feature":
        return None if key in pb.features else f"no feature {key!r}"
    if kind == "disposition":
        return None if key in pb.dispositions else f"no disposition {key!r}"
    if kind == "metric":
        from .. import metrics

        return None if callable(getattr(metrics, key, None)) and not key.startswith("_") else f"no metric function {key!r}"
    if kind in pb.dimensions:
        return None if key in pb.dimension(kind).ids else f"no {kind} category {key!r}"
    return f"unknown kind {kind!r} in {ref!r}"


# ---------------------------------------------------------------------------- the calculator


def repayment_plan(amount: float, months: int, *, down_payment: float = 0.0, waiver: float = 0.0,
                   monthly_income: float | None = None, essentials: float = 0.0,
                   start: str | pd.Timestamp | None = None) -> dict:
    """A repayment plan: equal whole-unit instalments, the last one absorbing the rounding.

    The seed's worked example, 50,000 over 10 months, gives ten instalments of 5,000.

    Parameters
    ----------
    amount : float
        The amount owed (> 0).
    months : int
        Number of monthly instalments after the down payment (1-120).
    down_payment : float
        Paid at the start (month 0), before the instalments.
    waiver : float
        Amount waived (e.g. interest or charges forgiven), taken off the amount owed.
    monthly_income : float, optional
        The customer's monthly income, to check affordability.
    essentials : float
        The customer's essential monthly spending (rent, food, other debts' minimums).
    start : date-like, optional
        The first instalment's due date; later ones fall on the same day of later months.

    Returns
    -------
    dict
        ``schedule`` (DataFrame: ``month``, ``due`` (date or None), ``payment``,
        ``remaining``), ``instalment`` (the regular amount), ``to_pay`` (amount - waiver),
        ``total`` (the sum of the schedule), ``share_of_income`` (instalment / income, or
        None), ``left_after`` (income - essentials - instalment, or None) and ``affordable``
        (``left_after >= 0``, or None without an income).

    Raises
    ------
    ValueError
        If the numbers cannot make a plan (non-positive amount, waiver or down payment
        larger than the amount, months outside 1-120).
    """
    if not np.isfinite(amount) or amount <= 0:
        raise ValueError(f"amount must be a positive number, got {amount!r}")
    if not isinstance(months, (int, np.integer)) or not 1 <= months <= 120:
        raise ValueError(f"months must be a whole number from 1 to 120, got {months!r}")
    if waiver < 0 or down_payment < 0:
        raise ValueError("waiver and down_payment must not be negative")
    to_pay = round(float(amount) - float(waiver), 2)
    if to_pay <= 0:
        raise ValueError(f"the waiver ({waiver:,.2f}) leaves nothing to pay of {amount:,.2f}")
    if down_payment > to_pay:
        raise ValueError(f"the down payment ({down_payment:,.2f}) is more than the amount to pay ({to_pay:,.2f})")
    rest = round(to_pay - float(down_payment), 2)
    regular = float(np.floor(rest / months)) if rest >= months else round(rest / months, 2)
    payments = [regular] * months
    payments[-1] = round(rest - regular * (months - 1), 2)
    rows, remaining = [], to_pay
    first = pd.Timestamp(start) if start is not None else None
    if down_payment:
        remaining = round(remaining - down_payment, 2)
        rows.append((0, first - pd.DateOffset(months=1) if first is not None else None, round(float(down_payment), 2), remaining))
    for i, p in enumerate(payments, 1):
        remaining = round(remaining - p, 2)
        rows.append((i, first + pd.DateOffset(months=i - 1) if first is not None else None, p, remaining))
    schedule = pd.DataFrame(rows, columns=["month", "due", "payment", "remaining"])
    share = left = ok = None
    if monthly_income:
        share = regular / float(monthly_income)
        left = float(monthly_income) - float(essentials) - regular
        ok = left >= 0
    return {"schedule": schedule, "instalment": regular, "to_pay": to_pay, "total": round(float(schedule["payment"].sum()), 2),
            "share_of_income": share, "left_after": left, "affordable": ok}


# ---------------------------------------------------------------------------- rendering


def _t(pb: Playbook, key: str, lang: str) -> str:
    return html.escape(pb.text(f"trainer.{key}", lang))


def _ul(items: list[Text], lang: str) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i(lang))}</li>" for i in items) + "</ul>"


def ref_label(ref: str, pb: Playbook, trainer: Trainer, lang: str) -> str:
    """A content id as a person reads it (its name in ``lang``)."""
    kind, _, key = ref.partition(":")
    try:
        if kind == "trainer":
            return trainer.item(key).title(lang)
        if kind == "dimension":
            return pb.dimension(key).name(lang)
        if kind == "prohibited":
            p = next(p for p in pb.prohibited if p.id == key)
            return f"{pb.text('trainer.red_short', lang)}: {p.name(lang)}"
        if kind == "compliance":
            pack, _, rid = key.partition(".")
            return f"{pb.packs[pack].name(lang)}: {pb.packs[pack].rule(rid).text(lang)}"
        if kind == "strategy":
            from ..strategy import get_strategy

            return f"{pb.text('trainer.strategy', lang)}: {get_strategy(key).name(lang)}"
        if kind == "metric":
            return f"{pb.text('trainer.metric', lang)}: {pb.text('trainer.metric_' + key, lang)}" \
                if f"trainer.metric_{key}" in pb.labels else pb.text("trainer.metric", lang)
        if kind in pb.dimensions:
            d = pb.dimension(kind)
            return f"{d.name(lang)}: {d.category(key).name(lang)}"
    except Exception:  # a label is never worth failing the page; resolve_ref checks ids
        pass
    return key


def topic_html(topic: Topic, pb: Playbook, trainer: Trainer, lang: str) -> str:
    """One craft topic as HTML, labelled in ``lang`` (every text escaped)."""
    parts = [f"<h3>{html.escape(topic.title(lang))}</h3>", f"<p>{html.escape(topic.summary(lang))}</p>"]
    if topic.steps:
        parts.append(f"<p><b>{_t(pb, 'steps', lang)}</b></p><ol>" + "".join(
            f"<li><b>{html.escape(s.name(lang))}</b>: {html.escape(s.text(lang))}</li>" for s in topic.steps) + "</ol>")
    if topic.points:
        parts.append(f"<p><b>{_t(pb, 'points', lang)}</b></p>{_ul(topic.points, lang)}")
    if topic.lawful is not None:
        parts.append(f"<p class='pb-lawful'><b>{_t(pb, 'lawful', lang)}</b>: {html.escape(topic.lawful(lang))}</p>")
    parts.append(_related(topic.related, pb, trainer, lang))
    return "".join(parts)


def case_html(case: Case, pb: Playbook, trainer: Trainer, lang: str) -> str:
    """One case study as HTML: what happened, what worked, what failed, the lawful lesson."""
    parts = [f"<h3>{html.escape(case.title(lang))}</h3>",
             f"<p><b>{_t(pb, 'what_happened', lang)}</b>: {html.escape(case.what_happened(lang))}</p>",
             f"<p><b>{_t(pb, 'what_worked', lang)}</b></p>{_ul(case.what_worked, lang)}",
             f"<p><b>{_t(pb, 'what_failed', lang)}</b></p>{_ul(case.what_failed, lang)}",
             f"<p class='pb-lawful'><b>{_t(pb, 'lesson', lang)}</b>: {html.escape(case.lesson(lang))}</p>"]
    if case.plan is not None:
        parts.append(f"<p><i>{_t(pb, 'plan_in_calculator', lang)}</i></p>")
    parts.append(_related(case.related, pb, trainer, lang))
    return "".join(parts)


def _related(refs: list[str], pb: Playbook, trainer: Trainer, lang: str) -> str:
    if not refs:
        return ""
    items = "".join(f"<li>{html.escape(ref_label(r, pb, trainer, lang))}</li>" for r in refs)
    return f"<details><summary>{_t(pb, 'related', lang)}</summary><ul>{items}</ul></details>"


def plan_html(plan: dict, pb: Playbook, lang: str) -> str:
    """A :func:`repayment_plan` result as HTML: the summary and the schedule, money formatted."""
    from .common import money, pct

    def m(x: float) -> str:
        return html.escape(money(x, pb, lang)) if x == int(x) else html.escape(f"{x:,.2f} {money(0, pb, lang).split(' ', 1)[1]}")

    lines = [f"<li>{_t(pb, 'to_pay', lang)}: <b>{m(plan['to_pay'])}</b></li>",
             f"<li>{_t(pb, 'instalment', lang)}: <b class='pb-instalment'>{m(plan['instalment'])}</b></li>",
             f"<li>{_t(pb, 'total', lang)}: {m(plan['total'])}</li>"]
    if plan["share_of_income"] is not None:
        lines.append(f"<li>{_t(pb, 'share_of_income', lang)}: {pct(plan['share_of_income'])}</li>")
        verdict = _t(pb, "affordable" if plan["affordable"] else "not_affordable", lang)
        lines.append(f"<li>{_t(pb, 'left_after', lang)}: {m(plan['left_after'])} — <b>{verdict}</b></li>")
    s = plan["schedule"]
    has_due = s["due"].notna().any()
    head = (f"<tr><th>{_t(pb, 'month', lang)}</th>" + (f"<th>{_t(pb, 'due', lang)}</th>" if has_due else "")
            + f"<th>{_t(pb, 'payment', lang)}</th><th>{_t(pb, 'remaining', lang)}</th></tr>")
    rows = "".join(
        f"<tr><td style='text-align:right'>{int(r.month) if r.month else html.escape(pb.text('trainer.down_payment', lang))}</td>"
        + (f"<td>{r.due:%Y-%m-%d}</td>" if has_due else "")
        + f"<td style='text-align:right'>{m(r.payment)}</td><td style='text-align:right'>{m(r.remaining)}</td></tr>"
        for r in s.itertuples())
    return f"<ul>{''.join(lines)}</ul><table class='pb-plan' cellpadding='4'>{head}{rows}</table>"
