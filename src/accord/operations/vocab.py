"""The words of joint operations: incident types, severities, statuses and how they move."""

from __future__ import annotations

INCIDENT_TYPES: dict[str, str] = {
    "flood": "Flood",
    "wildfire": "Wildfire",
    "hazmat": "Hazardous-materials release",
    "mass_casualty": "Mass-casualty incident",
    "active_threat": "Active threat",
    "severe_weather": "Severe weather",
    "public_health_outbreak": "Public-health outbreak",
    "cyber_infrastructure": "Cyber attack on infrastructure",
    "planned_event": "Planned event",
    "structure_fire": "Structure fire",
    "search_rescue": "Search and rescue",
    "transportation": "Major transportation incident",
    "utility_outage": "Utility outage",
    "civil_disturbance": "Civil disturbance",
    "other": "Other",
}

# The one type that may start in the future: a festival, a parade, a summit.
PLANNED_EVENT = "planned_event"

# CAP 1.2's severity words, so an incident's alert says what the incident says.
SEVERITIES = ("minor", "moderate", "severe", "extreme")

STATUSES = ("reported", "active", "contained", "closed")
# reported -> active -> contained -> closed; a contained incident can flare up again, and a
# report that turns out to be nothing is closed without ever being active. Closed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "reported": frozenset({"active", "closed"}),
    "active": frozenset({"contained", "closed"}),
    "contained": frozenset({"active", "closed"}),
    "closed": frozenset(),
}

# Who outside the participating agencies may see an incident follows TLP like records do;
# RED (named people only) is for records, not for an incident a whole command post runs.
INCIDENT_TIERS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT")
# The grant an outside agency needs: incident reports shared for situational awareness.
SHARED_AS_CATEGORY = "incident_report"
SHARED_AS_PURPOSE = "situational_awareness"

# ICS positions of the command and general staff (NIMS). Unified command: one incident
# commander per agency taking part; the supervisors' positions are held once per label
# ("Division A", "Rescue Group"); every other position once.
POSITIONS: dict[str, str] = {
    "incident_commander": "Incident commander",
    "safety_officer": "Safety officer",
    "public_information_officer": "Public information officer",
    "liaison_officer": "Liaison officer",
    "operations_chief": "Operations section chief",
    "planning_chief": "Planning section chief",
    "logistics_chief": "Logistics section chief",
    "finance_chief": "Finance/administration section chief",
    "branch_director": "Branch director",
    "division_supervisor": "Division supervisor",
    "group_supervisor": "Group supervisor",
}
ONE_PER_AGENCY = frozenset({"incident_commander"})
ONE_PER_LABEL = frozenset({"branch_director", "division_supervisor", "group_supervisor"})
COMMAND_STAFF = ("incident_commander", "safety_officer", "public_information_officer", "liaison_officer")
GENERAL_STAFF = ("operations_chief", "planning_chief", "logistics_chief", "finance_chief")

# Tasks on the status board, in board order. Done and cancelled are final.
TASK_STATUSES: dict[str, str] = {
    "assigned": "Assigned",
    "in_progress": "In progress",
    "blocked": "Blocked",
    "done": "Done",
    "cancelled": "Cancelled",
}
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    "assigned": frozenset({"in_progress", "blocked", "done", "cancelled"}),
    "in_progress": frozenset({"blocked", "done", "cancelled"}),
    "blocked": frozenset({"in_progress", "done", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}
TASK_PRIORITIES: dict[str, str] = {"immediate": "Immediate", "urgent": "Urgent", "routine": "Routine"}
OBJECTIVE_STATUSES = ("open", "achieved", "dropped")
LAYER_TIERS = ("CLEAR", "GREEN", "AMBER")
