"""Full-text search over records behind one function: SQLite FTS5 or PostgreSQL
full-text, both over ``search_text`` (unlabelled content only). User input never reaches
either query language: it is reduced to word tokens, each matched as a literal term."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, String, bindparam, func, literal_column, text

from accord.sharing.models import Record

MAX_TERMS = 20
# Index and query must use the same expression for PostgreSQL to use the GIN index.
ENGLISH: ColumnClause[Any] = literal_column("'english'::regconfig")


def terms_of(query: str) -> list[str]:
    return re.findall(r"\w+", query.lower())[:MAX_TERMS]


def bound_terms(dialect: str, query: str) -> str | None:
    """The value for the ``search_terms`` parameter of ``condition``; None when ``query``
    holds no word (which matches nothing)."""
    terms = terms_of(query)
    if not terms:
        return None
    if dialect == "postgresql":
        return " ".join(terms)
    return " ".join(f'"{t}"' for t in terms)


def condition(dialect: str) -> ColumnElement[bool]:
    """Records whose searchable text contains every term bound to ``search_terms``, built
    once and reused with each query's terms as a parameter."""
    terms = bindparam("search_terms", type_=String())
    if dialect == "postgresql":
        vector = func.to_tsvector(ENGLISH, Record.search_text)
        return vector.op("@@")(func.plainto_tsquery(ENGLISH, terms))
    return text("records.rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH :search_terms)").bindparams(  # type: ignore[return-value]
        terms
    )
