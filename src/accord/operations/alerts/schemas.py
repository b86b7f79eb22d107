"""CAP alert I/O: composing a public alert, importing outside alerts, and what comes back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from accord.core.schemas import ReadModel, Strict

CapCategory = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"
]
CapResponse = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"]
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapSeverity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
CapStatus = Literal["Actual", "Exercise", "Test"]
Outcome = Literal["imported", "updated", "cancelled", "duplicate", "refused"]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone (for example 2026-11-22T14:00:00Z)")
    return value


class AlertCompose(Strict):
    """A public alert (or an update of one) as the commander writes it; prefilled from the
    incident by ``GET .../alerts/draft``."""

    status: CapStatus = "Actual"
    category: CapCategory
    event: str = Field(min_length=1, max_length=200)
    response_type: CapResponse | None = None
    urgency: CapUrgency
    severity: CapSeverity
    certainty: CapCertainty
    headline: str = Field(min_length=3, max_length=160)
    description: str = Field(default="", max_length=4000)
    instruction: str = Field(default="", max_length=2000)
    area_desc: str = Field(min_length=1, max_length=200)
    radius_km: float = Field(default=1.0, gt=0, le=200, description="circle around the incident's point, if no area")
    effective: datetime | None = None
    expires: datetime | None = None

    _effective = field_validator("effective")(_aware)
    _expires = field_validator("expires")(_aware)

    @model_validator(mode="after")
    def _window(self) -> AlertCompose:
        if self.effective is not None and self.expires is not None and self.expires <= self.effective:
            raise ValueError("expires must be after effective")
        return self


class AlertCancel(Strict):
    note: str = Field(min_length=3, max_length=1000, description="why the alert is cancelled (CAP <note>)")


class AlertRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    agency_id: uuid.UUID
    thread_id: uuid.UUID
    sequence: int
    msg_type: str
    status: str
    identifier: str
    sender: str
    sent_at: datetime
    effective_at: datetime | None
    expires_at: datetime | None
    event: str
    headline: str
    urgency: str
    severity: str
    certainty: str
    note: str
    xml_sha256: str
    public_url: str = ""


class AlertPreview(BaseModel):
    xml: str
    identifier: str
    sender: str
    msg_type: str


class ImportUrl(Strict):
    url: str = Field(min_length=1, max_length=2000, description="a CAP 1.2 alert, or an Atom or RSS feed of alerts")
    agency_id: uuid.UUID | None = Field(
        default=None, description="the importing agency (needed if you import for several)"
    )


class ProblemRead(BaseModel):
    path: str
    reason: str


class ImportResult(BaseModel):
    entry: str
    source_url: str | None = None
    outcome: Outcome
    sender: str | None = None
    identifier: str | None = None
    msg_type: str | None = None
    incident_id: uuid.UUID | None = None
    incident_number: str | None = None
    notes: list[str] = Field(default_factory=list)
    problems: list[ProblemRead] = Field(default_factory=list)


class ImportReport(BaseModel):
    kind: Literal["alert", "feed"]
    agency_id: uuid.UUID
    results: list[ImportResult]
    counts: dict[str, int]


class SourceRead(ReadModel):
    """Where an imported incident report came from."""

    id: uuid.UUID
    incident_id: uuid.UUID
    agency_id: uuid.UUID
    sender: str
    identifier: str
    sent_at: datetime
    msg_type: str
    status: str
    scope: str
    event: str
    outcome: str
    xml_sha256: str
    source_url: str | None
    imported_at: datetime
