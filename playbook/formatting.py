"""Numbers and tables for people: the command line's output formatting.

Integers with thousands separators, money with its currency, rates as percentages with
one decimal, never scientific notation, ``n/a`` for a missing value, and plain-text tables
that fit a width (long cells wrap, too many columns split into several tables that repeat
the key columns). Widths count East Asian wide characters as two columns.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any, NamedTuple, Sequence

__all__ = ["NA", "WIDTH", "Punctuation", "display_width", "fmt_int", "fmt_number", "fmt_money", "fmt_rate",
           "fmt_value", "punctuation", "render_table", "wrap"]

NA = "n/a"


class Punctuation(NamedTuple):
    """The separators of running text in one language (full-width in Chinese)."""

    colon: str
    comma: str
    semicolon: str
    open: str
    close: str

    def bracket(self, text: str) -> str:
        """``text`` in brackets after a word: ``（text）`` or `` (text)``."""
        return f"{self.open}{text}{self.close}"


_PUNCTUATION = {"zh": Punctuation("：", "，", "；", "（", "）"), "en": Punctuation(": ", ", ", "; ", " (", ")")}


def punctuation(lang: str) -> Punctuation:
    """The separators of running text in ``lang``: full-width in ``zh``, else English."""
    return _PUNCTUATION["zh" if lang == "zh" else "en"]
WIDTH = 120
_GAP = "  "


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x) or (isinstance(x, float) and math.isinf(x))  # NaN, NaT, inf
    except (TypeError, ValueError):
        return False


def fmt_int(x: Any) -> str:
    """``5000`` -> ``5,000`` (rounded to a whole number); missing -> ``n/a``."""
    return NA if _missing(x) else f"{round(float(x)):,d}"


def fmt_number(x: Any, decimals: int = 1) -> str:
    """A number with thousands separators and ``decimals`` decimals; missing -> ``n/a``."""
    return NA if _missing(x) else f"{float(x):,.{decimals}f}"


def fmt_money(x: Any, currency: str | None = None, decimals: int = 0) -> str:
    """``1976177.3, "CNY"`` -> ``1,976,177 CNY``; missing -> ``n/a``."""
    if _missing(x):
        return NA
    s = f"{float(x):,.{decimals}f}"
    if s.startswith("-") and float(s.replace(",", "")) == 0:
        s = s[1:]
    return f"{s} {currency}" if currency else s


def fmt_rate(x: Any, decimals: int = 1, *, signed: bool = False) -> str:
    """``0.3413`` -> ``34.1%``; missing -> ``n/a``."""
    if _missing(x):
        return NA
    return f"{100 * float(x):+.{decimals}f}%" if signed else f"{100 * float(x):.{decimals}f}%"


def fmt_value(x: Any, kind: str, currency: str | None = None) -> str:
    """Format ``x`` by ``kind``: ``int``, ``money``, ``rate``, ``number`` (1 decimal) or ``text``."""
    if kind == "int":
        return fmt_int(x)
    if kind == "money":
        return fmt_money(x, currency)
    if kind == "rate":
        return fmt_rate(x)
    if kind == "number":
        return fmt_number(x)
    return NA if _missing(x) else str(x)


def display_width(s: str) -> int:
    """Terminal columns of ``s``: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)


def _wrap_cell(s: str, width: int) -> list[str]:
    """Wrap ``s`` into lines of at most ``width`` display columns (breaking at spaces where it can)."""
    out: list[str] = []
    for para in s.split("\n") or [""]:
        if display_width(para) <= width:
            out.append(para)
            continue
        line = ""
        for word in para.split(" "):
            cand = f"{line} {word}" if line else word
            if display_width(cand) <= width:
                line = cand
                continue
            if line and display_width(word) > len(word) and display_width(line) < width - 1:
                line += " "  # CJK text breaks between characters: fill the line ("834 元" stays together)
            else:
                if line:
                    out.append(line)
                line = ""
            for ch in word:  # a word longer than the width (or CJK text without spaces): see _break_at
                if display_width(line + ch) > width:
                    cut = _break_at(line, ch)
                    if line[:cut].rstrip():
                        out.append(line[:cut].rstrip())
                    line = line[cut:].lstrip()
                line += ch
        out.append(line)
    return out


_OPENING = "(（《「“[【"
_CLOSING = ")）》」”]】；;，,、。：:"


