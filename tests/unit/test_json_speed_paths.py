"""The fast JSON paths give what the standard library gives: the profile API's and userinfo's
bodies (web/routes/resources.py `encode`) are byte for byte `json.dumps(ensure_ascii=False,
separators=(",", ":"))`, and JSON columns decode (storage/driver.py `decode_json`) to the same
values as `json.loads`, over arbitrary documents of the kinds these hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resonite_auth.storage.driver import decode_json
from resonite_auth.web.routes.resources import encode

# Any text a database column can hold (no lone surrogates), including non-ASCII, controls,
# quotes, backslashes and U+2028/U+2029.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
INTEGERS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.none() | st.booleans() | INTEGERS | TEXT
# Documents: what profile_document and userinfo_claims build (no floats).
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)
STORED = st.recursive(
    SCALARS | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


@given(st.dictionaries(TEXT, DOCUMENTS, max_size=8))
def test_encode_is_the_standard_librarys_bytes(document: dict[str, Any]) -> None:
    expected = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    assert encode(document) == expected


def test_encode_keeps_non_ascii_as_utf8() -> None:
    document = {"tagline": "Grüße aus der VR ✨\u2028", "pronouns": "они/их"}
    assert encode(document) == json.dumps(
        document, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    assert "✨".encode() in encode(document)


@given(STORED)
def test_json_columns_decode_as_the_standard_library_does(value: Any) -> None:
    stored = json.dumps(value)  # as SQLAlchemy's JSON type writes it
    assert decode_json(stored) == json.loads(stored)


@pytest.mark.parametrize("value", [1, 2.5, None, True])
def test_a_value_that_is_not_text_is_a_type_error_as_for_the_standard_library(value: Any) -> None:
    """SQLite returns a JSON number stored with numeric affinity as a number; SQLAlchemy's SQLite
    dialect relies on the decoder's TypeError to return it as it is."""
    with pytest.raises(TypeError):
        json.loads(value)
    with pytest.raises(TypeError):
        decode_json(value)
