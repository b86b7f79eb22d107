"""Shared vocabularies of the directory. Labels are what people read; keys are stored."""

from __future__ import annotations

AGENCY_KINDS: dict[str, str] = {
    "police": "Police",
    "sheriff": "Sheriff",
    "fire": "Fire",
    "ems": "EMS",
    "emergency_management": "Emergency management",
    "public_health": "Public health",
    "utility": "Utility",
    "federal": "Federal",
    "state": "State",
    "tribal": "Tribal",
    "ngo": "NGO",
    "private": "Private sector",
}

AGENCY_LEVELS: dict[str, str] = {
    "local": "Local",
    "county": "County",
    "state": "State",
    "federal": "Federal",
    "tribal": "Tribal",
    "non_governmental": "Non-governmental",
}

CONTACT_KINDS: dict[str, str] = {"phone": "Phone", "email": "Email", "radio": "Radio", "fax": "Fax", "web": "Web"}

CAPABILITIES: dict[str, str] = {
    "patrol": "Patrol",
    "swat": "SWAT / tactical",
    "k9": "K9",
    "bomb-squad": "Bomb squad",
    "investigations": "Investigations",
    "marine-patrol": "Marine patrol",
    "structural-firefighting": "Structural firefighting",
    "wildland-firefighting": "Wildland firefighting",
    "hazmat": "Hazardous materials",
    "swift-water-rescue": "Swift-water rescue",
    "technical-rescue": "Technical rescue",
    "search-and-rescue": "Search and rescue",
    "als-transport": "ALS transport",
    "bls-transport": "BLS transport",
    "mass-casualty": "Mass-casualty response",
    "dispatch-911": "911 dispatch",
    "eoc": "Emergency operations center",
    "mass-notification": "Mass notification",
    "epidemiology": "Epidemiology",
    "lab-testing": "Laboratory testing",
    "environmental-health": "Environmental health",
    "water-treatment": "Water treatment",
    "scada-security": "SCADA / ICS security",
    "cyber-response": "Cyber incident response",
    "sheltering": "Sheltering",
    "mass-care": "Mass care",
    "intel-analysis": "Intelligence analysis",
    "uas": "Unmanned aircraft (drones)",
    "evidence-forensics": "Evidence and forensics",
    "traffic-control": "Traffic control",
    "public-information": "Public information",
}
