"""Shared foundations: database, errors, time, logging. Depends on nothing else in Accord."""
