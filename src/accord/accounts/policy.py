"""Account visibility: users are seen by administrators of an agency they belong to (and
by themselves); sessions and API tokens only by their owner."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true

from accord.accounts.models import ApiToken, User, UserSession
from accord.authz import ALL_AGENCIES, Actor, register_policy
from accord.authz.models import Membership


@register_policy(User)
def user_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = actor.agencies_with(action)
    if agencies is ALL_AGENCIES:
        return true()
    assert isinstance(agencies, frozenset)
    in_my_agencies = User.id.in_(select(Membership.user_id).where(Membership.agency_id.in_(agencies)))
    return or_(User.id == actor.user_id, in_my_agencies)


@register_policy(UserSession)
def session_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return UserSession.user_id == actor.user_id


@register_policy(ApiToken)
def token_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return ApiToken.user_id == actor.user_id
