"""Charts for notebooks and briefings (seaborn), readable in Chinese and English.

Chinese labels need a CJK font. :func:`chart_lang` finds one; when there is none it falls
back to English labels and warns once, instead of drawing empty boxes.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

from ._checks import check_choice
from ._docstrings import share_docs
from .content import Playbook, load_playbook

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["chart_lang", "cjk_font", "roll_heatmap", "segment_mix"]

_CJK_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "SimHei", "Microsoft YaHei",
              "PingFang", "Heiti", "AR PL", "Droid Sans Fallback")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font that covers Chinese.

    Returns
    -------
    str or None
        A font family name (Simplified Chinese variants preferred), or None when none is
        installed.
    """
    from matplotlib import font_manager

    found = _match_cjk({f.name for f in font_manager.fontManager.ttflist})
    if found is None:
        # matplotlib caches its font list: a CJK font installed after the cache was built is
        # missing from it until the font files are added
        files = [p for p in font_manager.findSystemFonts()
                 if any(h.replace(" ", "").lower() in p.replace(" ", "").lower() for h in _CJK_HINTS)]
        for path in files:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
        found = _match_cjk({f.name for f in font_manager.fontManager.ttflist}) if files else None
    return found


def _match_cjk(names: set[str]) -> str | None:
    """The first font name matching a hint, Simplified Chinese (``SC``) variants first."""
    for hint in _CJK_HINTS:
        for name in sorted(names, key=lambda x: (not x.endswith(" SC"), x)):
            if hint.lower() in name.lower():
                return name
    return None


_warned: set[str] = set()


def chart_lang(lang: str) -> str:
    """The language charts can be labelled in, configuring matplotlib's font for it.

    Parameters
    ----------
    lang : {"zh", "en"}
        The wanted language.

    Returns
    -------
    str
        ``lang``, or ``"en"`` (with one ``RuntimeWarning``) when no CJK font is installed.
    """
    check_choice("lang", lang, ("zh", "en"))
    import matplotlib as mpl

    if lang == "en":
        return "en"
    font = cjk_font()
    if font is None:
        if "nocjk" not in _warned:
            _warned.add("nocjk")
            warnings.warn("no CJK font found (install fonts-noto-cjk); chart labels fall back to English",
                          RuntimeWarning, stacklevel=2)
        return "en"
    mpl.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    return "zh"


@share_docs
def roll_heatmap(roll: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None,
                 playbook: Playbook | None = None, empty: str | None = None) -> Axes:
    """Heatmap of a roll-rate matrix, labelled from the ``chart`` section of ``ui.yaml``.

    Parameters
    ----------
    roll : pandas.DataFrame
        From-bucket by to-bucket row shares (:func:`playbook.metrics.roll_rates`).
    {lang}
        Falls back to English, with one warning, when no CJK font is installed.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.
    {playbook}
    empty : str, optional
        What to say when there is no book to draw (e.g. the one reason that applies); by
        default the general note of ``chart.no_roll``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    pb = playbook or load_playbook()
    lang = chart_lang(lang)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4))
    stage = pb.dimension("stage")
    names = {c: stage.category(c).name(lang).split("（")[0].split(" (")[0] for c in stage.ids}
    shown = roll.astype(float).rename(index=names, columns=names)
    if shown.isna().all().all():  # no book (a team not routed by bucket, or no history): say so, draw no empty grid
        ax.text(0.5, 0.5, empty or pb.text("chart.no_roll", lang), ha="center", va="center", wrap=True,
                transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title(pb.text("chart.roll", lang))
        return ax
    sns.heatmap(shown, annot=True, fmt=".1%", cmap="Reds", vmin=0, vmax=1, cbar=False, ax=ax, linewidths=0.5)
    ax.set_title(pb.text("chart.roll", lang))
    ax.set_xlabel(pb.text("chart.to", lang))
    ax.set_ylabel(pb.text("chart.from", lang))
    return ax


@share_docs
def segment_mix(segments: pd.DataFrame, dim: str, *, by: str | None = None, lang: str = "en",
                playbook: Playbook | None = None, ax: Axes | None = None) -> Axes:
    """Bar chart of accounts per category of ``dim``, optionally split by ``by``.

    Categories are labelled with the playbook's names in ``lang``, in the playbook's order.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segments (:func:`playbook.segment`), or any frame with the ``dim`` (and ``by``) columns.
    dim : str
        The dimension on the bars' axis, e.g. ``"behaviour_type"``.
    by : str, optional
        A second dimension splitting each bar (the hue).
    {lang}
        Falls back to English, with one warning, when no CJK font is installed.
    {playbook}
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    pb = playbook or load_playbook()
    lang = chart_lang(lang)
    d = pb.dimension(dim)
    labels = {c: d.category(c).name(lang) for c in d.ids}
    frame = pd.DataFrame({dim: segments[dim].astype(object).map(labels).astype(object)})
    order = [labels[c] for c in d.ids if labels[c] in set(frame[dim])]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.35 * max(len(order), 3) + 1))
    if by is None:
        sns.countplot(data=frame, y=dim, order=order, ax=ax, color="#4C72B0")
    else:
        bd = pb.dimension(by)
        blabels = {c: bd.category(c).name(lang) for c in bd.ids}
        frame[by] = segments[by].astype(object).map(blabels).astype(object)  # object hue: seaborn #3893
        hue_order = [blabels[c] for c in bd.ids if blabels[c] in set(frame[by])]
        sns.countplot(data=frame, y=dim, hue=by, order=order, hue_order=hue_order, ax=ax)
        ax.legend(title=bd.name(lang), fontsize=8)
    ax.set_ylabel(d.name(lang))
    ax.set_xlabel(pb.text("chart.accounts", lang))
    return ax