def _break_at(line: str, nxt: str) -> int:
    """Where to end a full ``line`` of a word too long to fit, ``nxt`` being the character
    that does not fit: after the last closing mark or punctuation, or before the last
    opening bracket, in its second half (so a date in brackets or a citation stays whole);
    else at its end, but never so that a closing mark starts the next line."""
    for i in range(len(line) - 1, len(line) // 2, -1):
        if line[i] in _OPENING:
            return i
        if line[i - 1] in _CLOSING and line[i] not in _CLOSING:
            return i
    if nxt in _CLOSING and len(line) > 1:
        return len(line) - 1  # the last character goes down with the closing mark
    return len(line)


def wrap(text: str, width: int = WIDTH, indent: str = "", subsequent: str | None = None) -> str:
    """Wrap a paragraph to ``width`` display columns with the given indents."""
    sub = indent + "  " if subsequent is None else subsequent
    lines = _wrap_cell(text, width - display_width(indent))
    first, rest = lines[0], lines[1:]
    if rest:
        rest = _wrap_cell(" ".join(rest), width - display_width(sub))
    return "\n".join([indent + first] + [sub + r for r in rest])


def _pad(s: str, width: int, right: bool) -> str:
    fill = " " * max(width - display_width(s), 0)
    return fill + s if right else s + fill


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str | Sequence[str] | None = None,
                 keys: int = 1, width: int = WIDTH, wrap_cols: Sequence[int] = (), min_wrap: int = 16) -> str:
    """A plain-text table of already formatted cells that fits ``width`` display columns.

    ``align`` is one character per column (``l`` or ``r``; default: the first ``keys``
    columns left, the rest right). Columns in ``wrap_cols`` wrap their cells (down to
    ``min_wrap`` columns) when the table is too wide; if it still is, the columns after the
    first ``keys`` are split over several tables, each repeating the key columns.
    """
    headers = [str(h) for h in headers]
    cells = [[NA if _missing(c) else str(c) for c in r] for r in rows]
    n = len(headers)
    al = list(align) if align is not None else ["l"] * keys + ["r"] * (n - keys)
    cell_w = [max([0] + [display_width(line) for r in cells for line in r[i].split("\n")]) for i in range(n)]
    # headers keep their lines while the table fits; else they wrap, down to their longest word
    widths = [max([cell_w[i]] + [display_width(h) for h in headers[i].split("\n")]) for i in range(n)]
    least = [max([cell_w[i]] + [display_width(w) for w in headers[i].replace("\n", " ").split(" ")]) for i in range(n)]

    def total(cols: Sequence[int]) -> int:
        return sum(widths[i] for i in cols) + len(_GAP) * (len(cols) - 1)

    everything = list(range(n))
    excess = total(everything) - width
    while excess > 0:  # narrow the column whose header has the most slack, one column at a time
        i = max(everything, key=lambda c: (widths[c] - least[c], -c))
        if widths[i] <= least[i]:
            break
        widths[i] -= 1
        excess -= 1
    if excess > 0 and wrap_cols:  # shrink the wrappable columns, widest first
        for i in sorted(wrap_cols, key=lambda c: -widths[c]):
            cut = min(excess, max(widths[i] - min_wrap, 0))
            widths[i] -= cut
            excess -= cut
            if excess <= 0:
                break
    groups: list[list[int]] = []
    key_cols = list(range(min(keys, n)))
    current: list[int] = []
    for i in range(len(key_cols), n):
        if current and total(key_cols + current + [i]) > width:
            groups.append(current)
            current = []
        current.append(i)
    groups.append(current)
    blocks = []
    for g in groups:
        cols = key_cols + g
        lines = []
        head = [_wrap_cell(headers[i], widths[i]) for i in cols]
        for k in range(max(len(h) for h in head)):
            lines.append(_GAP.join(_pad(h[k] if k < len(h) else "", widths[i], al[i] == "r")
                                   for h, i in zip(head, cols)).rstrip())
        lines.append(_GAP.join("-" * widths[i] for i in cols))
        for r in cells:
            parts = [_wrap_cell(r[i], widths[i]) for i in cols]
            for k in range(max(len(p) for p in parts)):
                lines.append(_GAP.join(_pad(p[k] if k < len(p) else "", widths[i], al[i] == "r")
                                       for p, i in zip(parts, cols)).rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
