"""Keyed pseudonyms for CPR numbers.

HMAC-SHA256 with ``PSEUDONYM_KEY``: the same CPR number gives the same pseudonym in every extract,
so a patient can be followed across extracts, and without the key nobody can go from a pseudonym
back to the CPR number by trying all the (few) possible CPR numbers.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

PSEUDONYM_LENGTH = 32  # hex characters: 128 bits, no collisions at any registry's size


def pseudonymiser(key: str):
    """A function that maps an array of normalised CPR numbers (10 digits) to pseudonyms."""
    if not key:
        raise ValueError("PSEUDONYM_KEY is empty")
    keyed = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)

    def one(cpr: str) -> str:
        mac = keyed.copy()
        mac.update(cpr.encode("ascii"))
        return mac.hexdigest()[:PSEUDONYM_LENGTH]

    def many(cprs: np.ndarray) -> np.ndarray:
        # A patient with several operations is hashed once.
        codes, uniques = pd.factorize(pd.Series(cprs, dtype=object))
        hashed = np.array([one(cpr) for cpr in uniques], dtype=object)
        return hashed[codes]

    return many
