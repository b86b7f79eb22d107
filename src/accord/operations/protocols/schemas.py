"""Protocol I/O. Steps name who acts and, at a decision point, who decides: an agency kind
(the directory's vocabulary) or an ICS position; roles are written per agency kind."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import Field, field_validator, model_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict
from accord.directory.vocab import AGENCY_KINDS
from accord.operations.protocols.vocab import MAX_CONTACTS, MAX_STEPS, ROLES
from accord.operations.vocab import INCIDENT_TYPES

PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+(?: ?(?:x|ext\.?) ?[0-9]{1,6})?$")


class Text(Strict):
    """Input whose text fields refuse NUL characters (PostgreSQL stores none, in text or JSON)."""

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def _agency_kind(value: str | None) -> str | None:
    if value is not None and value not in AGENCY_KINDS:
        raise ValueError(f"unknown agency kind; one of: {', '.join(AGENCY_KINDS)}")
    return value


class Who(Text):
    """Exactly one of: an agency kind (``{"agency_kind": "fire"}``) or an ICS position
    (``{"role": "incident_commander"}``)."""

    agency_kind: str | None = None
    role: str | None = None

    _kind = field_validator("agency_kind")(_agency_kind)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and value not in ROLES:
            raise ValueError(f"unknown role; one of: {', '.join(ROLES)}")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Who:
        if (self.agency_kind is None) == (self.role is None):
            raise ValueError("name exactly one of agency_kind or role")
        return self


class DecisionPoint(Text):
    """A yes/no question at this step, who answers it, and what follows each answer."""

    question: str = Field(min_length=3, max_length=500)
    decided_by: Who
    if_yes: str = Field(default="", max_length=1000)
    if_no: str = Field(default="", max_length=1000)


class Step(Text):
    text: str = Field(min_length=3, max_length=2000)
    actor: Who
    decision: DecisionPoint | None = None


class KindRole(Text):
    """What agencies of one kind do under this protocol."""

    agency_kind: str
    role: str = Field(min_length=3, max_length=2000)

    _kind = field_validator("agency_kind")(_agency_kind)


class Contact(Text):
    name: str = Field(min_length=2, max_length=150)
    agency_id: uuid.UUID
    phone: str = Field(min_length=7, max_length=40)
    role: str = Field(min_length=2, max_length=200)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = sum(c.isdigit() for c in value.split("x", maxsplit=1)[0].split("ext", maxsplit=1)[0])
        if not PHONE_CHARS.match(value) or not 7 <= digits <= 15:
            raise ValueError("enter a phone number of 7 to 15 digits, e.g. +1-570-555-0112")
        return value


def _types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [t for t in value if t not in INCIDENT_TYPES]
    if unknown:
        raise ValueError(f"unknown incident type {unknown[0]!r}; one of: {', '.join(INCIDENT_TYPES)}")
    if len(set(value)) != len(value):
        raise ValueError("names an incident type twice")
    return value


def _unique_kinds(value: list[KindRole] | None) -> list[KindRole] | None:
    if value is not None:
        kinds = [r.agency_kind for r in value]
        if len(set(kinds)) != len(kinds):
            raise ValueError("one role per agency kind: an agency kind is named twice")
    return value


class ProtocolContent(Text):
    title: str = Field(min_length=3, max_length=200)
    summary: str = Field(default="", max_length=4000)
    incident_types: list[str] = Field(min_length=1, max_length=len(INCIDENT_TYPES))
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    roles: list[KindRole] = Field(default_factory=list, max_length=len(AGENCY_KINDS))
    contacts: list[Contact] = Field(default_factory=list, max_length=MAX_CONTACTS)

    _incident_types = field_validator("incident_types")(_types)
    _roles = field_validator("roles")(_unique_kinds)


class ProtocolCreate(ProtocolContent):
    partnership_id: uuid.UUID


class ProtocolEdit(Text):
    """Changes to the protocol's draft; omitted fields stay as they are. Editing a
    protocol whose newest version is published opens the next version as a draft."""

    title: str | None = Field(default=None, min_length=3, max_length=200)
    summary: str | None = Field(default=None, max_length=4000)
    incident_types: list[str] | None = Field(default=None, min_length=1, max_length=len(INCIDENT_TYPES))
    steps: list[Step] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)
    roles: list[KindRole] | None = Field(default=None, max_length=len(AGENCY_KINDS))
    contacts: list[Contact] | None = Field(default=None, max_length=MAX_CONTACTS)

    _incident_types = field_validator("incident_types")(_types)
    _roles = field_validator("roles")(_unique_kinds)


class PublishRequest(Text):
    """The draft version the caller reviewed: publishing another one is refused."""

    version: int = Field(ge=1, le=100_000)


class ProtocolFilter(Text):
    partnership_id: uuid.UUID | None = None
    incident_type: str | None = None
    q: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("incident_type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        if value is not None and value not in INCIDENT_TYPES:
            raise ValueError(f"unknown incident type; one of: {', '.join(INCIDENT_TYPES)}")
        return value


# --- reads (lenient: what was stored is shown even if a vocabulary changes later) ---------


class WhoRead(ReadModel):
    agency_kind: str | None = None
    role: str | None = None


class DecisionRead(ReadModel):
    question: str
    decided_by: WhoRead
    if_yes: str = ""
    if_no: str = ""


class StepRead(ReadModel):
    text: str
    actor: WhoRead
    decision: DecisionRead | None = None


class KindRoleRead(ReadModel):
    agency_kind: str
    role: str


class ContactRead(ReadModel):
    name: str
    agency_id: uuid.UUID
    phone: str
    role: str


class ProtocolVersionRead(ReadModel):
    id: uuid.UUID
    protocol_id: uuid.UUID
    number: int
    status: str
    title: str
    summary: str
    incident_types: list[str]
    steps: list[StepRead]
    roles: list[KindRoleRead]
    contacts: list[ContactRead]
    content_hash: str | None
    published_at: datetime | None
    updated_at: datetime


class AdoptionRead(ReadModel):
    """Which agreement, version and clause make ``agency_id`` follow a protocol version."""

    agency_id: uuid.UUID
    agreement_id: uuid.UUID
    agreement_title: str
    agreement_version_id: uuid.UUID
    agreement_version_number: int
    clause_id: uuid.UUID
    clause_number: int
    protocol_version_number: int
    valid_from: datetime
    valid_until: datetime | None


class ProtocolRead(ReadModel):
    id: uuid.UUID
    partnership_id: uuid.UUID
    created_by_agency_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    title: str
    current_version: int | None
    draft_version: int | None
    versions: list[ProtocolVersionRead]
    adoptions: list[AdoptionRead]


class ProtocolSummary(ReadModel):
    id: uuid.UUID
    partnership_id: uuid.UUID
    title: str
    incident_types: list[str]
    current_version: int | None
    draft_version: int | None
    updated_at: datetime


class AttachedProtocol(ReadModel):
    """A protocol in force for an incident: its newest version adopted by the lead or a
    participating agency, and every adoption of that version among them."""

    protocol_id: uuid.UUID
    version: ProtocolVersionRead
    adopted_through: list[AdoptionRead]


class DiffLine(ReadModel):
    op: str
    line: str


class ProtocolDiff(ReadModel):
    from_version: int
    to_version: int
    lines: list[DiffLine]
