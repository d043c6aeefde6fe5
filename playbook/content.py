"""The playbook as data: typed content models and :func:`load_playbook`.

Every YAML file under ``playbook/content/`` is validated here, once, when it is read.
A content error names the file, the entry and the field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .arrays import codes_of

from .errors import ContentError, UnknownKeyError
from .expressions import Expression, ExpressionError, parse

if TYPE_CHECKING:
    import pandas as pd

    from .portfolio import Portfolio

__all__ = ["Playbook", "load_playbook", "Text", "Category", "Dimension", "Rule", "Cue", "Scorecard", "NoteCue",
           "Opener", "Openers"]

_ID = r"^[A-Za-z][A-Za-z0-9_+]*$"


class ContentModel(BaseModel):
    """Base of every content model: unknown fields are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _by_id(items: list, key: str, kind: str) -> Any:
    """The item whose ``id`` is ``key``; the error names the kind and lists the known ids."""
    for item in items:
        if item.id == key:
            return item
    raise UnknownKeyError(kind, key, [i.id for i in items])


class Text(ContentModel):
    """A text a person reads, in both languages."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class DialogueLine(ContentModel):
    """One line of a sample dialogue, said by the collector or the debtor."""

    speaker: Literal["collector", "debtor"]
    text: Text


class Category(ContentModel):
    """One category of a dimension (e.g. the behavioural type ``hostile``)."""

    id: str = Field(pattern=_ID)
    name: Text
    description: Text
    cues: list[Text] = Field(min_length=1)
    tactics: list[Text] = Field(min_length=1)
    avoid: list[Text] = Field(min_length=1)
    escalation: Text
    opening_line: Text | None = None
    dialogue: list[DialogueLine] = Field(default_factory=list)
    seed_example: Text | None = None


class Dimension(ContentModel):
    """A segmentation dimension and its categories."""

    id: str = Field(pattern=_ID)
    name: Text
    description: Text
    categories: list[Category] = Field(min_length=1)

    def category(self, cid: str) -> Category:
        """The category ``cid``; the error lists the known ones."""
        return _by_id(self.categories, cid, f"{self.id} category")

    @property
    def ids(self) -> list[str]:
        """The category ids, in file order."""
        return [c.id for c in self.categories]


class Source(ContentModel):
    """A legal source; ``pack`` names the jurisdiction's rule pack it belongs to (cn, us, uk)."""

    citation: str = Field(min_length=1)
    note: Text
    pack: str | None = None


class SeedQuote(ContentModel):
    """The seed's own words: ``file`` (under the shared seeds folder), 1-based ``line``, exact ``quote``."""

    file: str = Field(min_length=1)
    line: int = Field(ge=1)
    quote: str = Field(min_length=1)


class Prohibited(ContentModel):
    """A practice the seeds describe that the law forbids; kept only for trainers."""

    id: str = Field(pattern=_ID)
    name: Text
    seed_says: Text
    why_forbidden: Text
    do_instead: Text
    sources: list[Source] = Field(min_length=1)
    markers: dict[Literal["zh", "en"], list[str]] = Field(default_factory=dict)
    seed: list[SeedQuote] = Field(default_factory=list)

    def sources_for(self, pack: str) -> list[Source]:
        """The sources of the jurisdiction of rule pack ``pack`` (empty: not unlawful there by itself)."""
        return [s for s in self.sources if s.pack == pack]


class Disposition(ContentModel):
    """A canonical interaction outcome code."""

    id: str = Field(pattern=_ID)
    name: Text
    contact: bool
    rpc: bool
    promise: bool = False


class Feature(ContentModel):
    """A derived per-account feature that rules may refer to."""

    id: str = Field(pattern=_ID)
    name: Text
    unit: str = ""


class Rule(ContentModel):
    """``when`` is a vectorised expression over features and earlier dimensions."""

    id: str = Field(pattern=_ID)
    when: str = Field(min_length=1)
    then: str
    confidence: float = Field(default=0.7, ge=0, le=1)
    note: Text | None = None
    because: Text | None = None  # what the rule tested, with {feature} placeholders (playbook.reasons)

    @property
    def expression(self) -> Expression:
        """The parsed ``when`` (checked when the content was loaded)."""
        return parse(self.when)


