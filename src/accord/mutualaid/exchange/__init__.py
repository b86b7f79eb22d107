"""EDXL-RM 1.0 exchange of mutual-aid requests, responses and commitments (ADR 20, ADR 21)."""
