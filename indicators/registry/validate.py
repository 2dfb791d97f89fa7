"""Check every row of an extract against its profile, vectorised.

Most columns hold few distinct values (codes, dates, choices), so each column is factorised and
its distinct values are checked once; the verdicts are then spread back to the rows. Every row
ends either in ``Validated.rows`` (canonical, typed) or in ``Validated.refused`` with its line,
its first reason and all its reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from indicators.registry.errors import Reason, reason
from indicators.registry.profiles import Column, Profile
from indicators.registry.reader import RawTable

_DATE = r"\d{2}-\d{2}-\d{4}"
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass
class Refusal:
    line: int
    column: str | None
    reason: Reason
    details: list[dict] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Validated:
    rows: pd.DataFrame  # canonical columns, one row per valid operation, plus ``line``
    refused: list[Refusal]
    extra_columns: list[str]


@dataclass
class _ColumnCheck:
    values: np.ndarray  # canonical value per row (object/float/datetime64), blank -> None/NaN/NaT
    blank: np.ndarray  # bool per row
    error: np.ndarray  # error code per row, "" where fine


def validate(
    table: RawTable, profile: Profile, pseudonymise: Callable[[np.ndarray], np.ndarray]
) -> Validated:
    cells = table.cells
    n = len(cells)
    lines = table.lines
    checks: dict[str, _ColumnCheck] = {}
    for column in profile.columns:
        raw = cells[column.name] if column.name in cells.columns else pd.Series([""] * n)
        checks[column.name] = _check_column(raw, column)

    order = [c.name for c in profile.columns]
    errors: dict[str, np.ndarray] = {name: checks[name].error.copy() for name in order}
    order_other: dict[str, str] = {}
    for rule in profile.date_orders:
        later, earlier = checks[rule.later], checks[rule.earlier]
        bad = (
            ~later.blank
            & ~earlier.blank
            & (errors[rule.later] == "")
            & (errors[rule.earlier] == "")
            & (later.values < earlier.values)
        )
        errors[rule.later] = np.where(
            bad & (errors[rule.later] == ""), "date_order", errors[rule.later]
        )
        order_other[rule.later] = rule.earlier

    duplicate_of = _duplicates(checks, profile, lines, errors)

    invalid = np.zeros(n, dtype=bool)
    for name in order:
        invalid |= errors[name] != ""
    invalid |= duplicate_of > 0

    refused = [(line, column, reason_) for line, column, reason_ in table.refused]
    refusals = [
        Refusal(line, column, reason_, [reason_.as_dict()]) for line, column, reason_ in refused
    ]
    refusals += _describe_refusals(
        np.flatnonzero(invalid), cells, lines, checks, errors, duplicate_of, profile, order_other
    )
    refusals.sort(key=lambda r: r.line)

    valid = ~invalid
    rows = pd.DataFrame({"line": lines[valid]})
    for column in profile.columns:
        values = checks[column.name].values[valid]
        if column.kind == "cpr":
            values = pseudonymise(values)
        rows[column.field] = values
    extra = [name for name in cells.columns if name not in set(order) and name]
    rows["extra"] = _extra_values(cells.loc[valid, extra]) if extra else None
    return Validated(rows=rows, refused=refusals, extra_columns=extra)


def _check_column(raw: pd.Series, column: Column) -> _ColumnCheck:
    codes, uniques = pd.factorize(raw, sort=False)
    text = pd.Series(uniques, dtype=object).str.strip()
    blank = (text == "").to_numpy()
    values, error = _CHECKERS[column.kind](text, column)
    error = np.where(blank, "required" if column.required else "", error)
    if column.kind == "date":
        values = np.where(blank, np.datetime64("NaT"), values).astype("datetime64[D]")
    elif column.kind in {"int", "decimal"}:
        values = np.where(blank | (error != ""), np.nan, values).astype(float)
    else:
        values = np.where(blank | (error != ""), None, values).astype(object)
    return _ColumnCheck(values=values[codes], blank=blank[codes], error=error[codes])


def _check_cpr(text: pd.Series, column: Column):
    # Nearly every CPR number in a file is distinct, so this check runs on all rows: it works on
    # the characters as a byte matrix instead of through per-string regular expressions.
    values = text.to_numpy(dtype=object)
    n = len(values)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=n)
    digits = np.zeros((n, 10), dtype=np.uint8)
    shaped = np.zeros(n, dtype=bool)
    for width in (10, 11):
        rows = np.flatnonzero(lengths == width)
        if not len(rows):
            continue
        chars = np.frombuffer(
            "".join(values[rows]).encode("latin-1", "replace"), dtype=np.uint8
        ).reshape(-1, width)
        if width == 11:
            dash = chars[:, 6] == ord("-")
            rows, chars = rows[dash], np.delete(chars[dash], 6, axis=1)
        digits[rows] = chars
        shaped[rows] = True
    shaped &= ((digits >= ord("0")) & (digits <= ord("9"))).all(axis=1)
    number = digits.astype(np.int64) - ord("0")
    day = number[:, 0] * 10 + number[:, 1]
    month = number[:, 2] * 10 + number[:, 3]
    year = number[:, 4] * 10 + number[:, 5]
    # The century is unknown here, so 29 February is real whenever 19YY or 20YY is a leap year.
    month_ok = (month >= 1) & (month <= 12)
    max_day = np.where(month_ok, _DAYS_IN_MONTH[np.clip(month, 0, 12)], 0)
    max_day = np.where((month == 2) & (year % 4 != 0), 28, max_day)
    real = month_ok & (day >= 1) & (day <= max_day)
    error = np.where(shaped, np.where(real, "", "cpr_date"), "cpr_format").astype(object)
    normalised = values.copy()
    dashed = np.flatnonzero(shaped & (lengths == 11))
    normalised[dashed] = [value[:6] + value[7:] for value in values[dashed]]
    return normalised, error


def _check_code(text: pd.Series, column: Column):
    upper = text.str.upper()
    pattern = rf"[A-Z0-9]{{{column.length}}}" if column.length else r"[A-Z0-9]{1,10}"
    ok = upper.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return upper.to_numpy(dtype=object), np.where(ok, "", "code_format").astype(object)


def _check_text(text: pd.Series, column: Column):
    too_long = (text.str.len() > (column.length or 10_000)).to_numpy()
    return text.to_numpy(dtype=object), np.where(too_long, "text_too_long", "").astype(object)


def _check_date(text: pd.Series, column: Column):
    shaped = text.str.fullmatch(_DATE).fillna(False)
    parsed = pd.to_datetime(text.where(shaped), format="%d-%m-%Y", errors="coerce")
    ok = parsed.notna().to_numpy()
    values = parsed.to_numpy(dtype="datetime64[D]")
    return values, np.where(ok, "", "date_format").astype(object)


def _check_choice(text: pd.Series, column: Column):
    mapped = text.str.lower().map(dict(column.choices))
    ok = mapped.notna().to_numpy()
    return mapped.to_numpy(dtype=object), np.where(ok, "", "choice").astype(object)


def _check_int(text: pd.Series, column: Column):
    shaped = text.str.fullmatch(r"\d{1,4}").fillna(False).to_numpy(dtype=bool)
    numbers = pd.to_numeric(text.where(shaped), errors="coerce").to_numpy(dtype=float)
    ok = shaped & (numbers >= column.low) & (numbers <= column.high)
    return numbers, np.where(ok, "", "integer_range").astype(object)


def _check_decimal(text: pd.Series, column: Column):
    shaped = text.str.fullmatch(r"\d{1,4}(,\d+)?").fillna(False).to_numpy(dtype=bool)
    numbers = pd.to_numeric(
        text.where(shaped).str.replace(",", ".", regex=False), errors="coerce"
    ).to_numpy(dtype=float)
    return numbers, np.where(shaped, "", "decimal_format").astype(object)


_CHECKERS = {
    "cpr": _check_cpr,
    "code": _check_code,
    "text": _check_text,
    "date": _check_date,
    "choice": _check_choice,
    "int": _check_int,
    "decimal": _check_decimal,
}


def _duplicates(checks, profile: Profile, lines: np.ndarray, errors) -> np.ndarray:
    """For each row, the line of an earlier row with the same key, or 0."""
    usable = np.ones(len(lines), dtype=bool)
    key = np.zeros(len(lines), dtype=np.int64)
    for name in profile.key:
        usable &= (errors[name] == "") & ~checks[name].blank
        codes, uniques = pd.factorize(checks[name].values)
        key = key * (len(uniques) + 1) + codes
    first = np.zeros(len(lines), dtype=np.int64)
    if not usable.any():
        return first
    keyed = pd.Series(key[usable])
    repeated = keyed.duplicated(keep="first").to_numpy()
    if repeated.any():
        first_line = pd.Series(lines[usable][~repeated], index=keyed[~repeated].to_numpy())
        usable_idx = np.flatnonzero(usable)
        first[usable_idx[repeated]] = first_line.loc[keyed[repeated].to_numpy()].to_numpy()
    return first


def _describe_refusals(
    indices, cells, lines, checks, errors, duplicate_of, profile: Profile, order_other
) -> list[Refusal]:
    secret = {c.name for c in profile.columns if c.kind == "cpr"}
    shown = [name for name in cells.columns if name not in secret]
    refusals = []
    for i in indices:
        reasons: list[tuple[str, Reason]] = []
        for column in profile.columns:
            code = errors[column.name][i]
            if not code:
                continue
            raw = "" if column.name not in cells.columns else str(cells[column.name].iat[i])
            reasons.append((column.name, _row_reason(code, column, raw, cells, i, order_other)))
        if duplicate_of[i]:
            reasons.append(
                (profile.key[0], reason("duplicate_row", first_line=int(duplicate_of[i])))
            )
        column_name, first = reasons[0]
        refusals.append(
            Refusal(
                line=int(lines[i]),
                column=column_name,
                reason=first,
                details=[{"column": name, **r.as_dict()} for name, r in reasons],
                values={name: str(cells[name].iat[i]) for name in shown},
            )
        )
    return refusals


def _row_reason(code: str, column: Column, raw: str, cells, i: int, order_other) -> Reason:
    value = raw.strip()[:40]
    if code == "date_order":
        other = order_other[column.name]
        return reason(
            code, column=column.name, value=value, other=other,
            other_value=str(cells[other].iat[i]).strip(),
        )  # fmt: skip
    if code == "code_format":
        return reason(code, column=column.name, length=column.length or "1-10", value=value)
    if code == "choice":
        choices = ", ".join(sorted({str(k) for k in column.choices}))
        return reason(code, column=column.name, choices=choices, value=value)
    if code == "integer_range":
        return reason(code, column=column.name, low=column.low, high=column.high, value=value)
    if code == "text_too_long":
        return reason(code, column=column.name, length=column.length)
    if code in {"cpr_format", "cpr_date", "required"}:
        return reason(code, column=column.name)
    return reason(code, column=column.name, value=value)


def _extra_values(frame: pd.DataFrame) -> list[dict | None]:
    records = frame.to_dict("records")
    return [{k: v for k, v in record.items() if v.strip()} or None for record in records]