class Opener(ContentModel):
    """One call opener: who is calling and for which creditor, the right-party check, and
    only then the purpose (the one part that may mention the account or the debt).

    ``stages``, ``types`` and ``teams`` restrict where it applies (empty: any); the first
    opener of ``openers.yaml`` that fits an account is used, and the last one must fit all.
    ``tone`` says how it sounds: a ``gentle`` reminder is never used from M3+ or for the
    late/legal team (checked at load).
    """

    id: str = Field(pattern=_ID)
    name: Text
    stages: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    tone: Literal["gentle", "firm", "formal", "care", "neutral"]
    identify: Text
    verify: Text
    purpose: Text

    def fits(self, stage: str, btype: str, team: str) -> bool:
        return ((not self.stages or stage in self.stages) and (not self.types or btype in self.types)
                and (not self.teams or team in self.teams))

    def text(self, lang: str, creditor: str) -> str:
        """The opener as said: identification, right-party check, then the purpose."""
        sep = "" if lang == "zh" else " "
        return sep.join(t(lang).format(creditor=creditor) for t in (self.identify, self.verify, self.purpose))


class Openers(ContentModel):
    """Call openers (``openers.yaml``): the creditor's name and the ordered openers."""

    creditor: Text
    openers: list[Opener] = Field(min_length=1)

    def choose(self, stage: str, btype: str, team: str) -> Opener:
        """The first opener that fits; the last fits everything."""
        return next((o for o in self.openers if o.fits(stage, btype, team)), self.openers[-1])


class Cue(ContentModel):
    """One scored cue of a type: the seed passage it comes from, its evidence and weight.

    ``evidence`` is an expression of the safe language over features (and dimensions
    assigned earlier); its value, clipped to 0-1 (missing counts 0), times ``weight`` is
    the cue's contribution to the type's score. A negative weight is counter-evidence.

    ``text`` is what a collector reads next to the account's values: a plain statement
    about the customer, true whenever the cue applies (the formula is in YAML comments).
    ``show``: the features whose values are shown with the cue, in order (by default the
    non-zero values of every feature the evidence reads). A listed value is shown even
    when it is zero (the key fact of "not paying"); a name ending in ``?`` only when it
    is non-zero (one reading of an OR that did not apply). Missing values are left out.
    """

    id: str = Field(pattern=_ID)
    text: Text
    seed: str = Field(min_length=1)
    evidence: str = Field(min_length=1)
    weight: float
    show: list[str] | None = None

    @property
    def shown(self) -> list[tuple[str, bool]]:
        """``show`` as ``(feature, shown when zero)`` pairs."""
        return [(s[:-1], False) if s.endswith("?") else (s, True) for s in self.show or []]

    @property
    def expression(self) -> Expression:
        return parse(self.evidence)


class Scorecard(ContentModel):
    """Recognition of a dimension's categories by scored cues (``rules/segmentation.yaml``).

    The dimension's ordered rules run first; accounts none of them decides are scored.
    The best-scoring category is assigned when its score reaches ``min_score``; below
    that, ``fallback`` (too little evidence for every category).
    """

    min_score: float = Field(gt=0)
    margin: float = Field(ge=0)
    fallback: str
    fallback_id: str = Field(pattern=_ID)
    note: Text
    types: dict[str, list[Cue]] = Field(min_length=1)


class NoteCue(ContentModel):
    """A phrase list over the collector's notes (催记): matching notes are counted in ``feature``."""

    id: str = Field(pattern=_ID)
    feature: str = Field(pattern=_ID)
    seed: str = Field(min_length=1)
    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)


class Team(Category):
    """A collection team: a category of the ``team`` dimension plus its capacity.

    ``buckets`` are the delinquency buckets the team works by routing (its book at the
    start of a period, for roll and cure rates); a team routed by other attributes
    (vulnerability, contactability) lists none, and its book is the accounts it holds.
    """

    collectors: int = Field(ge=0)
    hours_per_day: float = Field(gt=0, le=24)
    buckets: list[Literal["M1", "M2", "M3+"]] = Field(default_factory=list)


class ActionCost(ContentModel):
    """Cost and collector time of one action type (``costs.yaml``)."""

    id: str = Field(pattern=_ID)
    name: Text
    per_action: float = Field(ge=0)
    per_minute: float = Field(default=0, ge=0)
    minutes_of_collector_time: float = Field(default=0, ge=0)


