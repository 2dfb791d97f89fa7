"""Check every row of an extract against its profile, vectorised.

Most columns hold few distinct values (codes, dates, choices), so each column is dictionary-encoded
(in Arrow) and its distinct values are checked once, with pandas; the verdicts and canonical values
are then spread back to the rows by index. The CPR number, distinct in nearly every row, is checked
as a matrix of bytes. Every row ends either in ``Validated.rows`` (canonical, typed, Arrow-backed
columns) or in ``Validated.refused`` with its line, its first reason and all its reasons.
"""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from indicators.registry.cpr import cpr_values, scrub
from indicators.registry.errors import Reason, reason
from indicators.registry.profiles import Column, Profile
from indicators.registry.pseudonym import Pseudonymiser
from indicators.registry.reader import RawTable

_DATE = r"\d{2}-\d{2}-\d{4}"
_INT_LIMIT = 2**53  # whole numbers beyond this are not exact as the engine's floats
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_NO_DAY = np.iinfo(np.int64).min
_POWERS_OF_TEN = 10 ** np.arange(9, -1, -1, dtype=np.int64)

# Row verdicts are small integers; 0 is "fine".
ERRORS = (
    "", "required", "cpr_format", "cpr_date", "code_format", "text_too_long", "date_format",
    "choice", "integer_range", "decimal_format", "date_order", "cpr_elsewhere", "decimal_range",
)  # fmt: skip
_ERROR = {code: number for number, code in enumerate(ERRORS)}


@dataclass
class Refusal:
    line: int
    column: str | None
    reason: Reason
    details: list[dict] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class _Values:
    """A canonical field of the valid rows, kept as its distinct values and an index per row."""

    distinct: pa.Array  # canonical, null where blank (for the CPR number: its ten digits)
    index: np.ndarray  # per valid row: which distinct value it holds
    sort_key: np.ndarray | None = None  # per distinct value, where it is worth ordering by


@dataclass
class Validated:
    """The valid rows (canonical values of each field, materialised when asked for: all of them
    in ``rows``, or some at a time by ``take``) and the refused ones."""

    refused: list[Refusal]
    extra_columns: list[str]
    lines: np.ndarray  # physical line of each valid row
    values: dict[str, _Values] = field(repr=False)
    extras: list[dict | None] | None = field(repr=False)  # per valid row, if extra columns
    pseudonymise: Pseudonymiser = field(repr=False)
    cpr_field: str | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.lines)

    def last_of_each(self, name: str) -> np.ndarray:
        """Positions of the last valid row of each distinct canonical value of ``name``."""
        key = self.values[name].sort_key[self.values[name].index]
        _, from_end = np.unique(key[::-1], return_index=True)
        return len(self) - 1 - from_end

    def extent(self, name: str) -> tuple:
        """The smallest and the largest value of ``name`` among the valid rows."""
        values = self.values[name]
        present = values.distinct.take(pa.array(np.unique(values.index)))
        bounds = pc.min_max(present)
        return bounds["min"].as_py(), bounds["max"].as_py()

    def take(self, name: str, rows: np.ndarray | None = None) -> pa.Array:
        """The canonical values of ``name`` for the valid rows at ``rows`` (default all). The
        CPR number's field gives pseudonyms, hashed here: one HMAC per distinct number."""
        values = self.values[name]
        index = values.index if rows is None else values.index[rows]
        if name == self.cpr_field:
            digits = np.frombuffer(values.distinct.buffers()[1], dtype=np.uint8)
            return self.pseudonymise.of_digits(digits.reshape(-1, 10)[index])
        return values.distinct.take(pa.array(index))

    def order(self, *names: str) -> np.ndarray:
        """Positions of the valid rows sorted by the fields ``names`` (each with a sort key)."""
        key = np.zeros(len(self), dtype=np.int64)
        for name in names:
            values = self.values[name]
            spread = int(values.sort_key.max(initial=0)) + 2
            key = key * spread + values.sort_key[values.index] + 1
        return np.argsort(key)

    @functools.cached_property
    def rows(self) -> pd.DataFrame:
        """Every valid row with every canonical field, plus ``line`` and ``extra``."""
        frame = {"line": pd.Series(self.lines)}
        for name in self.values:
            frame[name] = pd.Series(pd.arrays.ArrowExtensionArray(self.take(name)))
        frame["extra"] = pd.Series(self.extras or [None] * len(self), dtype=object)
        return pd.DataFrame(frame)


