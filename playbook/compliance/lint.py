"""The one marker scan: which texts contain which markers, vectorised over a Series.

Used by the ``prohibited_language`` and ``opt_out_in_messages`` log checks, by
:func:`lint_text` and by the strategy verdict's script and SMS lint.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..content import Playbook, Prohibited, load_playbook

__all__ = ["find_markers", "scan_prohibited", "lint_text", "practice_citation"]


def _distinct(texts: pd.Series | Sequence[str | None]) -> tuple[np.ndarray, pd.Series]:
    """Code of each text among the distinct non-empty texts (-1: missing or empty), and
    those texts in lower case. Messages are mostly templates: each is scanned once."""
    codes, uniques = pd.factorize(pd.Series(texts, dtype=object).fillna(""))
    low = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.lower()
    empty = (low.str.len() == 0).to_numpy()
    if empty.any():
        codes = np.where(empty[np.maximum(codes, 0)] & (codes >= 0), -1, codes)
    return codes, low


def _first_of(low: pd.Series, markers: Sequence[str]) -> np.ndarray:
    first = np.full(len(low), -1, dtype="int64")
    todo = np.flatnonzero((low.str.len() > 0).to_numpy())
    for k, marker in enumerate(markers):
        if not len(todo):
            break
        found = low.iloc[todo].str.contains(marker.lower(), regex=False).to_numpy()
        first[todo[found]] = k
        todo = todo[~found]
    return first


def _spread(codes: np.ndarray, per_distinct: np.ndarray) -> np.ndarray:
    return np.append(per_distinct, -1)[codes]  # code -1 picks the appended -1


def find_markers(texts: pd.Series | Sequence[str | None], markers: Sequence[str]) -> np.ndarray:
    """Index in ``markers`` of the first marker each text contains (case-insensitive), or -1.

    Missing and empty texts contain no marker.
    """
    codes, low = _distinct(texts)
    return _spread(codes, _first_of(low, markers))


_POLICY = {"en": "playbook policy: not used in any script", "zh": "本手册规定：任何话术都不得使用"}


def practice_citation(practice: Prohibited, jurisdiction: str | None = None, lang: str = "en") -> str:
    """The legal sources of a prohibited practice in one jurisdiction (pack id), ``; ``-joined
    (``；`` in Chinese).

    Without ``jurisdiction``, all its sources. A practice with no source there is refused by
    the playbook's own policy (lawful by construction), which is what the citation then says,
    in ``lang`` (``"zh"`` or ``"en"``; the citations themselves are as written in the sources).
    """
    sources = practice.sources if jurisdiction is None else practice.sources_for(jurisdiction)
    sep = "；" if lang == "zh" else "; "
    return sep.join(s.citation for s in sources) or _POLICY.get(lang, _POLICY["en"])


def scan_prohibited(texts: pd.Series | Sequence[str | None], playbook: Playbook,
                    jurisdiction: str | None = None) -> pd.DataFrame:
    """Every prohibited practice (``playbook.prohibited``) each text uses, by its markers.

    With ``jurisdiction`` (a pack id), only the practices that have a legal source there.

    Returns
    -------
    DataFrame
        One row per (text, practice) found, in text then practice order: ``pos`` (position
        of the text), ``practice`` (position in ``playbook.prohibited``) and ``marker`` (the
        first of the practice's markers found).
    """
    codes, low = _distinct(texts)
    parts = []
    for i, practice in enumerate(playbook.prohibited):
        if jurisdiction is not None and not practice.sources_for(jurisdiction):
            continue
        markers = [m for ms in practice.markers.values() for m in ms]
        k = _spread(codes, _first_of(low, markers))
        pos = np.flatnonzero(k >= 0)
        parts.append(pd.DataFrame({"pos": pos, "practice": i,
                                   "marker": np.asarray(markers + [""], dtype=object)[k[pos]]}))
    if not parts:
        return pd.DataFrame({"pos": np.array([], dtype="int64"), "practice": np.array([], dtype="int64"), "marker": []})
    return pd.concat(parts, ignore_index=True).sort_values(["pos", "practice"], kind="stable").reset_index(drop=True)


def lint_text(text: str, playbook: Playbook | None = None, pack: str | None = None) -> list[dict]:
    """Prohibited practices a script or message uses, by their bilingual text markers.

    Parameters
    ----------
    text : str
        A script or message.
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.
    pack : {"cn", "us", "uk"}, optional
        Only the practices unlawful in that pack's jurisdiction, with its sources only
        (default: every practice, every source).

    Returns
    -------
    list of dict
        One item per practice found: ``practice``, ``marker``, ``name_zh``, ``name_en``,
        ``why`` (en), ``why_zh`` and ``sources``.
    """
    pb = playbook or load_playbook()
    found = []
    for hit in scan_prohibited([text or ""], pb, pack).itertuples(index=False):
        practice = pb.prohibited[hit.practice]
        sources = practice.sources if pack is None else practice.sources_for(pack)
        found.append({"practice": practice.id, "marker": hit.marker, "name_zh": practice.name.zh,
                      "name_en": practice.name.en, "why": practice.why_forbidden.en,
                      "why_zh": practice.why_forbidden.zh,
                      "sources": [s.citation for s in sources]})
    return found
