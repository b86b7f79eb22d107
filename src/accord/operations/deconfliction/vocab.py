"""The words of deconfliction: kinds of planned operations, statuses and limits."""

from __future__ import annotations

from datetime import timedelta

KINDS: dict[str, str] = {
    "warrant_service": "Warrant service",
    "search_warrant": "Search warrant",
    "surveillance": "Surveillance",
    "undercover_buy": "Undercover buy",
    "fugitive_apprehension": "Fugitive apprehension",
    "tactical": "Tactical / SWAT operation",
    "controlled_delivery": "Controlled delivery",
    "controlled_burn": "Controlled burn",
    "hazmat_training": "Hazmat training",
    "training_exercise": "Training exercise",
    "road_closure": "Road closure",
    "drone_flight": "Drone flight",
    "demolition": "Demolition or blasting",
    "enquiry": "Enquiry (is anything planned here?)",
    "other": "Other",
}
# "Is anything planned here?" is asked by registering the place and window as an
# operation of this kind: the other side is told like for any other operation.
ENQUIRY = "enquiry"

STATUSES = ("planned", "cancelled", "completed")
PLANNED = "planned"
# planned -> cancelled | completed; both are final.
FINAL = frozenset({"cancelled", "completed"})

# A planned operation is a bounded window in time and space.
MAX_DURATION = timedelta(days=14)
MAX_LEAD_TIME = timedelta(days=366)
# About 10,000 km2 at H3 resolution 7 (a circle of some 55 km radius): wide enough for a
# county-wide operation, too wide to sweep a whole region for what others plan.
MAX_CELLS = 2000

# An incident with only a point is taken as a circle of this radius.
INCIDENT_POINT_RADIUS_M = 1000.0