@dataclass
class _ColumnCheck:
    """The verdict on one column: per distinct value, and the distinct value of each row."""

    index: np.ndarray  # per row: which distinct value it holds
    # per distinct value: canonical, null where blank or invalid (CPR numbers: ten digits)
    canonical: pa.Array
    key: np.ndarray  # per distinct value: equal canonical values share a number
    blank: np.ndarray  # per distinct value
    error: np.ndarray  # per distinct value: a number of ERRORS
    days: np.ndarray | None = None  # date columns, per distinct value: days since 1970
    sort_key: np.ndarray | None = None  # per distinct value: its place in canonical order

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        return per_value[self.index]


def validate(table: RawTable, profile: Profile, pseudonymise: Pseudonymiser) -> Validated:
    n = len(table.lines)
    lines = table.lines

    date_format = profile.date_format
    # A row is placed by its hospital and department and counted by its period date: without
    # them it cannot count anywhere, whatever the profile says of blanks.
    placing = {profile.hospital_code, profile.department_code, profile.period_column}
    columns = [
        dataclasses.replace(c, required=True) if c.name in placing else c for c in profile.columns
    ]
    profile = dataclasses.replace(profile, columns=tuple(columns))

    def check(column: Column) -> _ColumnCheck:
        if column.name not in table.header:
            return _check_column(None, n, column, date_format)
        if column.kind == "cpr":  # distinct in nearly every row: not worth encoding
            return _check_cpr(np.arange(n, dtype=np.int32), table.column(column.name), column)
        return _check_column(_encode(table.column(column.name)), n, column, date_format)

    # Arrow's and numpy's kernels release the GIL: two columns are checked at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        checks = dict(zip(profile.column_names, pool.map(check, profile.columns), strict=True))

    order = [c.name for c in profile.columns]
    errors = {name: checks[name].rows(checks[name].error) for name in order}
    order_other: dict[str, str] = {}
    for rule in profile.date_orders:
        later, earlier = checks[rule.later], checks[rule.earlier]
        # Blank and invalid dates have no day, and are never out of order.
        later_days, earlier_days = later.rows(later.days), earlier.rows(earlier.days)
        bad = (
            (errors[rule.later] == 0)
            & (errors[rule.earlier] == 0)
            & (later_days != _NO_DAY)
            & (earlier_days != _NO_DAY)
            & (later_days < earlier_days)
        )
        errors[rule.later] = np.where(bad, _ERROR["date_order"], errors[rule.later])
        order_other[rule.later] = rule.earlier

    duplicate_of = _duplicates(checks, profile, lines, errors)
    extra = [name for name in table.header if name not in set(order) and name]
    for name in extra:
        encoded = _encode(table.column(name))
        found = cpr_values(encoded.dictionary)[encoded.indices.to_numpy(zero_copy_only=False)]
        errors[name] = np.where(found, _ERROR["cpr_elsewhere"], 0).astype(np.int8)

    invalid = duplicate_of > 0
    for name in errors:
        invalid |= errors[name] != 0

    refusals = [
        Refusal(line, column, reason_, [reason_.as_dict()])
        for line, column, reason_ in table.refused
    ]
    refusals += _describe_refusals(
        np.flatnonzero(invalid), table, checks, errors, duplicate_of, profile, order_other
    )
    refusals.sort(key=lambda r: r.line)

    valid = np.flatnonzero(~invalid)
    values = {
        column.field: _Values(checks[c].canonical, checks[c].index[valid], checks[c].sort_key)
        for column in profile.columns
        for c in [column.name]
    }
    cpr = next((column.field for column in profile.columns if column.kind == "cpr"), None)
    extras = _extra_values(table, extra, valid) if extra else None
    return Validated(refusals, extra, lines[valid], values, extras, pseudonymise, cpr)


