"""Rule packs validated against the registered check types, and tightened copies of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from ..content import Pack, PackRule, Playbook, load_playbook
from ..errors import ContentError, UnknownKeyError
from .registry import CheckParams, CheckType, ComplianceConfigError, get_check, registry_version

__all__ = ["get_pack", "tighten", "bind", "Bound"]


@dataclass(frozen=True)
class Bound:
    """A pack rule with its check type and validated parameters."""

    rule: PackRule
    check: CheckType
    params: CheckParams


@dataclass(frozen=True)
class _Checked:
    pack: Pack
    bound: tuple[Bound, ...]

    @property
    def active(self) -> tuple[Bound, ...]:
        return tuple(b for b in self.bound if b.rule.enabled)


_CACHE: dict[tuple[int, str], _Checked] = {}
_CACHE_SIZE = 64


def _problems(rule: PackRule, file: str, entry: str,
              playbook: Playbook) -> tuple[list[tuple[str, str, str, str]], Bound | None]:
    try:
        check = get_check(rule.check)
    except UnknownKeyError as exc:
        return [(file, entry, "check", str(exc))], None
    shared = check.defaults(playbook)
    try:
        params = check.parse({**shared, **rule.params})
    except ValidationError as exc:
        return [(file, entry, ".".join(["params", *map(str, e["loc"])]), e["msg"]) for e in exc.errors()], None
    if shared:
        looser = check.loosened(check.parse({**rule.params, **shared}), params)
        if looser:
            return [(file, entry, f"params.{k}", f"looser than the playbook's shared setting {k}={shared[k]!r} "
                     "(settings.yaml); a pack may only be stricter") for k in looser], None
    return [], Bound(rule, check, params)


def _validate(pack: Pack, playbook: Playbook) -> _Checked:
    file = f"compliance/{pack.id}.yaml"
    problems, bound = [], []
    for i, rule in enumerate(pack.rules):
        found, b = _problems(rule, file, f"pack.rules[{i}] (id: {rule.id})", playbook)
        problems += found
        if b is not None:
            bound.append(b)
    if problems:
        raise ContentError(problems)
    rules = [b.rule.model_copy(update={"params": b.params.model_dump()}) for b in bound]
    return _Checked(pack.model_copy(update={"rules": rules}),
                    tuple(Bound(r, b.check, b.params) for r, b in zip(rules, bound)))


def bind(pack: str | Pack, playbook: Playbook | None = None) -> _Checked:
    """The validated pack and its rules bound to their check types (cached by content)."""
    pb = playbook or load_playbook()
    p = pack if isinstance(pack, Pack) else pb.pack(pack)
    key = (registry_version(), p.model_dump_json(), pb.settings.model_dump_json())
    hit = _CACHE.get(key)
    if hit is None:
        hit = _validate(p, pb)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def get_pack(pack: str | Pack, playbook: Playbook | None = None) -> Pack:
    """A pack by id (``cn``, ``us``, ``uk``) or as given, every rule validated.

    Parameters
    ----------
    pack : str or Pack
        A pack id of the playbook (the error lists the known ones), or a pack.
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.

    Returns
    -------
    Pack
        The pack with each rule's ``params`` checked against its check type (and
        normalised to the parameter model's values).

    Raises
    ------
    ContentError
        For an unknown check type (field ``check``) or a bad parameter (field
        ``params.<name>``), naming the pack file and the rule.
    """
    return bind(pack, playbook).pack


def zone_warning(pack: str | Pack, timezone: str | None, lang: str = "en",
                 playbook: Playbook | None = None) -> str | None:
    """A warning when ``pack`` is written for another part of the world than ``timezone``.

    A pack's rules (contact hours, legal sources) belong to its jurisdiction, and accounts
    without their own time zone are checked in the pack's ``default_timezone``. A
    portfolio whose business time zone lies on another continent (``America/...`` checked
    with the China pack) is almost always the wrong ``--pack``.

    Parameters
    ----------
    pack : str or Pack
        The rule pack.
    timezone : str, optional
        The portfolio's business time zone (``None``: no warning).
    lang : {"zh", "en"}
        The language of the warning.
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.

    Returns
    -------
    str or None
        The warning, or ``None`` when the zones are on the same continent.
    """
    pb = playbook or load_playbook()
    p = bind(pack, pb).pack
    if not timezone or timezone.split("/")[0] == p.default_timezone.split("/")[0]:
        return None
    return pb.text("pack.zone_mismatch", lang).format(pack=p.id, pack_zone=p.default_timezone, zone=timezone)


def _added(items: Iterable[PackRule | Mapping[str, Any]], pack: Pack, playbook: Playbook) -> list[Bound]:
    file = f"tighten({pack.id})"
    known = {r.id for r in pack.rules}
    problems, out = [], []
    for j, item in enumerate(items):
        raw_id = item.id if isinstance(item, PackRule) else dict(item).get("id", "?")
        entry = f"add[{j}] (id: {raw_id})"
        if isinstance(item, PackRule):
            rule = item
        else:
            try:
                rule = PackRule.model_validate(dict(item))
            except ValidationError as exc:
                problems += [(file, entry, ".".join(map(str, e["loc"])) or "-", e["msg"]) for e in exc.errors()]
                continue
        if rule.id in known:
            problems.append((file, entry, "id", f"duplicate rule id {rule.id!r}"))
            continue
        known.add(rule.id)
        found, b = _problems(rule, file, entry, playbook)
        problems += found
        if b is not None:
            out.append(b)
    if problems:
        raise ContentError(problems)
    return out


def tighten(pack: str | Pack, overrides: Mapping[str, Mapping[str, Any]], *,
            add: Iterable[PackRule | Mapping[str, Any]] = (), playbook: Playbook | None = None) -> Pack:
    """A copy of ``pack`` with stricter settings; any loosening raises.

    Parameters
    ----------
    pack : str or Pack
        The pack to start from.
    overrides : mapping
        Rule id to new parameter values and/or ``enabled``. Each check type decides which
        values are stricter (e.g. a lower ``max``, longer ``days``, a quiet window that
        contains the old one, fewer accepted opt-out markers); enabling a rule is stricter.
    add : iterable of PackRule or mapping
        Extra rules (``id``, ``check``, ``text``, ``source``, ``params``), validated like
        pack rules. Adding a rule always tightens.
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.

    Returns
    -------
    Pack

    Raises
    ------
    ComplianceConfigError
        An override would loosen or disable a rule, or names an unknown parameter.
    UnknownKeyError
        An override names an unknown rule.
    ContentError
        An added rule is invalid.
    """
    checked = bind(pack, playbook)
    p = checked.pack
    known = [r.id for r in p.rules]
    for rid in overrides:
        if rid not in known:
            raise UnknownKeyError(f"{p.id} rule", rid, known)
    rules = []
    for b in checked.bound:
        r = b.rule
        o = dict(overrides.get(r.id, {}))
        enabled = o.pop("enabled", r.enabled)
        if r.enabled and not enabled:
            raise ComplianceConfigError(f"{p.id}: disabling {r.id} would loosen the pack ({r.source})")
        fields = list(b.check.Params.model_fields)
        for k in o:
            if k not in fields:
                raise ComplianceConfigError(f"{p.id}: rule {r.id} has no parameter {k!r}; "
                                            f"known: {', '.join(fields) or '(none)'}")
        try:
            new = b.check.parse({**b.params.model_dump(), **o})
        except ValidationError as exc:
            e = exc.errors()[0]
            raise ComplianceConfigError(f"{p.id}: {r.id}.{'.'.join(map(str, e['loc']))}: {e['msg']}") from None
        for k in b.check.loosened(b.params, new):
            raise ComplianceConfigError(f"{p.id}: setting {r.id}.{k} from {getattr(b.params, k)!r} to "
                                        f"{getattr(new, k)!r} would loosen the rule ({r.source}); packs may only be tightened")
        rules.append(r.model_copy(update={"params": new.model_dump(), "enabled": bool(enabled)}))
    pb = playbook or load_playbook()
    rules += [b.rule for b in _added(add, p, pb)]
    return bind(p.model_copy(update={"rules": rules}), pb).pack