class PackRule(ContentModel):
    """One rule of a compliance pack: what it checks, its numbers and its legal source.

    ``check`` names a check type and ``params`` are its numbers; both are validated
    against the registered check types by :func:`playbook.compliance.get_pack`.
    """

    id: str = Field(pattern=_ID)
    check: str
    text: Text
    source: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    verified: bool = True


class Pack(ContentModel):
    """A compliance rule pack (cn, us, uk)."""

    id: str = Field(pattern=_ID)
    name: Text
    default_timezone: str
    rules: list[PackRule] = Field(min_length=1)

    def rule(self, rid: str) -> PackRule:
        """The rule ``rid``; the error lists the known ones."""
        return _by_id(self.rules, rid, f"{self.id} rule")


class Settings(ContentModel):
    """Business settings (``settings.yaml``)."""

    timezone: str = Field(min_length=1)
    lost_after_days: int = Field(default=45, ge=1)
    rule_currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    rates: dict[str, float] = Field(default_factory=lambda: {"CNY": 1.0})

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [f"{k}: {r}" for k, r in v.items() if not (isinstance(k, str) and len(k) == 3 and k.isupper())
               or not r > 0 or r == float("inf")]
        if bad:
            raise ValueError(f"rates: each key a 3-letter ISO currency code, each rate a positive number ({', '.join(bad)})")
        return v

    @model_validator(mode="after")
    def _rule_currency_rate(self) -> "Settings":
        if self.rates.get(self.rule_currency) != 1.0:
            raise ValueError(f"rates: the rule currency {self.rule_currency} must have the rate 1")
        return self

    def rate_of(self, currency: str | None) -> float:
        """What one unit of ``currency`` is worth in :attr:`rule_currency` (NaN: not listed)."""
        return float(self.rates.get(str(currency).upper(), float("nan"))) if currency else float("nan")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Asia/Shanghai'") from None
        return v


RESPONSE_PARAMS = ("rpc", "ptp", "keep", "full", "share")


class TypePrior(ContentModel):
    """Prior response probabilities of one behavioural type (see ``response.yaml``)."""

    rpc: float = Field(ge=0, le=1)
    ptp: float = Field(ge=0, le=1)
    keep: float = Field(ge=0, le=1)
    full: float = Field(ge=0, le=1)
    share: float = Field(gt=0, le=1)


class Effect(ContentModel):
    """A treatment element's stated effect: factors on the response probabilities."""

    multiply: dict[Literal["rpc", "ptp", "keep", "full", "share"], float] = Field(min_length=1)
    reasoning: Text


class ResponseCosts(ContentModel):
    """Costs the what-if engine needs beyond ``costs.yaml``: a legal case, agency commission, call length."""

    legal_case: float = Field(ge=0)
    agency_commission: float = Field(ge=0, le=1)
    call_minutes: float = Field(ge=0)


class ResponsePriors(ContentModel):
    """The what-if response model's priors and treatment effects (``response.yaml``)."""

    strength: float = Field(gt=0)
    reasoning: Text
    types: dict[str, TypePrior]
    contactability_rpc: dict[str, float]
    effects: dict[str, Effect]
    costs: ResponseCosts

    def prior(self, behaviour_type: str, contactability: str) -> dict[str, float]:
        """The prior of one cell: the type's priors, ``rpc`` scaled by contactability.

        Types without their own priors use ``unclassified``.
        """
        base = self.types.get(behaviour_type, self.types["unclassified"])
        out = base.model_dump()
        out["rpc"] = min(0.99, base.rpc * self.contactability_rpc.get(contactability, 1.0))
        return out


class _UIFile(ContentModel):
    labels: dict[str, dict[str, Text]]


class _PackFile(ContentModel):
    pack: Pack


class _DimensionFile(ContentModel):
    dimension: Dimension


class _ProhibitedFile(ContentModel):
    prohibited: list[Prohibited] = Field(min_length=1)


class _DispositionFile(ContentModel):
    dispositions: list[Disposition] = Field(min_length=1)


class _FeatureFile(ContentModel):
    features: list[Feature] = Field(min_length=1)
    note_cues: list[NoteCue] = Field(default_factory=list)


