"""Account I/O models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict, optional_email

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{2,149}$"
Username = Field(min_length=3, max_length=150, pattern=USERNAME_PATTERN)


class TokenRequest(Strict):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(default=None, max_length=64)
    agency_id: uuid.UUID | None = None


class TokenResponse(ReadModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    agency_id: uuid.UUID | None


class ApiTokenCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    agency_id: uuid.UUID
    expires_in_days: int = Field(default=90, ge=1, le=365)


class ApiTokenRead(ReadModel):
    id: uuid.UUID
    name: str
    kind: str
    prefix: str
    agency_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiTokenIssued(ApiTokenRead):
    token: str


class SessionRead(ReadModel):
    id: uuid.UUID
    state: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    client_addr: str | None
    user_agent: str
    current: bool = False


class MembershipRead(ReadModel):
    agency_id: uuid.UUID | None
    role: str


class UserRead(ReadModel):
    id: uuid.UUID
    username: str
    display_name: str
    email: str
    is_active: bool
    mfa_enabled: bool
    locked_at: datetime | None
    last_login_at: datetime | None
    memberships: list[MembershipRead]


class MeRead(UserRead):
    permissions: dict[str, list[str]]


class UserCreate(Strict):
    _email = field_validator("email")(optional_email)

    username: str = Username
    display_name: str = Field(min_length=2, max_length=200)
    email: str = Field(default="", max_length=254)
    password: str = Field(min_length=12, max_length=1024)
    agency_id: uuid.UUID | None
    role: str = Field(min_length=2, max_length=64)


class MembershipCreate(Strict):
    agency_id: uuid.UUID | None
    role: str = Field(min_length=2, max_length=64)


class UserFilter(Strict):
    q: str | None = Field(default=None, max_length=100)
    agency_id: uuid.UUID | None = None
    locked: bool | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class RoleRead(ReadModel):
    name: str
    label: str
    description: str
    platform: bool
    permissions: list[str]


class MfaEnrolment(ReadModel):
    secret: str
    provisioning_uri: str
    qr_svg: str


class MfaConfirm(Strict):
    code: str = Field(min_length=6, max_length=12)


class RecoveryCodes(ReadModel):
    codes: list[str]


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class SessionsEnded(ReadModel):
    sessions_ended: int
