"""Vocabularies that clauses speak: record categories, TLP 2.0 tiers, sensitive labels,
permitted purposes. The sharing module reads the same lists."""

from __future__ import annotations

PARTNERSHIP_KINDS: dict[str, str] = {
    "task_force": "Task force",
    "mutual_aid_compact": "Mutual-aid compact",
    "fusion_center": "Fusion center",
    "regional_commission": "Regional commission",
    "joint_command": "Joint command",
}

AGREEMENT_KINDS: dict[str, str] = {
    "charter": "Charter",
    "mou": "Memorandum of understanding",
    "data_use": "Data-use agreement",
    "mutual_aid": "Mutual-aid agreement",
}

BODY_KINDS: dict[str, str] = {"steering_committee": "Steering committee", "working_group": "Working group"}
VOTE_OUTCOMES: dict[str, str] = {"adopted": "Adopted", "rejected": "Rejected", "tabled": "Tabled"}

RECORD_CATEGORIES: dict[str, str] = {
    "incident_report": "Incident report",
    "intelligence_bulletin": "Intelligence bulletin",
    "bolo": "BOLO (be on the lookout)",
    "case_summary": "Case summary",
    "public_health_case": "Public-health case",
    "inspection_finding": "Inspection finding",
    "threat_indicator": "Threat indicator",
}

# TLP 2.0, in increasing order of restriction. A clause may grant up to AMBER+STRICT:
# GREEN follows from partnership, CLEAR is public, RED names people, never agencies.
TIERS: tuple[str, ...] = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
TIER_RANK: dict[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}
CLAUSE_TIERS: tuple[str, ...] = ("GREEN", "AMBER", "AMBER+STRICT")

LABELS: dict[str, str] = {
    "PII": "Personally identifiable information",
    "PHI": "Protected health information",
    "CJI": "Criminal justice information",
}

PURPOSES: dict[str, str] = {
    "investigation": "Criminal investigation",
    "situational_awareness": "Situational awareness",
    "emergency_response": "Emergency response",
    "public_health_response": "Public-health response",
    "infrastructure_protection": "Critical-infrastructure protection",
    "threat_analysis": "Threat analysis",
    "planning": "Planning and preparedness",
}