class _RuleFile(ContentModel):
    rules: dict[str, list[Rule]]
    scorecards: dict[str, Scorecard] = Field(default_factory=dict)


class _TeamFile(ContentModel):
    name: Text
    description: Text
    teams: list[Team] = Field(min_length=1)


class _CostFile(ContentModel):
    currency: str
    actions: list[ActionCost] = Field(min_length=1)


@dataclass(frozen=True)
class Playbook:
    """Validated playbook content. Build it with :func:`load_playbook`."""

    dimensions: dict[str, Dimension]
    prohibited: list[Prohibited]
    dispositions: dict[str, Disposition]
    features: dict[str, Feature]
    rules: dict[str, list[Rule]]
    teams: dict[str, Team]
    costs: dict[str, ActionCost]
    currency: str
    packs: dict[str, Pack]
    root: Path
    content_sha256: str = field(repr=False)
    settings: Settings = field(default=None, repr=False)  # type: ignore[assignment]
    response: ResponsePriors = field(default=None, repr=False)  # type: ignore[assignment]
    labels: dict[str, Text] = field(default_factory=dict, repr=False)
    scorecards: dict[str, Scorecard] = field(default_factory=dict, repr=False)
    note_cues: list[NoteCue] = field(default_factory=list, repr=False)
    openers: "Openers | None" = field(default=None, repr=False)

    @property
    def timezone(self) -> str:
        """The business time zone (``settings.yaml``)."""
        return self.settings.timezone

    def cost_scale(self, currency: str | None) -> float:
        """How many units of ``currency`` (a book's; ``None``: the playbook's) one unit of the
        costs is worth; NaN when ``settings.yaml`` lists no rate for either currency.

        The costs of ``costs.yaml`` and the legal costs of ``response.yaml`` are in
        :attr:`currency`; a book's collections are in its own. Both are put into
        ``settings.yaml``'s rule currency at its rates, so a TWD book's calls cost about four
        times their yuan figure.
        """
        book = currency or self.currency
        if book == self.currency:
            return 1.0
        return self.settings.rate_of(self.currency) / self.settings.rate_of(book)

    def text(self, key: str, lang: str) -> str:
        """The UI label ``key`` (``section.name`` in ``ui.yaml``) in ``lang``."""
        try:
            return self.labels[key](lang)
        except KeyError:
            raise UnknownKeyError("UI label", key, self.labels) from None

    def dimension(self, did: str) -> Dimension:
        """Return the dimension ``did``; the error lists the known ones."""
        try:
            return self.dimensions[did]
        except KeyError:
            raise UnknownKeyError("dimension", did, self.dimensions) from None

    def label(self, did: str, cid: str, lang: str = "en") -> str:
        """The display name of category ``cid`` of dimension ``did`` in ``lang``."""
        return self.dimension(did).category(cid).name(lang)

    def pack(self, pid: str) -> "Pack":
        """The compliance pack ``pid``; the error lists the known ones."""
        try:
            return self.packs[pid]
        except KeyError:
            raise UnknownKeyError("compliance pack", pid, self.packs) from None

    def disposition_ids(self, flag: str | None = None) -> list[str]:
        """Disposition codes, optionally only those with ``flag`` (contact, rpc, promise) set."""
        return [d.id for d in self.dispositions.values() if flag is None or getattr(d, flag)]

    def disposition_flags(self, outcomes: "pd.Series", flags: tuple[str, ...] = ("contact", "rpc", "promise"), *,
                          codes: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per outcome code in ``outcomes``, each disposition flag as a boolean array.

        Unknown codes have every flag false. The one place outcome codes become flags.
        ``codes`` are the outcomes' positions in ``dispositions`` (``-1`` unknown) when the
        caller has them already; ``outcomes`` is then not read.
        """
        if codes is None:
            codes = codes_of(outcomes, list(self.dispositions))
        out = {}
        for k in flags:
            table = np.array([bool(getattr(d, k)) for d in self.dispositions.values()] + [False])
            out[k] = table[codes]
        return out

    def timezone_of(self, portfolio: "Portfolio") -> str:
        """The time zone a portfolio's days are counted in: its own, else the business one."""
        return getattr(portfolio, "timezone", None) or self.timezone


# ---------------------------------------------------------------------------- loading


def read_yaml(path: Path, rel: str) -> Any:
    """The YAML at ``path`` (safe loader); a syntax error is a :class:`ContentError` naming
    ``rel`` and the line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ContentError([(rel, where, "-", f"not valid YAML: {exc}")]) from None


def _locate(raw: Any, loc: tuple[Any, ...]) -> tuple[str, str]:
    """Split a pydantic error location into (entry, field) using the raw data for ids."""
    entry, node, cut = "(file)", raw, 0
    for i, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, dict):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[: i + 1]).lstrip(".")
            entry = f"{path} (id: {node.get('id', '?')})"
            cut = i + 1
    rest = ".".join(str(p) for p in loc[cut:])
    return entry, rest or "-"


def parse_model(model: type[ContentModel], raw: Any, rel: str, problems: list) -> Any:
    """``raw`` validated by ``model``, or None with each problem (file ``rel``, entry,
    field, reason) appended to ``problems``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            entry, fld = _locate(raw, tuple(err["loc"]))
            problems.append((rel, entry, fld, err["msg"]))
        return None


def _check_unique(items: list, rel: str, what: str, problems: list) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            problems.append((rel, f"{what}[{i}] (id: {item.id})", "id", f"duplicate id {item.id!r}"))
        seen.add(item.id)


def _check_rules(pb_dims: dict[str, Dimension], features: dict[str, Feature],
                 rules: dict[str, list[Rule]], rel: str, problems: list) -> None:
    order = list(rules)
    for d_index, (did, rule_list) in enumerate(rules.items()):
        if did not in pb_dims:
            problems.append((rel, f"rules.{did}", "-", f"unknown dimension {did!r}; known: {', '.join(sorted(pb_dims))}"))
            continue
        known = set(features) | set(order[:d_index])
        _check_unique(rule_list, rel, f"rules.{did}", problems)
        for i, rule in enumerate(rule_list):
            entry = f"rules.{did}[{i}] (id: {rule.id})"
            if rule.then not in pb_dims[did].ids:
                problems.append((rel, entry, "then", f"unknown {did} category {rule.then!r}; known: {', '.join(pb_dims[did].ids)}"))
            try:
                expr = parse(rule.when)
            except ExpressionError as exc:
                problems.append((rel, entry, "when", exc.reason))
                continue
            for name in sorted(expr.names - known):
                problems.append((rel, entry, "when", f"unknown feature or dimension {name!r} (dimensions usable here: {', '.join(order[:d_index]) or 'none'})"))
            for name, value in expr.literal_pairs():
                if name in pb_dims and value not in pb_dims[name].ids:
                    problems.append((rel, entry, "when", f"unknown {name} category {value!r}"))
            if rule.because is not None:
                for lang in ("zh", "en"):
                    for msg in _because_problems(getattr(rule.because, lang), known, set(pb_dims)):
                        problems.append((rel, entry, f"because.{lang}", msg))


def _check_openers(op: "Openers", dims: dict[str, Dimension], problems: list) -> None:
    """Openers name known stages, types and teams; the last fits every account; no gentle
    opener can reach an M3+ or late/legal account."""
    rel = "openers.yaml"
    _check_unique(op.openers, rel, "openers", problems)
    for i, o in enumerate(op.openers):
        entry = f"openers[{i}] (id: {o.id})"
        for fld, did in (("stages", "stage"), ("types", "behaviour_type"), ("teams", "team")):
            known = dims[did].ids if did in dims else []
            for v in getattr(o, fld):
                if v not in known:
                    problems.append((rel, entry, fld, f"unknown {did} {v!r}; known: {', '.join(known)}"))
        if o.tone == "gentle" and (not o.stages or "M3+" in o.stages or not o.teams or "late_legal" in o.teams):
            problems.append((rel, entry, "tone", "a gentle opener must be limited to stages before M3+ and teams "
                                                 "other than late_legal (list its stages and teams)"))
        for lang in ("zh", "en"):
            for part in ("identify", "verify", "purpose"):
                try:
                    getattr(o, part)(lang).format(creditor="x")
                except (KeyError, IndexError, ValueError) as exc:
                    problems.append((rel, entry, f"{part}.{lang}", f"only the placeholder {{creditor}} is allowed ({exc})"))
    if op.openers and (op.openers[-1].stages or op.openers[-1].types or op.openers[-1].teams):
        problems.append((rel, f"openers[{len(op.openers) - 1}] (id: {op.openers[-1].id})", "-",
                         "the last opener is the fallback: it must have no stages, types or teams"))


def _because_problems(text: str, known: set[str], dims: set[str]) -> list[str]:
    """What is wrong with the placeholders of a ``because`` text: each names a feature or an
    earlier dimension the rule may read (or ``currency``), with a format that fits it."""
    import string

    out = []
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"not a valid text template: {exc}"]
    for name, spec, conv in fields:
        if not name.isidentifier():
            out.append(f"placeholder {{{name}}} must be a plain feature name")
        elif name != "currency" and name not in known:
            out.append(f"placeholder {{{name}}} is not a feature or dimension this rule may read")
        elif conv:
            out.append(f"placeholder {{{name}}}: no !conversion allowed")
        else:
            try:
                format("x" if name in dims or name == "currency" else 0.5, spec or "")
            except (ValueError, TypeError) as exc:
                out.append(f"placeholder {{{name}:{spec}}}: {exc}")
    return out


def _check_scorecards(pb_dims: dict[str, Dimension], features: dict[str, Feature], rule_file: "_RuleFile",
                      rel: str, problems: list) -> None:
    """Each scorecard scores a dimension of the rules; its categories, cue ids and evidence are valid."""
    order = list(rule_file.rules)
    for did, card in rule_file.scorecards.items():
        where = f"scorecards.{did}"
        if did not in order or did not in pb_dims:
            problems.append((rel, where, "-", f"a scorecard needs the dimension {did!r} among the rules (its gates)"))
            continue
        known = set(features) | set(order[:order.index(did)])
        ids = pb_dims[did].ids
        if card.fallback not in ids:
            problems.append((rel, where, "fallback", f"unknown {did} category {card.fallback!r}"))
        seen = {r.id for r in rule_file.rules[did]} | {card.fallback_id}
        for cat, cues in card.types.items():
            if cat not in ids:
                problems.append((rel, f"{where}.types.{cat}", "-", f"unknown {did} category {cat!r}; known: {', '.join(ids)}"))
            for i, cue in enumerate(cues):
                entry = f"{where}.types.{cat}[{i}] (id: {cue.id})"
                if cue.id in seen:
                    problems.append((rel, entry, "id", f"duplicate id {cue.id!r}"))
                seen.add(cue.id)
                try:
                    expr = parse(cue.evidence)
                except ExpressionError as exc:
                    problems.append((rel, entry, "evidence", exc.reason))
                    continue
                for name in sorted(expr.names - known):
                    problems.append((rel, entry, "evidence", f"unknown feature or dimension {name!r}"))
                for j, (name, _) in enumerate(cue.shown):
                    if name not in features:
                        problems.append((rel, entry, f"show[{j}]", f"unknown feature {name!r} (features.yaml)"))


