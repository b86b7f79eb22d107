"""Accord: agreements-driven collaboration platform for public-safety agencies."""

__version__ = "0.1.0"
