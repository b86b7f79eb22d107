"""Turning form posts into validated models and errors into per-field messages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from pydantic import ValidationError

from accord.core.errors import AccordError


async def form_dict(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}


def errors_of(exc: Exception) -> tuple[dict[str, str], str]:
    """Per-field messages and a summary line for re-rendering a form. Refusals (401, 403,
    404) are not form errors: they are raised again for the app's error handler."""
    if isinstance(exc, ValidationError):
        fields: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "form"
            fields.setdefault(name, "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"]))
        return fields, "Please correct the highlighted fields."
    if isinstance(exc, AccordError):
        if exc.status_code in (401, 403, 404):
            raise exc
        fields = {p.field.split(".")[0].split("[")[0]: p.reason for p in exc.problems}
        return fields, exc.message
    raise exc


def safe_next(value: str | None) -> str:
    """Only same-site paths may follow sign-in (no open redirects)."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
