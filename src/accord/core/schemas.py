"""Base Pydantic models: unknown fields are an error, never silently dropped."""

from __future__ import annotations

from typing import Generic, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict

T = TypeVar("T")
# Paging past this is not browsing; it also keeps OFFSET inside the databases' integer range.
MAX_OFFSET = 1_000_000


def optional_email(value: str | None) -> str | None:
    """Empty means "none given"; anything else must be a syntactically valid address."""
    if value is None or value == "":
        return value
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address ({exc})") from None


class Strict(BaseModel):
    """Input models: reject unknown fields and strip surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorField(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = []
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorBody
