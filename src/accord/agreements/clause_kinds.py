"""Clause kinds defined by modules above agreements (docs/adr/0017).

``agreements`` sits below ``operations`` and the other domain modules, so it cannot import
what their clauses name (a protocol version, a resource type...). A module registers its
kind here at import instead:

- ``validate(db, actor, terms)``: the problems of one clause's terms as (field, reason)
  pairs, the field relative to the clause (``protocol_version_id``); the drafting
  service reports them as ``clauses[i].<field>``. A clause of a kind nobody registered is
  refused (fail closed).
- ``compile(db, agreement_id, in_force)``: called by ``service.compile_grants`` in the
  same transaction as every lifecycle change, with each party's window of each clause of
  the kind — the windows the sharing grants get (effective date, expiry, supersession,
  suspension, termination, the party's opt-out). The module rebuilds its own rows from
  them, so "in force" means the same thing everywhere.
- ``describe(db, terms)``: the clause in one readable sentence (documents, editor).
- ``choices(db, actor)``: (value, label) options for the clause editor.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.authz import Actor


@dataclass(frozen=True)
class ClauseInForce:
    """One party of one signed clause, and when the clause binds it."""

    agreement_id: uuid.UUID
    version_id: uuid.UUID
    clause_id: uuid.UUID
    agency_id: uuid.UUID
    terms: Mapping[str, Any]
    valid_from: datetime
    valid_until: datetime | None


Validator = Callable[[Session, Actor, Mapping[str, Any]], list[tuple[str, str]]]
Compiler = Callable[[Session, uuid.UUID, list[ClauseInForce]], None]
Describer = Callable[[Session, Mapping[str, Any]], str]
Chooser = Callable[[Session, Actor], list[tuple[str, str]]]


@dataclass(frozen=True)
class ClauseKind:
    kind: str
    validate: Validator
    compile: Compiler | None = None
    describe: Describer | None = None
    choices: Chooser | None = None


_KINDS: dict[str, ClauseKind] = {}


def register_clause_kind(
    kind: str,
    *,
    validate: Validator,
    compile: Compiler | None = None,
    describe: Describer | None = None,
    choices: Chooser | None = None,
) -> None:
    """Register (or replace, on a module reload) the hooks of ``kind``."""
    _KINDS[kind] = ClauseKind(kind, validate, compile, describe, choices)


def clause_kind(kind: str) -> ClauseKind | None:
    return _KINDS.get(kind)


def compiled_kinds() -> list[ClauseKind]:
    return [k for k in _KINDS.values() if k.compile is not None]


def describe(db: Session, kind: str, terms: Mapping[str, Any]) -> str | None:
    hooks = _KINDS.get(kind)
    return hooks.describe(db, terms) if hooks is not None and hooks.describe is not None else None


def choices(db: Session, actor: Actor, kind: str) -> list[tuple[str, str]]:
    hooks = _KINDS.get(kind)
    return hooks.choices(db, actor) if hooks is not None and hooks.choices is not None else []
