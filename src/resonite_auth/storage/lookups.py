"""Read-only lookups of at most one row by a unique key, which PostgreSQL runs coalesced.

A `KeyedLookup` is one select in two forms: `one`, for a key (SQLite, and any single lookup),
and `many`, for a batch of keys (`key = ANY(:keys)`, PostgreSQL), whose rows also carry their
key under `LOOKUP_KEY`. See `storage/coalescing.py` for why and how a batch forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Column, Select, String, any_, bindparam

LOOKUP_KEY = "lookup_key"
KEYS_PARAMETER = "lookup_keys"


@dataclass(frozen=True, eq=False)  # a statement constant: compared and hashed by identity
class KeyedLookup:
    one: Select[Any]
    many: Select[Any]
    parameter: str  # the name `one` binds its key to


def keyed_lookup(base: Select[Any], key: Column[str], parameter: str) -> KeyedLookup:
    """`base` narrowed to one value of `key`, a primary key or unique column (one row at most
    per value: a batch hands each key the row that carries it)."""
    if not (key.primary_key or key.unique):
        raise ValueError(f"{key} is not a unique column")
    many_keys = bindparam(KEYS_PARAMETER, type_=ARRAY(String()))
    return KeyedLookup(
        one=base.where(key == bindparam(parameter)),
        many=base.add_columns(key.label(LOOKUP_KEY)).where(key == any_(many_keys)),
        parameter=parameter,
    )
