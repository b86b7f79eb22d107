"""The words of mutual aid."""

from __future__ import annotations

RESOURCE_STATUSES: dict[str, str] = {
    "available": "Available",
    "assigned": "Assigned",
    "out_of_service": "Out of service",
}
RESOURCE_KINDS = ("team", "equipment", "personnel", "facility")
CATEGORIES: dict[str, str] = {
    "fire": "Fire",
    "search_rescue": "Search and rescue",
    "hazmat": "Hazardous materials",
    "ems": "Emergency medical services",
    "public_health": "Public health",
    "law_enforcement": "Law enforcement",
    "aviation": "Aviation and drones",
    "public_works": "Public works and utilities",
    "mass_care": "Mass care and sheltering",
    "incident_management": "Incident management",
    "communications": "Communications",
    "other": "Other",
}
# Reference data shipped with Accord; agencies' own types carry their short name first.
TYPE_SOURCE = "accord"
