"""Pure rules of a protocol version's content: the canonical JSON that publishing hashes,
readable lines (what a reviewer compares), and their diff."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from accord.directory.vocab import AGENCY_KINDS
from accord.operations.protocols.models import ProtocolVersion
from accord.operations.protocols.vocab import ROLES
from accord.operations.vocab import INCIDENT_TYPES


def canonical_content(version: ProtocolVersion) -> str:
    """Protocol, number, title, summary, incident types (sorted), steps, roles and contacts
    as sorted, whitespace-free JSON: the same bytes on every database and Python."""
    content = {
        "protocol": str(version.protocol_id),
        "version": version.number,
        "title": version.title,
        "summary": version.summary,
        "incident_types": sorted(t.incident_type for t in version.types),
        "steps": version.steps,
        "roles": version.roles,
        "contacts": version.contacts,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(version: ProtocolVersion) -> str:
    return hashlib.sha256(canonical_content(version).encode()).hexdigest()


def who_label(who: Mapping[str, Any] | None) -> str:
    """ "Fire", "Incident commander": an agency kind or an ICS position, as people read it."""
    if not who:
        return ""
    if who.get("agency_kind"):
        return AGENCY_KINDS.get(who["agency_kind"], str(who["agency_kind"]))
    return ROLES.get(str(who.get("role")), str(who.get("role")))


def readable_lines(version: ProtocolVersion, agency_names: Mapping[str, str]) -> list[str]:
    lines = [f"Title: {version.title}"]
    lines += ["Summary:", *version.summary.splitlines()] if version.summary else []
    lines.append("Applies to: " + ", ".join(INCIDENT_TYPES.get(t, t) for t in version.incident_types))
    for number, step in enumerate(version.steps, start=1):
        lines.append(f"Step {number} ({who_label(step.get('actor'))}): {step.get('text', '')}")
        decision = step.get("decision")
        if decision:
            lines.append(f"  Decision by {who_label(decision.get('decided_by'))}: {decision.get('question', '')}")
            if decision.get("if_yes"):
                lines.append(f"    If yes: {decision['if_yes']}")
            if decision.get("if_no"):
                lines.append(f"    If no: {decision['if_no']}")
    for role in version.roles:
        lines.append(f"Role of {AGENCY_KINDS.get(role['agency_kind'], role['agency_kind'])}: {role['role']}")
    for contact in version.contacts:
        agency = agency_names.get(str(contact["agency_id"]), str(contact["agency_id"]))
        lines.append(f"Contact: {contact['name']} ({agency}), {contact['role']}, {contact['phone']}")
    return lines


def diff(old: ProtocolVersion, new: ProtocolVersion, agency_names: Mapping[str, str]) -> list[tuple[str, str]]:
    """(op, line) pairs: ' ' unchanged, '-' removed, '+' added."""
    result: list[tuple[str, str]] = []
    for line in difflib.ndiff(readable_lines(old, agency_names), readable_lines(new, agency_names)):
        if line.startswith("? "):
            continue
        result.append((line[0], line[2:]))
    return result
