"""Keyed pseudonyms for CPR numbers.

HMAC-SHA256 with ``PSEUDONYM_KEY``: the same CPR number gives the same pseudonym in every extract,
so a patient can be followed across extracts, and without the key nobody can go from a pseudonym
back to the CPR number by trying all the (few) possible CPR numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

PSEUDONYM_LENGTH = 32  # hex characters: 128 bits, no collisions at any registry's size
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class Pseudonymiser:
    """Maps normalised CPR numbers (10 digits) to pseudonyms."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("PSEUDONYM_KEY is empty")
        # HMAC-SHA256 spelled out (RFC 2104) from two pre-keyed hash states: the same digest as
        # the hmac module, without its per-call object overhead, which dominates on a million
        # numbers.
        block = hashlib.sha256().block_size
        raw_key = key.encode("utf-8")
        if len(raw_key) > block:
            raw_key = hashlib.sha256(raw_key).digest()
        raw_key = raw_key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in raw_key)).copy
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in raw_key)).copy

    def _digest(self, cpr: bytes) -> bytes:
        inner = self._inner()
        inner.update(cpr)
        outer = self._outer()
        outer.update(inner.digest())
        return outer.digest()

    def _digests(self, cprs: list[bytes]) -> list[bytes]:
        # The loop of ``_digest``, inlined: a million numbers spend most of their time here.
        inner, outer = self._inner, self._outer
        digests = []
        append = digests.append
        for cpr in cprs:
            state = inner()
            state.update(cpr)
            mac = outer()
            mac.update(state.digest())
            append(mac.digest())
        return digests

    def __call__(self, cprs: np.ndarray) -> np.ndarray:
        """An array of CPR strings to an array of pseudonym strings."""
        codes, uniques = pd.factorize(pd.Series(cprs, dtype=object))
        hashed = np.array(
            [self._digest(cpr.encode("ascii")).hex()[:PSEUDONYM_LENGTH] for cpr in uniques],
            dtype=object,
        )
        return hashed[codes]

    def of_digits(self, digits: np.ndarray) -> pa.StringArray:
        """A matrix of ASCII digits, one CPR number per row, to pseudonyms, as an Arrow array.

        Each distinct number is hashed once (a patient with several operations appears once),
        and the hex encoding is done on the whole matrix of digests at once.
        """
        count = len(digits)
        if count == 0:
            return pa.array([], type=pa.string())
        numbers = (digits.astype(np.int64) - ord("0")) @ (10 ** np.arange(9, -1, -1))
        distinct, first, inverse = np.unique(numbers, return_index=True, return_inverse=True)
        rows = np.ascontiguousarray(digits[first]).view("S10").ravel().tolist()
        blob = b"".join(self._digests(rows))
        half = np.frombuffer(blob, dtype=np.uint8).reshape(len(distinct), 32)[
            :, : PSEUDONYM_LENGTH // 2
        ]
        text = np.empty((len(distinct), PSEUDONYM_LENGTH), dtype=np.uint8)
        text[:, 0::2] = _HEX[half >> 4]
        text[:, 1::2] = _HEX[half & 0x0F]
        per_row = text[inverse.ravel()]
        offsets = np.arange(0, (count + 1) * PSEUDONYM_LENGTH, PSEUDONYM_LENGTH, dtype=np.int32)
        return pa.StringArray.from_buffers(
            count, pa.py_buffer(offsets), pa.py_buffer(per_row.tobytes())
        )


def pseudonymiser(key: str) -> Pseudonymiser:
    return Pseudonymiser(key)