def default_content_dir() -> Path:
    """The content folder shipped inside the package."""
    return Path(str(resources.files("playbook") / "content"))


def _signature(root: Path) -> tuple:
    """What the cache of :func:`load_playbook` is keyed on: every content file's path, size
    and modification time, so an edited file is read again."""
    out = []
    for p in sorted(root.rglob("*.yaml")):
        st = p.stat()
        out.append((p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(out)


_CACHE: dict[tuple[str, tuple], Playbook] = {}


def load_playbook(path: str | Path | None = None) -> Playbook:
    """Read and validate the playbook content, once per content folder and version.

    A second call with the same folder returns the same :class:`Playbook` unless one of
    its files changed.

    Parameters
    ----------
    path : str or Path, optional
        A content folder laid out like ``playbook/content``. Defaults to the shipped one.

    Returns
    -------
    Playbook

    Raises
    ------
    ContentError
        Listing every problem found, each naming the file, the entry and the field.
    """
    root = Path(path) if path is not None else default_content_dir()
    if not root.is_dir():
        raise ContentError([(str(root), "-", "-", "content folder not found")])
    key = (str(root.resolve()), _signature(root))
    if key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = _read_playbook(root)
    return _CACHE[key]


def _read_playbook(root: Path) -> Playbook:
    problems: list[tuple[str, str, str, str]] = []
    digest = hashlib.sha256()

    def read(rel: str, model: type[ContentModel]) -> Any:
        p = root / rel
        if not p.is_file():
            problems.append((rel, "(file)", "-", "file missing"))
            return None
        digest.update(rel.encode() + p.read_bytes())
        return parse_model(model, read_yaml(p, rel), rel, problems)

    dims: dict[str, Dimension] = {}
    for p in sorted((root / "taxonomy").glob("*.yaml")):
        rel = p.relative_to(root).as_posix()
        parsed = read(rel, _DimensionFile)
        if parsed is None:
            continue
        d = parsed.dimension
        if d.id in dims:
            problems.append((rel, "dimension", "id", f"duplicate dimension id {d.id!r}"))
        _check_unique(d.categories, rel, "dimension.categories", problems)
        dims[d.id] = d

    teams_file = read("teams.yaml", _TeamFile)
    if teams_file is not None:
        _check_unique(teams_file.teams, "teams.yaml", "teams", problems)
        dims["team"] = Dimension(id="team", name=teams_file.name, description=teams_file.description,
                                 categories=list(teams_file.teams))

    proh = read("prohibited.yaml", _ProhibitedFile)
    disp = read("dispositions.yaml", _DispositionFile)
    feats = read("features.yaml", _FeatureFile)
    costs = read("costs.yaml", _CostFile)
    rules = read("rules/segmentation.yaml", _RuleFile)
    for parsed, rel, attr in ((proh, "prohibited.yaml", "prohibited"), (disp, "dispositions.yaml", "dispositions"),
                              (feats, "features.yaml", "features"), (costs, "costs.yaml", "actions")):
        if parsed is not None:
            _check_unique(getattr(parsed, attr), rel, attr, problems)
    if rules is not None and feats is not None:
        _check_rules(dims, {f.id: f for f in feats.features}, rules.rules, "rules/segmentation.yaml", problems)
        _check_scorecards(dims, {f.id: f for f in feats.features}, rules, "rules/segmentation.yaml", problems)
    if feats is not None:
        known_features = {f.id for f in feats.features}
        _check_unique(feats.note_cues, "features.yaml", "note_cues", problems)
        for i, nc in enumerate(feats.note_cues):
            if nc.feature not in known_features:
                problems.append(("features.yaml", f"note_cues[{i}] (id: {nc.id})", "feature",
                                 f"unknown feature {nc.feature!r}: declare it under features"))
    packs: dict[str, Pack] = {}
    for p in sorted((root / "compliance").glob("*.yaml")):
        rel = p.relative_to(root).as_posix()
        parsed = read(rel, _PackFile)
        if parsed is not None:
            _check_unique(parsed.pack.rules, rel, "pack.rules", problems)
            packs[parsed.pack.id] = parsed.pack
    settings = read("settings.yaml", Settings)
    response = read("response.yaml", ResponsePriors)
    ui = read("ui.yaml", _UIFile)
    openers = read("openers.yaml", Openers)
    if openers is not None:
        _check_openers(openers, dims, problems)
    if response is not None:
        if "unclassified" not in response.types:
            problems.append(("response.yaml", "types", "unclassified", "Field required (the prior of cells without a type)"))
        for name, where, did in (("types", response.types, "behaviour_type"), ("contactability_rpc", response.contactability_rpc, "contactability")):
            if did in dims:
                for k in where:
                    if k not in dims[did].ids:
                        problems.append(("response.yaml", name, k, f"unknown {did} category {k!r}; known: {', '.join(dims[did].ids)}"))
    if problems:
        raise ContentError(problems)
    return Playbook(
        dimensions=dims,
        prohibited=proh.prohibited,
        dispositions={d.id: d for d in disp.dispositions},
        features={f.id: f for f in feats.features},
        rules=rules.rules,
        teams={t.id: t for t in teams_file.teams},
        costs={a.id: a for a in costs.actions},
        currency=costs.currency,
        packs=packs,
        root=root,
        content_sha256=digest.hexdigest(),
        settings=settings,
        response=response,
        labels={f"{sec}.{k}": v for sec, items in ui.labels.items() for k, v in items.items()},
        scorecards=dict(rules.scorecards),
        note_cues=list(feats.note_cues),
        openers=openers,
    )
