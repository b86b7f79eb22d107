"""Envelope encryption at rest: data keys per agency and record, wrapped by a master key."""
