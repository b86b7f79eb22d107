"""Agreement and partnership I/O. Clause terms are a tagged union on ``kind``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict

PartnershipKind = Literal["task_force", "mutual_aid_compact", "fusion_center", "regional_commission", "joint_command"]
AgreementKind = Literal["charter", "mou", "data_use", "mutual_aid"]
Category = Literal[
    "incident_report",
    "intelligence_bulletin",
    "bolo",
    "case_summary",
    "public_health_case",
    "inspection_finding",
    "threat_indicator",
]
Purpose = Literal[
    "investigation",
    "situational_awareness",
    "emergency_response",
    "public_health_response",
    "infrastructure_protection",
    "threat_analysis",
    "planning",
]
Label = Literal["PII", "PHI", "CJI"]


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{field} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return value


class SharingTerms(Strict):
    kind: Literal["sharing"]
    providers: list[uuid.UUID] = Field(min_length=1, max_length=100)
    recipients: list[uuid.UUID] = Field(min_length=1, max_length=100)
    recipient_roles: list[str] = Field(default_factory=list, max_length=20)
    categories: list[Category] = Field(min_length=1, max_length=20)
    max_tier: Literal["GREEN", "AMBER", "AMBER+STRICT"]
    purposes: list[Purpose] = Field(min_length=1, max_length=20)
    labels: list[Label] = Field(default_factory=list, max_length=3)
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    aggregates_only: bool = False
    reshare_allowed: bool = False

    @model_validator(mode="after")
    def _strict_is_never_reshared(self) -> SharingTerms:
        if self.max_tier == "AMBER+STRICT" and self.reshare_allowed:
            raise ValueError("AMBER+STRICT data is never re-shared: reshare_allowed must be false")
        return self


class OptOutTerms(Strict):
    kind: Literal["opt_out"]
    notice_days: int = Field(ge=0, le=3650)


class ActivationThresholds(Strict):
    """What a request must meet before this clause obliges anyone to answer it (checked by
    ``mutualaid``; none set: any request of a bound party)."""

    min_severity: Literal["minor", "moderate", "severe", "extreme"] | None = None
    incident_types: list[str] = Field(default_factory=list, max_length=30)
    declared_emergency: bool = False
    own_resources_exhausted: bool = False
    # Whether a request must meet every condition set here, or one of them is enough.
    require: Literal["all", "any"] = "all"

    @field_validator("incident_types")
    @classmethod
    def _type_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not key.replace("_", "").isalnum() or len(key) > 40:
                raise ValueError(f"{key!r} is not an incident type key")
        return value


class ReimbursementTerms(Strict):
    """How a deployment under this clause is paid for (computed by ``mutualaid``)."""

    payer: Literal["requester", "provider", "shared"] = "requester"
    requester_share_percent: int = Field(default=100, ge=0, le=100)  # when shared
    labor_rate_cap: Decimal | None = Field(default=None, ge=0, le=100000)  # per person-hour
    equipment_rate_cap: Decimal | None = Field(default=None, ge=0, le=100000)  # per equipment-hour
    mileage_rate: Decimal | None = Field(default=None, ge=0, le=1000)  # per km, instead of the owner's
    waived_hours: int = Field(default=0, ge=0, le=720)  # the first hours of each deployment are free
    cap_per_deployment: Decimal | None = Field(default=None, ge=0, le=100_000_000)

    @model_validator(mode="after")
    def _share(self) -> ReimbursementTerms:
        if self.payer != "shared" and self.requester_share_percent != 100:
            raise ValueError("requester_share_percent applies only when the payer is 'shared'")
        return self


class MutualAidTerms(Strict):
    kind: Literal["mutual_aid"]
    activation_threshold: str = Field(min_length=3, max_length=2000)
    reimbursement_terms: str = Field(min_length=3, max_length=4000)
    liability: str = Field(default="", max_length=4000)
    insurance: str = Field(default="", max_length=4000)
    # The same terms in a form Accord checks and computes with (docs/adr/0021).
    thresholds: ActivationThresholds = Field(default_factory=ActivationThresholds)
    reimbursement: ReimbursementTerms = Field(default_factory=ReimbursementTerms)


class ProtocolTerms(Strict):
    """Adopts a published protocol version (``operations.protocols``): while the agreement
    version is in force, each party that has not opted out follows that protocol."""

    kind: Literal["protocol"]
    protocol_version_id: uuid.UUID


ClauseTerms = Annotated[SharingTerms | OptOutTerms | MutualAidTerms | ProtocolTerms, Field(discriminator="kind")]


class AgreementDraft(Strict):
    kind: AgreementKind
    title: str = Field(min_length=3, max_length=300)
    text: str = Field(default="", max_length=200_000)
    partnership_id: uuid.UUID | None = None
    parties: list[uuid.UUID] = Field(min_length=2, max_length=100)
    effective_at: datetime
    expires_at: datetime | None = None
    clauses: list[ClauseTerms] = Field(default_factory=list, max_length=100)

    @field_validator("effective_at", "expires_at")
    @classmethod
    def _tz(cls, value: datetime | None, info: Any) -> datetime | None:
        return _aware(value, info.field_name)


class AgreementEdit(Strict):
    """Changes to the open draft version; omitted fields stay as they are."""

    title: str | None = Field(default=None, min_length=3, max_length=300)
    text: str | None = Field(default=None, max_length=200_000)
    parties: list[uuid.UUID] | None = Field(default=None, min_length=2, max_length=100)
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    clauses: list[ClauseTerms] | None = Field(default=None, max_length=100)

    @field_validator("effective_at", "expires_at")
    @classmethod
    def _tz(cls, value: datetime | None, info: Any) -> datetime | None:
        return _aware(value, info.field_name)


class SignRequest(Strict):
    agency_id: uuid.UUID
    content_hash: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class OptOutRequest(Strict):
    agency_id: uuid.UUID


class TerminateRequest(Strict):
    reason: str = Field(min_length=3, max_length=2000)


class ClauseRead(ReadModel):
    id: uuid.UUID
    position: int
    kind: str
    terms: dict[str, Any]


class SignatureRead(ReadModel):
    agency_id: uuid.UUID
    signer_user_id: uuid.UUID
    signer_name: str
    content_hash: str
    signed_at: datetime


class VersionRead(ReadModel):
    id: uuid.UUID
    number: int
    status: str
    state: str
    title: str
    text: str
    effective_at: datetime
    expires_at: datetime | None
    content_hash: str | None
    proposed_at: datetime | None
    signed_at: datetime | None
    parties: list[uuid.UUID]
    clauses: list[ClauseRead]
    signatures: list[SignatureRead]
    awaiting: list[uuid.UUID]


class OptOutRead(ReadModel):
    agency_id: uuid.UUID
    notified_at: datetime
    effective_at: datetime


class AgreementRead(ReadModel):
    id: uuid.UUID
    kind: str
    title: str
    state: str
    partnership_id: uuid.UUID | None
    drafted_by_agency_id: uuid.UUID
    suspended_at: datetime | None
    terminated_at: datetime | None
    versions: list[VersionRead]
    opt_outs: list[OptOutRead]


class AgreementFilter(Strict):
    q: str | None = Field(default=None, max_length=100)
    kind: AgreementKind | None = None
    partnership_id: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class GrantRead(ReadModel):
    clause_id: uuid.UUID
    version_id: uuid.UUID
    provider_agency_id: uuid.UUID
    recipient_agency_id: uuid.UUID
    recipient_role: str | None
    category: str
    purpose: str
    max_tier: int
    grants_pii: bool
    grants_phi: bool
    grants_cji: bool
    aggregates_only: bool
    reshare_allowed: bool
    retention_days: int | None
    valid_from: datetime
    valid_until: datetime | None


class PartnershipCreate(Strict):
    name: str = Field(min_length=3, max_length=200)
    kind: PartnershipKind
    purpose: str = Field(default="", max_length=10_000)
    starts_on: date
    ends_on: date | None = None
    members: list[uuid.UUID] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _dates(self) -> PartnershipCreate:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class MemberAdd(Strict):
    agency_id: uuid.UUID
    liaison_person_id: uuid.UUID | None = None


class MemberUpdate(Strict):
    """A member's liaison officer to the partnership (a person of that agency); null clears it."""

    liaison_person_id: uuid.UUID | None = None


