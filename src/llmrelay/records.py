"""The base of every response type: a pydantic model in the OpenAI wire shape that also
answers dict-style access, and keeps provider extras."""

from __future__ import annotations

from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict

__all__ = ["Record"]


class Record(BaseModel):
    """Base of every response type: extras kept, dict-style access as in the OpenAI shape."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and getattr(self, key, None) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None)
        return default if value is None else value

    def keys(self) -> Iterator[str]:
        return iter(self.model_dump().keys())

    def json(self, **kwargs: Any) -> str:  # type: ignore[override]
        return self.model_dump_json(**kwargs)
