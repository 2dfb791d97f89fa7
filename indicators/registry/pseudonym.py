"""Keyed pseudonyms for CPR numbers.

HMAC-SHA256 with ``PSEUDONYM_KEY``: the same CPR number gives the same pseudonym in every extract,
so a patient can be followed across extracts, and without the key nobody can go from a pseudonym
back to the CPR number by trying all the (few) possible CPR numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

PSEUDONYM_LENGTH = 32  # hex characters: 128 bits, no collisions at any registry's size


def pseudonymiser(key: str):
    """A function that maps an array of normalised CPR numbers (10 digits) to pseudonyms."""
    if not key:
        raise ValueError("PSEUDONYM_KEY is empty")
    # HMAC-SHA256 spelled out (RFC 2104) from two pre-keyed hash states: the same digest as the
    # hmac module, without its per-call object overhead, which dominates on a million numbers.
    block = hashlib.sha256().block_size
    raw_key = key.encode("utf-8")
    if len(raw_key) > block:
        raw_key = hashlib.sha256(raw_key).digest()
    raw_key = raw_key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in raw_key)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in raw_key)).copy

    def one(cpr: str) -> str:
        digest = inner()
        digest.update(cpr.encode("ascii"))
        mac = outer()
        mac.update(digest.digest())
        return mac.hexdigest()[:PSEUDONYM_LENGTH]

    def many(cprs: np.ndarray) -> np.ndarray:
        # A patient with several operations is hashed once.
        codes, uniques = pd.factorize(pd.Series(cprs, dtype=object))
        hashed = np.array([one(cpr) for cpr in uniques], dtype=object)
        return hashed[codes]

    return many