_TYPES = {
    "cpr": pa.string(),
    "code": pa.string(),
    "text": pa.string(),
    "date": pa.date32(),
    "int": pa.int16(),
    "decimal": pa.float64(),
}


def arrow_type(column: Column) -> pa.DataType:
    """The type a column's canonical values have (and its stored column, ``storage``)."""
    if column.kind == "choice":
        kinds = {type(value) for value in column.choices.values()}
        return pa.bool_() if kinds == {bool} else pa.string()
    if column.kind == "int":
        low = -_INT_LIMIT if column.low is None else column.low
        high = _INT_LIMIT if column.high is None else column.high
        return pa.int16() if low >= -(2**15) and high < 2**15 else pa.int64()
    return _TYPES[column.kind]


def _encode(raw: pa.Array) -> pa.DictionaryArray:
    return raw.dictionary_encode()


def _check_column(
    encoded: pa.DictionaryArray | None, n: int, column: Column, date_format: str = "%d-%m-%Y"
) -> _ColumnCheck:
    if encoded is None:  # an optional column the file does not have: blank in every row
        index = np.zeros(n, dtype=np.int32)
        uniques = pa.array([""], type=pa.string())
    else:
        index = encoded.indices.to_numpy(zero_copy_only=False)
        uniques = encoded.dictionary
    if column.kind == "cpr":
        return _check_cpr(index, uniques, column)
    text = pd.Series(uniques.to_pylist(), dtype=object).str.strip()
    blank = (text == "").to_numpy(dtype=bool)
    if column.kind == "date":
        values, error = _check_date(text, column, date_format)
    else:
        values, error = _CHECKERS[column.kind](text, column)
    error = np.where(blank, "required" if column.required else "", error)
    # A CPR number outside the cpr column refuses the row, whatever else is wrong with it.
    error = np.where(cpr_values(uniques), "cpr_elsewhere", error)
    numbers = np.array([_ERROR[code] for code in error], dtype=np.int8)
    usable = ~blank & (numbers == 0)
    days = None
    if column.kind == "date":
        values = np.where(usable, values, np.datetime64("NaT")).astype("datetime64[D]")
        days = np.where(usable, values.astype(np.int64), _NO_DAY)
    elif column.kind in {"int", "decimal"}:
        values = np.where(usable, values, np.nan).astype(float)
    else:
        values = np.where(usable, values, None).astype(object)
    # Equal canonical values share a number, in the values' order (blank: -1).
    key = pd.factorize(values, sort=True)[0]
    canonical = pa.array(values, from_pandas=True).cast(arrow_type(column))
    return _ColumnCheck(index, canonical, key, blank, numbers, days, sort_key=key)


