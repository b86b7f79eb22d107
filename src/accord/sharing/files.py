"""Attachment checks: the content type is sniffed from the bytes and must agree with what
the uploader declared; only document, image and plain-text types are accepted (no
archives, executables or HTML, which a browser might run)."""

from __future__ import annotations

import re

import filetype

from accord.core.errors import InvalidInput

SNIFFED = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "image/tiff": "TIFF image",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook",
}
# Text has no magic number: accepted when declared, valid UTF-8 and free of NUL bytes.
TEXT = {"text/plain": "text", "text/csv": "CSV", "application/json": "JSON", "application/geo+json": "GeoJSON"}
ACCEPTED = {**SNIFFED, **TEXT}
GENERIC = {"", "application/octet-stream"}


def _declared(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def checked_type(content: bytes, declared_type: str | None) -> str:
    """The accepted content type of ``content``, or a 422 naming the file and the reason."""
    declared = _declared(declared_type)
    kind = filetype.guess(content)
    if kind is not None:
        sniffed = str(kind.mime)
        if sniffed not in SNIFFED:
            raise InvalidInput("file", f"files of type {sniffed} are not accepted; accepted: {_accepted()}")
        if declared not in GENERIC and declared != sniffed:
            raise InvalidInput("file", f"the file's content is {sniffed}, not the declared {declared}")
        return sniffed
    if declared in TEXT and _is_text(content):
        return declared
    if declared in TEXT:
        raise InvalidInput("file", f"declared {declared} but the content is not UTF-8 text")
    if declared in GENERIC:
        raise InvalidInput("file", f"could not tell the file's type; accepted: {_accepted()}")
    raise InvalidInput("file", f"files of type {declared} are not accepted; accepted: {_accepted()}")


def _accepted() -> str:
    return ", ".join(sorted(set(ACCEPTED.values())))


def safe_filename(name: str) -> str:
    """The last path component, without control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"]", "", base).strip(" .")
    return base[:200] or "attachment"
