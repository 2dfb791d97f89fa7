"""Evaluating rules as numpy masks over a prepared frame of operation rows.

The prepared form (:func:`prepare_frame`) is what the engine reads from the database:
dates as float day numbers since 1970-01-01, integers, numbers and booleans (1.0/0.0) as
float, choices and text as pandas categoricals; a blank is NaN or the categorical's -1 code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from indicators.rules.schema import FieldSpec


def prepare_frame(frame: pd.DataFrame, fields: Mapping[str, FieldSpec]) -> pd.DataFrame:
    """The frame with each known field in the form :func:`evaluate` reads.

    Accepts dates as datetime64, ``datetime.date`` objects or ISO strings, booleans as bool,
    nullable boolean or objects; blanks as None/NaN/NaT/"". Prepared columns are kept as they
    are, so preparing twice costs nothing.
    """
    out = {
        name: frame[name] if name not in fields else _prepare_column(frame[name], fields[name])
        for name in frame.columns
    }
    return pd.DataFrame(out, index=frame.index)


def _blank_to_none(col: pd.Series) -> pd.Series:
    values = col.astype(object)
    return values.where(values.notna() & (values != ""), None)


def _prepare_column(col: pd.Series, spec: FieldSpec) -> pd.Series:
    if spec.kind in ("choice", "text"):
        if isinstance(col.dtype, pd.CategoricalDtype) and (
            spec.kind == "text" or list(col.cat.categories) == list(spec.choices)
        ):
            return col
        values = _blank_to_none(col)
        if spec.kind == "choice":
            categories = list(spec.choices)
        else:
            categories = sorted({v for v in values if v is not None})
        return pd.Series(pd.Categorical(values, categories=categories), index=col.index)
    if col.dtype == np.float64:
        return col
    if spec.kind == "date":
        if not pd.api.types.is_datetime64_any_dtype(col.dtype):
            col = pd.to_datetime(_blank_to_none(col))
        blank = col.isna().to_numpy()
        days = col.to_numpy(dtype="datetime64[D]").astype(np.int64).astype(float)
        days[blank] = np.nan
        return pd.Series(days, index=col.index)
    values = _blank_to_none(col)
    if spec.kind == "boolean":
        values = values.map({True: 1.0, False: 0.0})
    return pd.Series(pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan), col.index)


def evaluate(node: Mapping, frame: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows of a prepared frame for which the (valid) rule holds."""
    n = len(frame)
    if "all" in node:
        mask = np.ones(n, dtype=bool)
        for child in node["all"]:
            mask &= evaluate(child, frame)
        return mask
    if "any" in node:
        mask = np.zeros(n, dtype=bool)
        for child in node["any"]:
            mask |= evaluate(child, frame)
        return mask
    if "not" in node:
        return ~evaluate(node["not"], frame)
    if "days" in node:
        return _compare(measure_values(node, frame), node["op"], float(node["value"]))
    return _field_condition(frame[node["field"]], node["op"], node.get("value"))


def measure_values(spec: Mapping, frame: pd.DataFrame) -> np.ndarray:
    """Days from date A to date B per row, as floats (NaN where either date is blank)."""
    a, b = spec["days"]
    return _floats(frame[b]) - _floats(frame[a])


def _floats(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype=float, na_value=np.nan)


def _compare(x: np.ndarray, op: str, v: float) -> np.ndarray:
    # NaN compares False, which is the rule for blanks; only "ne" needs saying so.
    if op == "eq":
        return x == v
    if op == "ne":
        return ~np.isnan(x) & (x != v)
    if op == "lt":
        return x < v
    if op == "le":
        return x <= v
    if op == "gt":
        return x > v
    if op == "ge":
        return x >= v
    raise ValueError(f"unknown operator {op!r}")


def _field_condition(col: pd.Series, op: str, value: Any) -> np.ndarray:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _category_condition(col, op, value)
    x = _floats(col)
    if op == "blank":
        return np.isnan(x)
    if op == "not_blank":
        return ~np.isnan(x)
    if op in ("in", "not_in"):
        hit = np.isin(x, np.asarray([float(v) for v in value]))
        return hit if op == "in" else ~np.isnan(x) & ~hit
    return _compare(x, op, float(value))


def _category_condition(col: pd.Series, op: str, value: Any) -> np.ndarray:
    codes = col.cat.codes.to_numpy()
    present = codes >= 0
    if op == "blank":
        return ~present
    if op == "not_blank":
        return present
    categories = col.cat.categories
    if op == "startswith":
        prefixes = tuple(value) if isinstance(value, list) else (value,)
        wanted = np.flatnonzero([str(c).startswith(prefixes) for c in categories])
        return np.isin(codes, wanted)
    wanted = categories.get_indexer(value if isinstance(value, list) else [value])
    hit = np.isin(codes, wanted[wanted >= 0])  # a value no row has matches nothing
    if op in ("eq", "in"):
        return hit
    if op in ("ne", "not_in"):
        return present & ~hit
    raise ValueError(f"operator {op!r} does not apply to a choice or text field")