def _check_cpr(index: np.ndarray, uniques: pa.Array, column: Column) -> _ColumnCheck:
    """Canonical value: the ten digits (hashed into pseudonyms only as rows are taken out)."""
    # Nearly every CPR number in a file is distinct: Arrow's kernels bring each to ten characters
    # (the dash dropped), and the checks work on those as a matrix of bytes, not Python strings.
    text = pc.utf8_trim_whitespace(uniques).cast(pa.binary())
    count = len(text)
    lengths = pc.binary_length(text).to_numpy(zero_copy_only=False)
    dashed = pc.and_(pc.equal(lengths, 11), pc.equal(pc.binary_slice(text, 6, 7), b"-"))
    ten = pc.if_else(dashed, pc.binary_replace_slice(text, 6, 7, b""), text)
    shaped = pc.equal(pc.binary_length(ten), 10).to_numpy(zero_copy_only=False)
    # Every value ten bytes long, so that the data buffer is the matrix itself.
    ten = pc.if_else(pa.array(shaped), ten, pa.scalar(b"xxxxxxxxxx", pa.binary()))
    first = np.frombuffer(ten.buffers()[1], dtype=np.int32)[ten.offset]
    digits = np.frombuffer(ten.buffers()[2], dtype=np.uint8)[first : first + 10 * count]
    digits = digits.reshape(count, 10)
    shaped &= ((digits >= ord("0")) & (digits <= ord("9"))).all(axis=1)
    number = digits[:, :6].astype(np.int16) - ord("0")
    day = number[:, 0] * 10 + number[:, 1]
    month = number[:, 2] * 10 + number[:, 3]
    year = number[:, 4] * 10 + number[:, 5]
    # The century is unknown here, so 29 February is real whenever 19YY or 20YY is a leap year.
    month_ok = (month >= 1) & (month <= 12)
    max_day = np.where(month_ok, _DAYS_IN_MONTH[np.clip(month, 0, 12)], 0)
    max_day = np.where((month == 2) & (year % 4 != 0), 28, max_day)
    real = shaped & month_ok & (day >= 1) & (day <= max_day)
    blank = lengths == 0
    error = np.where(real, 0, np.where(shaped, _ERROR["cpr_date"], _ERROR["cpr_format"]))
    error = np.where(blank, _ERROR["required"] if column.required else 0, error).astype(np.int8)
    ok = np.flatnonzero(real)
    key = np.full(count, -1, dtype=np.int64)
    key[ok] = pd.factorize((digits[ok] - ord("0")).astype(np.int64) @ _POWERS_OF_TEN)[0]
    matrix = pa.py_buffer(np.ascontiguousarray(digits))
    canonical = pa.FixedSizeBinaryArray.from_buffers(pa.binary(10), count, [None, matrix])
    return _ColumnCheck(index, canonical, key, blank, error)


def _check_code(text: pd.Series, column: Column):
    upper = text.str.upper()
    pattern = rf"[A-Z0-9]{{{column.length}}}" if column.length else r"[A-Z0-9]{1,10}"
    ok = upper.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return upper.to_numpy(dtype=object), np.where(ok, "", "code_format").astype(object)


def _check_text(text: pd.Series, column: Column):
    too_long = (text.str.len() > (column.length or 10_000)).to_numpy()
    return text.to_numpy(dtype=object), np.where(too_long, "text_too_long", "").astype(object)


def _check_date(text: pd.Series, column: Column, date_format: str = "%d-%m-%Y"):
    if date_format == "%d-%m-%Y":
        # The registries' own format: its digits counted too (strptime would take 1-2-2024).
        shaped = text.str.fullmatch(_DATE).fillna(False)
    else:
        shaped = text.str.len().fillna(0).to_numpy() > 0
        shaped = pd.Series(shaped, index=text.index)
    parsed = pd.to_datetime(text.where(shaped), format=date_format, errors="coerce")
    ok = parsed.notna().to_numpy()
    values = parsed.to_numpy(dtype="datetime64[D]")
    return values, np.where(ok, "", "date_format").astype(object)


def _check_choice(text: pd.Series, column: Column):
    mapped = text.str.lower().map(dict(column.choices))
    ok = mapped.notna().to_numpy()
    return mapped.to_numpy(dtype=object), np.where(ok, "", "choice").astype(object)


def _bounds(column: Column) -> tuple[float, float]:
    low = -np.inf if column.low is None else column.low
    high = np.inf if column.high is None else column.high
    return low, high


def _check_int(text: pd.Series, column: Column):
    shaped = text.str.fullmatch(r"-?\d{1,15}").fillna(False).to_numpy(dtype=bool)
    numbers = pd.to_numeric(text.where(shaped), errors="coerce").to_numpy(dtype=float)
    low, high = _bounds(column)
    ok = shaped & (numbers >= max(low, -_INT_LIMIT)) & (numbers <= min(high, _INT_LIMIT))
    return numbers, np.where(ok, "", "integer_range").astype(object)


