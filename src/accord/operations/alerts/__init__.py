"""CAP 1.2 alerts in and out of incidents (issue 5, ADR 16): public alerts published for an
incident, and outside alerts (files, URLs, Atom/RSS feeds) imported as incident reports."""
