"""Every table of Accord, imported in one place for Alembic and schema checks."""

from accord.accounts.models import ApiToken, LoginAttempt, RecoveryCode, User, UserSession
from accord.audit.models import AuditEvent
from accord.authz.models import Membership, Role, RolePermission
from accord.core.db import Base
from accord.directory.models import Agency, AgencyCapability, Person

metadata = Base.metadata

__all__ = [
    "Agency",
    "AgencyCapability",
    "ApiToken",
    "AuditEvent",
    "LoginAttempt",
    "Membership",
    "Person",
    "RecoveryCode",
    "Role",
    "RolePermission",
    "User",
    "UserSession",
    "metadata",
]
