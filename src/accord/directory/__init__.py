"""Agencies, jurisdictions, people, liaisons, duty contacts and capabilities."""
