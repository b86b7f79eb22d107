"""Every table of Accord, imported in one place for Alembic and schema checks."""

from accord.accounts.models import ApiToken, LoginAttempt, RecoveryCode, User, UserSession
from accord.agreements.models import (
    Agreement,
    AgreementVersion,
    Clause,
    Decision,
    Dispute,
    GovernanceBody,
    Grant,
    OptOut,
    Partnership,
    PartnershipMember,
    Signature,
    VersionParty,
)
from accord.audit.models import AuditAlert, AuditChainHead, AuditCheckpoint, AuditEvent
from accord.authz.models import Membership, Role, RolePermission
from accord.core.db import Base
from accord.core.events.models import OutboxEvent
from accord.directory.models import Agency, AgencyCapability, Person
from accord.mutualaid.fund.models import (
    CollaborationFund,
    FundCall,
    FundCallShare,
    FundContribution,
    FundFigure,
    FundSpending,
)
from accord.mutualaid.models import MutualAidBinding, Resource, ResourceQualification, ResourceType
from accord.mutualaid.recovery.models import CostClaim, TimeEntry
from accord.operations.alerts.models import ImportedAlert, IncidentAlert
from accord.operations.deconfliction.models import DeconflictionNotice, PlannedOperation, PlannedOperationCell
from accord.operations.eventboard.models import BoardAssignment, BoardMessage, BoardPost, BoardReceipt, BoardShift
from accord.operations.models import (
    ActivityEntry,
    CommandAssignment,
    Incident,
    IncidentParticipant,
    MapLayer,
    Objective,
    OperationalPeriod,
    Task,
    TaskUpdate,
)
from accord.operations.protocols.models import Protocol, ProtocolAdoption, ProtocolVersion, ProtocolVersionType
from accord.sharing.models import Attachment, Record, RecordRecipient, RecordRevision, RetentionPolicy
from accord.vault.models import DataKey

metadata = Base.metadata

__all__ = [
    "ActivityEntry",
    "Agency",
    "AgencyCapability",
    "Agreement",
    "AgreementVersion",
    "ApiToken",
    "Attachment",
    "AuditAlert",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "BoardAssignment",
    "BoardMessage",
    "BoardPost",
    "BoardReceipt",
    "BoardShift",
    "Clause",
    "CollaborationFund",
    "CommandAssignment",
    "CostClaim",
    "DataKey",
    "Decision",
    "DeconflictionNotice",
    "Dispute",
    "FundCall",
    "FundCallShare",
    "FundContribution",
    "FundFigure",
    "FundSpending",
    "GovernanceBody",
    "Grant",
    "ImportedAlert",
    "Incident",
    "IncidentAlert",
    "IncidentParticipant",
    "LoginAttempt",
    "MapLayer",
    "Membership",
    "MutualAidBinding",
    "Objective",
    "OperationalPeriod",
    "OptOut",
    "OutboxEvent",
    "Partnership",
    "PartnershipMember",
    "Person",
    "PlannedOperation",
    "PlannedOperationCell",
    "Protocol",
    "ProtocolAdoption",
    "ProtocolVersion",
    "ProtocolVersionType",
    "Record",
    "RecordRecipient",
    "RecordRevision",
    "RecoveryCode",
    "Resource",
    "ResourceQualification",
    "ResourceType",
    "RetentionPolicy",
    "Role",
    "RolePermission",
    "Signature",
    "Task",
    "TaskUpdate",
    "TimeEntry",
    "User",
    "UserSession",
    "VersionParty",
    "metadata",
]
