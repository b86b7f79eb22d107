"""Deconfliction of planned operations: an agency registers where and when it will act;
overlaps with other agencies' operations and with open incidents are told to both
contacts, and to nobody else (ADR 14)."""
