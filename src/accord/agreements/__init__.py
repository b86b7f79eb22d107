"""Partnerships, governance and agreements as executable objects: signed clauses are
compiled, in the same transaction as every lifecycle change, into the grants table that
the sharing rules read."""
