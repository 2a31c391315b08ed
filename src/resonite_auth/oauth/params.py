"""Reading form and query parameters the way the RFCs ask."""

from __future__ import annotations

from collections.abc import Iterable

from resonite_auth.errors import InvalidRequest


class Params:
    """Request parameters where every name may appear at most once (RFC 6749 §3.1, §3.2)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        self.repeated: set[str] = set()
        for name, value in items:
            if name in self._values:
                self.repeated.add(name)
            self._values[name] = value

    def get(self, name: str) -> str | None:
        """The value, with an empty value treated as absent (RFC 6749 §3.1)."""
        if name in self.repeated:
            raise InvalidRequest(f"The {name} parameter is repeated.")
        value = self._values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise InvalidRequest(f"The {name} parameter is missing.")
        return value

    def is_repeated(self, name: str) -> bool:
        return name in self.repeated

    def check_no_repeats(self) -> None:
        if self.repeated:
            raise InvalidRequest(f"The {sorted(self.repeated)[0]} parameter is repeated.")

    def raw(self, name: str) -> str | None:
        return self._values.get(name)
