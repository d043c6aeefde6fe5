"""Masking of personal data for every report: names, phone numbers, ID numbers."""

from __future__ import annotations

import pandas as pd

__all__ = ["mask_name", "mask_phone", "mask_id", "mask_pii", "mask_notes", "neutralise_formulas"]


def mask_name(s: pd.Series) -> pd.Series:
    """Keep the first character (the family name in Chinese), star the rest: 张三丰 -> 张**."""
    s = s.astype("str")
    return s.str.slice(0, 1) + s.str.len().sub(1).clip(lower=1).map(lambda k: "*" * int(k))


def mask_phone(s: pd.Series) -> pd.Series:
    """Keep the first 3 and last 4 digits: 13812345678 -> 138****5678; short numbers are fully starred."""
    s = s.astype("str").str.replace(r"\D", "", regex=True)
    long = s.str.len() >= 8
    return (s.str.slice(0, 3) + "****" + s.str.slice(-4)).where(long, s.str.replace(r"\d", "*", regex=True))


def mask_id(s: pd.Series) -> pd.Series:
    """Keep the first 4 and last 2 characters of an ID number, star the rest."""
    s = s.astype("str")
    return s.str.slice(0, 4) + s.str.len().sub(6).clip(lower=2).map(lambda k: "*" * int(k)) + s.str.slice(-2)


def mask_pii(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with ``name``, ``phone`` and ``id_number`` masked (where present)."""
    out = frame.copy()
    for col, fn in (("name", mask_name), ("phone", mask_phone), ("id_number", mask_id)):
        if col in out:
            present = out[col].notna()
            out[col] = fn(out[col].fillna("")).where(present)
    return out


_ID_IN_TEXT = r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}\d{4}\d{3}[0-9Xx](?![0-9A-Za-z])"
_EMAIL_IN_TEXT = r"[\w.+-]+@[\w-]+\.[\w.-]+"
_DIGITS_IN_TEXT = r"(?<!\d)(\d{3})[\d\s-]{3,}(\d{4})(?!\d)"


def mask_notes(s: pd.Series) -> pd.Series:
    """Mask personal data inside free text (collectors' notes) before anyone sees it.

    ID numbers (18 characters) keep their first 4 and last 2 characters, e-mail
    addresses become ``***@***``, and any other run of 7 or more digits (phone numbers,
    card or account numbers) keeps its first 3 and last 4 digits: ``新号码13912345678`` ->
    ``新号码139****5678``. Missing notes stay missing. The result still needs HTML
    escaping for display.
    """
    present = s.notna()
    t = s.astype("str")
    t = t.str.replace(_ID_IN_TEXT, lambda m: m.group(0)[:4] + "*" * 12 + m.group(0)[-2:], regex=True)
    t = t.str.replace(_EMAIL_IN_TEXT, "***@***", regex=True)
    t = t.str.replace(_DIGITS_IN_TEXT, lambda m: m.group(1) + "****" + m.group(2), regex=True)
    return t.where(present)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to open in a spreadsheet: text cells starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return get a leading apostrophe, so Excel and
    LibreOffice show them as text instead of running them as formulas (CSV injection).

    Numbers are left as numbers; only text (object, string or category) columns change.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)
                or isinstance(s.dtype, pd.CategoricalDtype)):
            continue
        text = s.astype(object)
        risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START)).astype(bool)
        if risky.any():
            out[col] = text.mask(risky, "'" + text[risky].astype(str))
    return out
