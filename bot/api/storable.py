"""What PostgreSQL can store, checked where a request body is validated, so a value
it would refuse is a 422 naming the field rather than a 500 from the INSERT."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

# The largest value of an INTEGER column, which is what every count, index and score
# of the content tables is.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
# OFFSET is a bigint: asyncpg cannot even send a larger one.
OFFSET_MAX = 2**63 - 1


def refuse_unstorable_text(value: Any) -> Any:
    """`value` unchanged, or ValueError for text PostgreSQL cannot hold in a text or
    jsonb column: a NUL character, or a lone surrogate (which JSON's \\u escapes can
    carry but UTF-8 cannot encode). Looks inside lists and objects too."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (\\u0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("must be valid Unicode text (no lone surrogates)") from exc
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_unstorable_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_unstorable_text(key)
            refuse_unstorable_text(item)
    return value


class StorableText(BaseModel):
    """A body whose every field, nested ones included, is text PostgreSQL can store."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return refuse_unstorable_text(value)
