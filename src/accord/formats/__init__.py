"""Pure codecs for the exchange formats Accord speaks (CAP, EDXL, STIX, CoT, GeoJSON, iCalendar)."""
