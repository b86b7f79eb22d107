"""Directory visibility: the directory is the platform's shared phone book, so every
member holding the read permission sees every agency and person in it."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from accord.authz import Actor, register_policy
from accord.directory.models import Agency, Person


@register_policy(Agency)
def agency_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return true()


@register_policy(Person)
def person_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return true()
