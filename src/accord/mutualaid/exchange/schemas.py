"""What the EDXL-RM imports answer."""

from __future__ import annotations

from accord.core.schemas import ReadModel
from accord.mutualaid.schemas import OfferRead, RequestRead


class RequestImportRead(ReadModel):
    """The pending requests a ``RequestResource`` became (one per resource line), and what
    of the message Accord noted rather than stored as a field."""

    message_id: str
    requests: list[RequestRead]
    notes: list[str]


class DeclinedLine(ReadModel):
    """A line of a ``ResponseToRequestResource`` that declined: reported, nothing stored."""

    element_id: str
    resource_id: str | None
    reason: str


class ResponseImportRead(ReadModel):
    message_id: str
    offers: list[OfferRead]
    declined: list[DeclinedLine]


class CommitImportRead(ReadModel):
    message_id: str
    offers: list[OfferRead]
