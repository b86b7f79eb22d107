"""The catalogue of named permissions (``module:resource:action``).

Code asks for a permission by name, never for a role; roles are data that bundle these.
A permission absent from this catalogue cannot be granted or required (typos fail fast).
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    # directory
    "directory:agency:read": "See agencies, jurisdictions and capabilities",
    "directory:agency:create": "Register a new agency on the platform",
    "directory:agency:update": "Edit an agency's profile, jurisdiction and capabilities",
    "directory:agency:import": "Import agencies and jurisdictions from GeoJSON",
    "directory:person:read": "See people, liaisons and duty contacts",
    "directory:person:create": "Add people to an agency",
    "directory:person:update": "Edit people of an agency",
    "directory:person:delete": "Remove people from an agency",
    # agreements
    "agreements:partnership:read": "See the partnerships one's agency belongs to, their governance and disputes",
    "agreements:partnership:manage": "Form partnerships, add members, record governance decisions and disputes",
    "agreements:agreement:read": "See the agreements one's agency is party to, their versions and grants",
    "agreements:agreement:draft": "Draft, edit, propose and amend agreements for one's agency",
    "agreements:agreement:sign": "Sign agreements on behalf of one's agency",
    "agreements:agreement:manage": "Suspend, resume, terminate or opt one's agency out of agreements",
    # sharing
    "sharing:record:read": "See records: one's agency's own, and partners' under agreements in force",
    "sharing:record:create": "Create records on behalf of one's agency",
    "sharing:record:update": "Change records of one's agency (new versions) and their attachments",
    "sharing:record:hold": "Place and release legal holds on one's agency's records (a held record is never purged)",
    "sharing:retention:manage": "Set how long one's agency keeps its records of each category before they are purged",
    "sharing:aggregate:read": "See de-identified counts (category, week, area) of the records one's agency may count",
    # operations
    "operations:incident:read": "See incidents one's agency leads or takes part in, and others as agreements allow",
    "operations:incident:create": "Open incidents led by one's agency",
    "operations:incident:update": "Steer incidents one's agency leads: status, severity, area, participating agencies",
    "operations:log:write": "Write activity-log entries (ICS-214) for incidents one's agency takes part in",
    "operations:task:write": "Assign tasks in incidents one's agency takes part in and report on them",
    "operations:layer:publish": "Publish GeoJSON layers of one's agency on the common operating picture",
    "operations:live:read": "Receive live updates of what one may see (incidents, tasks, logs, map objects)",
    "operations:alert:publish": "Publish public CAP alerts (updates, cancellations) for incidents one's agency leads",
    "operations:alert:import": "Import CAP alerts (files, URLs, feeds) as incident reports led by one's agency",
    "operations:protocol:read": "See the protocols of one's partnerships, those one's agency adopted, and those "
    "attached to incidents it takes part in",
    "operations:protocol:write": "Write, edit and publish joint protocols for partnerships one's agency belongs to",
    "operations:planned:read": "See one's agency's planned operations and the deconfliction notices addressed to it",
    "operations:planned:manage": "Register, change and cancel one's agency's planned operations; acknowledge notices",
    "operations:board:read": "See shifts, posts, units and messages of planned events one's agency takes part in",
    "operations:board:manage": "Set up a planned event's shifts and posts (lead agency); assign one's agency's units",
    "operations:board:post": "Post messages to the command board of planned events one's agency takes part in",
    # mutual aid
    "mutualaid:resource:read": "See one's agency's resources and those partners offer under mutual-aid clauses",
    "mutualaid:resource:manage": "Keep one's agency's resources (inventory, rates, reserve, qualified people)",
    "mutualaid:type:manage": "Add or import resource types of one's agency",
    "mutualaid:request:read": "See one's agency's resource requests and offers, requests partners sent one's "
    "agency under a mutual-aid clause in force, and the mutual-aid figures of one's partnerships",
    "mutualaid:request:create": "Request resources (ICS-213) for incidents one's agency takes part in",
    "mutualaid:request:approve_logistics": "Approve one's agency's resource requests for logistics",
    "mutualaid:request:approve_finance": "Approve one's agency's resource requests for finance",
    "mutualaid:offer:manage": "Offer one's agency's resources to partners' requests and move deployments along; "
    "commit, decline and release offers made to one's agency's requests",
    "mutualaid:cost:manage": "Keep time sheets of one's agency's deployments and submit reimbursement claims",
    "mutualaid:claim:approve": "Approve, reject and record payment of claims addressed to one's agency",
    "mutualaid:fund:manage": "Set the collaboration fund of one's partnerships: formula, calls, contributions, "
    "spending",
    # accounts
    "accounts:self:manage": "Manage one's own MFA, sessions and API tokens",
    "accounts:user:read": "See user accounts of an agency",
    "accounts:user:create": "Create user accounts and memberships",
    "accounts:user:update": "Release lockouts, reset MFA, change memberships, revoke sessions",
    # authz
    "authz:role:read": "See roles and the permissions they bundle",
    # audit
    "audit:event:read": "Read the audit trail of an agency",
    "audit:chain:verify": "Verify the audit chain; fetch its signed checkpoints and consistency proofs",
    "audit:alert:read": "See alerts about the audit trail itself (platform administrators)",
    "audit:alert:acknowledge": "Acknowledge an alert about the audit trail (platform administrators)",
}


def is_known(name: str) -> bool:
    return name in PERMISSIONS