def _check_decimal(text: pd.Series, column: Column):
    """A comma or a point before the decimals (profile-format.md); no thousands separator."""
    shaped = text.str.fullmatch(r"-?\d{1,15}([,.]\d+)?").fillna(False).to_numpy(dtype=bool)
    numbers = pd.to_numeric(
        text.where(shaped).str.replace(",", ".", regex=False), errors="coerce"
    ).to_numpy(dtype=float)
    low, high = _bounds(column)
    if column.low is None and column.high is None:
        return numbers, np.where(shaped, "", "decimal_format").astype(object)
    error = np.where(shaped, np.where((numbers >= low) & (numbers <= high), "", "decimal_range"),
                     "decimal_format")  # fmt: skip
    return numbers, error.astype(object)


_CHECKERS = {
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
        check = checks[name]
        usable &= (errors[name] == 0) & ~check.rows(check.blank)
        key = key * (int(check.key.max(initial=0)) + 2) + check.rows(check.key)
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
    indices, table: RawTable, checks, errors, duplicate_of, profile: Profile, order_other
) -> list[Refusal]:
    if not len(indices):
        return []
    extra = [name for name in errors if name not in set(profile.column_names)]
    secret = {c.name for c in profile.columns if c.kind == "cpr"}
    shown = [(i, name) for i, name in enumerate(table.header) if name not in secret]
    picked = table.cells.take(pa.array(indices))
    cells = [picked.column(i).to_pylist() for i in range(len(table.header))]
    position = {name: i for i, name in enumerate(table.header)}
    labels = [profile.column(name) for name in profile.key]
    key = {
        "key_da": _listed([c.label_da or c.name for c in labels], "og"),
        "key_en": _listed([c.label_en or c.name for c in labels], "and"),
    }
    refusals = []
    for k, i in enumerate(indices):
        row = {name: cells[position[name]][k] for name in position}
        reasons: list[tuple[str, Reason]] = []
        for column in profile.columns:
            code = ERRORS[errors[column.name][i]]
            if not code:
                continue
            raw = row.get(column.name, "")
            reasons.append((column.name, _row_reason(code, column, raw, row, order_other)))
        for name in extra:
            if errors[name][i]:
                reasons.append((name, reason("cpr_elsewhere", column=name)))
        if duplicate_of[i]:
            reasons.append(
                (profile.key[0], reason("duplicate_row", first_line=int(duplicate_of[i]), **key))
            )
        column_name, first = reasons[0]
        refusals.append(
            Refusal(
                line=int(table.lines[i]),
                column=column_name,
                reason=first,
                details=[{"column": name, **r.as_dict()} for name, r in reasons],
                # Whatever the file put where, no CPR number is kept with a refused row.
                values={name: scrub(cells[j][k]) for j, name in shown},
            )
        )
    return refusals


def _listed(names: list[str], and_word: str) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {and_word} {names[-1]}"


def _row_reason(code: str, column: Column, raw: str, row: dict, order_other) -> Reason:
    value = scrub(raw.strip()[:40])
    if code == "date_order":
        other = order_other[column.name]
        return reason(
            code, column=column.name, value=value, other=other,
            other_value=scrub(row[other].strip()),
        )  # fmt: skip
    if code == "code_format":
        return reason(code, column=column.name, length=column.length or "1-10", value=value)
    if code == "choice":
        choices = ", ".join(sorted({str(k) for k in column.choices}))
        return reason(code, column=column.name, choices=choices, value=value)
    if code in {"integer_range", "decimal_range"}:
        low = "" if column.low is None else column.low
        high = "" if column.high is None else column.high
        if code == "integer_range" and column.low is None and column.high is None:
            return reason("integer_format", column=column.name, value=value)
        return reason(code, column=column.name, low=low, high=high, value=value)
    if code == "text_too_long":
        return reason(code, column=column.name, length=column.length)
    if code in {"cpr_format", "cpr_date", "required", "cpr_elsewhere"}:
        return reason(code, column=column.name)
    return reason(code, column=column.name, value=value)


def _extra_values(table: RawTable, extra: list[str], valid: np.ndarray) -> list[dict | None]:
    picked = table.cells.take(pa.array(valid))
    columns = [picked.column(table.header.index(name)).to_pylist() for name in extra]
    return [
        {name: value for name, value in zip(extra, values, strict=True) if value.strip()} or None
        for values in zip(*columns, strict=True)
    ]