class MemberRead(ReadModel):
    agency_id: uuid.UUID
    joined_at: datetime
    left_at: datetime | None
    liaison_person_id: uuid.UUID | None


class BodyCreate(Strict):
    kind: Literal["steering_committee", "working_group"]
    name: str = Field(min_length=3, max_length=200)
    member_person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)


class DecisionCreate(Strict):
    decided_on: date
    text: str = Field(min_length=3, max_length=10_000)
    outcome: Literal["adopted", "rejected", "tabled"]
    votes_for: int = Field(default=0, ge=0, le=10_000)
    votes_against: int = Field(default=0, ge=0, le=10_000)
    abstentions: int = Field(default=0, ge=0, le=10_000)


class DecisionRead(ReadModel):
    id: uuid.UUID
    decided_on: date
    text: str
    outcome: str
    votes_for: int
    votes_against: int
    abstentions: int


class BodyRead(ReadModel):
    id: uuid.UUID
    kind: str
    name: str
    member_person_ids: list[uuid.UUID]
    decisions: list[DecisionRead]


class DisputeCreate(Strict):
    raised_by_agency_id: uuid.UUID
    subject: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=10_000)


class DisputeResolve(Strict):
    resolution: str = Field(min_length=3, max_length=10_000)


class DisputeRead(ReadModel):
    id: uuid.UUID
    raised_by_agency_id: uuid.UUID
    subject: str
    description: str
    resolution: str | None
    resolved_at: datetime | None
    created_at: datetime


class PartnershipRead(ReadModel):
    id: uuid.UUID
    name: str
    kind: str
    purpose: str
    starts_on: date
    ends_on: date | None
    members: list[MemberRead]
    bodies: list[BodyRead]
    disputes: list[DisputeRead]


class DiffLine(ReadModel):
    op: Literal[" ", "-", "+"]
    line: str


class VersionDiff(ReadModel):
    from_version: int
    to_version: int
    lines: list[DiffLine]
