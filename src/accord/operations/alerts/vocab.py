"""How Accord's incident words and CAP 1.2's words map onto each other (ADR 16)."""

from __future__ import annotations

# --- out: an incident's alert ----------------------------------------------------------

# The CAP category of each incident type.
CATEGORY_OF_TYPE: dict[str, str] = {
    "flood": "Met",
    "wildfire": "Fire",
    "hazmat": "CBRNE",
    "mass_casualty": "Rescue",
    "active_threat": "Security",
    "severe_weather": "Met",
    "public_health_outbreak": "Health",
    "cyber_infrastructure": "Infra",
    "planned_event": "Safety",
    "structure_fire": "Fire",
    "search_rescue": "Rescue",
    "transportation": "Transport",
    "utility_outage": "Infra",
    "civil_disturbance": "Security",
    "other": "Other",
}

# What the public is asked to do, as first proposed (the commander edits it).
RESPONSE_OF_TYPE: dict[str, str] = {
    "flood": "Avoid",
    "wildfire": "Prepare",
    "hazmat": "Shelter",
    "mass_casualty": "Avoid",
    "active_threat": "Shelter",
    "severe_weather": "Shelter",
    "public_health_outbreak": "Monitor",
    "cyber_infrastructure": "Monitor",
    "planned_event": "Monitor",
    "structure_fire": "Avoid",
    "search_rescue": "Monitor",
    "transportation": "Avoid",
    "utility_outage": "Monitor",
    "civil_disturbance": "Avoid",
    "other": "Monitor",
}

INSTRUCTION_OF_TYPE: dict[str, str] = {
    "flood": "Avoid the area. Never drive or walk through flood water: turn around, don't drown.",
    "wildfire": "Be ready to leave at short notice. Follow the directions of fire and police officers.",
    "hazmat": "Go indoors, close windows and doors, and turn off ventilation until told it is safe.",
    "severe_weather": "Go indoors to the lowest floor, away from windows, until the warning ends.",
    "structure_fire": "Avoid the area so that emergency vehicles can get through.",
    "transportation": "Avoid the area and use other routes.",
    "active_threat": "Stay indoors, lock the doors and stay away from windows. Call 911 if you are in danger.",
}

# An incident's severity and CAP's are the same words.
CAP_SEVERITY_OF: dict[str, str] = {"minor": "Minor", "moderate": "Moderate", "severe": "Severe", "extreme": "Extreme"}

# --- in: an outside alert's incident report ------------------------------------------

# CAP's "Unknown" severity becomes "moderate": a report of unknown severity should neither
# sink below those known to be minor nor claim to be severe. The CAP value is kept with
# the import, and the commander who triages the report sets the real severity.
SEVERITY_OF_CAP: dict[str, str] = {
    "Extreme": "extreme",
    "Severe": "severe",
    "Moderate": "moderate",
    "Minor": "minor",
    "Unknown": "moderate",
}

# The event text decides first (the first group with a word found in it wins), then the
# CAP category; anything else is "other".
TYPE_BY_EVENT_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("flood", "high water", "river", "dam ", "levee", "hydrologic", "storm surge"), "flood"),
    (("wildfire", "red flag", "fire weather", "forest fire", "brush fire", "grass fire", "wildland"), "wildfire"),
    (("hazmat", "hazardous material", "chemical", "spill", "toxic", "radiolog", "nuclear", "gas leak"), "hazmat"),
    (("mass casualty", "mass-casualty"), "mass_casualty"),
    (("active shooter", "active threat", "shooter", "armed", "bomb", "terror"), "active_threat"),
    (("boil water", "water outage", "power outage", "outage", "water main", "blackout"), "utility_outage"),
    (("outbreak", "disease", "epidemic", "pandemic", "contamination", "health advisory"), "public_health_outbreak"),
    (("cyber",), "cyber_infrastructure"),
    (("civil", "riot", "disturbance", "unrest"), "civil_disturbance"),
    (("missing", "search and rescue", "rescue", "child abduction"), "search_rescue"),
    (("traffic", "road closure", "derail", "crash", "collision", "bridge closure"), "transportation"),
    (
        (
            "tornado",
            "thunderstorm",
            "winter",
            "blizzard",
            "ice storm",
            "hurricane",
            "wind",
            "heat",
            "snow",
            "storm",
            "weather",
        ),
        "severe_weather",
    ),
    (("fire",), "structure_fire"),
)

TYPE_OF_CATEGORY: dict[str, str] = {
    "Met": "severe_weather",
    "Fire": "structure_fire",
    "CBRNE": "hazmat",
    "Env": "hazmat",
    "Health": "public_health_outbreak",
    "Rescue": "search_rescue",
    "Transport": "transportation",
    "Infra": "utility_outage",
}

# Only real-world and exercise messages become reports; Test, System and Draft do not.
IMPORTED_STATUSES = ("Actual", "Exercise")

# Limits of an import: one document (alert or feed), the entries of a feed, the fetches.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_FEED_ENTRIES = 100
FETCH_TIMEOUT_SECONDS = 10.0
FEED_DEADLINE_SECONDS = 60.0
MAX_REDIRECTS = 5
