"""Request-scoped database session: the handler owns the transaction and commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from accord.core.db import writer_session

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_db(request: Request) -> Iterator[Session]:
    """Requests that change things get a writer session (SQLite: the write lock is taken
    at BEGIN, so concurrent changes queue instead of failing)."""
    factory = request.app.state.session_factory
    db: Session = writer_session(factory) if request.method in UNSAFE else factory()
    try:
        yield db
    finally:
        db.close()


DB = Annotated[Session, Depends(get_db)]
