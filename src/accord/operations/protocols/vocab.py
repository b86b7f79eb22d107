"""The words of protocols: who acts or decides (an agency kind, or an ICS position), and
how large a protocol may grow."""

from __future__ import annotations

from accord.directory.vocab import AGENCY_KINDS

# Positions of the Incident Command System a step can name when no single agency kind acts.
ROLES: dict[str, str] = {
    "unified_command": "Unified command",
    "incident_commander": "Incident commander",
    "safety_officer": "Safety officer",
    "public_information_officer": "Public information officer",
    "liaison_officer": "Liaison officer",
    "operations_section_chief": "Operations section chief",
    "planning_section_chief": "Planning section chief",
    "logistics_section_chief": "Logistics section chief",
    "medical_group_supervisor": "Medical group supervisor",
    "first_arriving_unit": "First-arriving unit",
    "dispatch": "Dispatch / 911 center",
}

STATUSES = ("draft", "published")

MAX_STEPS = 60
MAX_CONTACTS = 40

__all__ = ["AGENCY_KINDS", "MAX_CONTACTS", "MAX_STEPS", "ROLES", "STATUSES"]
