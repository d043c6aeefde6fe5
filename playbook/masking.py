"""Masking of personal data for every report: names, phone numbers, ID numbers."""

from __future__ import annotations

import pandas as pd

__all__ = ["mask_name", "mask_phone", "mask_id", "mask_pii", "neutralise_formulas"]


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
