"""The demo region: the Harrow Valley, three counties on real coordinates with invented
places, its agencies (imported from GeoJSON like any operator's file), people, liaisons,
and one login per role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts import service as accounts
from accord.accounts.models import User
from accord.accounts.schemas import MembershipCreate
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.permissions import PERMISSIONS
from accord.authz.roles import BUILTIN_ROLES
from accord.authz.service import sync_builtin_roles
from accord.config import Settings
from accord.core import crypto
from accord.core.time import utcnow
from accord.directory import service as directory
from accord.directory.models import Agency, Person
from accord.seed_alerts import seed_alerts
from accord.seed_deconfliction import seed_deconfliction
from accord.seed_eventboard import seed_eventboard
from accord.seed_mutualaid import seed_mutualaid
from accord.seed_operations import seed_operations
from accord.seed_protocols import seed_protocols
from accord.seed_requests import seed_requests
from accord.seed_sharing import seed_sharing

DATA = Path(__file__).parent / "directory" / "data"
REGION_FILE = DATA / "demo_region.geojson"
PEOPLE_FILE = DATA / "demo_people.json"
DEMO_PASSWORD = "harrow-valley-demo"
# The platform administrator signs in with a second factor even in the demo, so the MFA
# step is visible; the seed is public, so this account must never exist in production.
DEMO_TOTP_USER = "admin"
DEMO_TOTP_SECRET = "HARROWVALLEYDEMOADMINMFA"


def system_actor(name: str = "system") -> Actor:
    """The operator at the server's shell (CLI, seeding): platform-wide, audited by name."""
    grant = MembershipGrant(agency_id=None, role="platform_admin", permissions=frozenset(PERMISSIONS))
    return Actor(user_id=None, username=name, display_name=name, memberships=(grant,), auth_method="system")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    name: str
    agency: str
    mfa: bool


def seed_demo(db: Session, settings: Settings) -> list[DemoLogin]:
    """Idempotent: a second run adds only what is missing and keeps every change made since."""
    if settings.is_production:
        raise RuntimeError("refusing to seed demo accounts with published passwords into a production installation")
    actor = system_actor("seed")
    sync_builtin_roles(db)
    region = json.loads(REGION_FILE.read_text())
    wanted = {f["properties"]["short_name"] for f in region["features"]}
    present = set(db.scalars(select(Agency.short_name).where(Agency.short_name.in_(wanted))))
    if present != wanted:  # a re-run keeps what people changed in the demo since
        report = directory.import_feature_collection(db, actor=actor, collection=region)
        if report.failed:
            raise RuntimeError(f"demo region did not import cleanly: {report.problems[:3]}")
    agencies = {a.short_name: a for a in db.scalars(select(Agency))}
    logins: list[DemoLogin] = []
    for entry in json.loads(PEOPLE_FILE.read_text()):
        agency = agencies[entry["agency"]]
        person = db.scalars(
            select(Person).where(Person.agency_id == agency.id, Person.full_name == entry["full_name"])
        ).first()
        if person is None:
            person = Person(
                agency_id=agency.id,
                full_name=entry["full_name"],
                title=entry["title"],
                email=entry["email"],
                phone=entry["phone"],
                is_liaison=entry["is_liaison"],
                is_duty_contact=entry["is_duty_contact"],
            )
            db.add(person)
            db.flush()
        login = entry.get("login")
        if not login:
            continue
        user = accounts.find_user(db, login["username"])
        if user is None:
            platform = login["role"] == "platform_admin"
            user = accounts.create_user_unchecked(
                db,
                actor=actor,
                username=login["username"],
                display_name=entry["full_name"],
                email=entry["email"],
                password=DEMO_PASSWORD,
                agency_id=None if platform else agency.id,
                role=login["role"],
            )
            if platform:
                # The platform administrator also belongs to their home agency as its admin.
                accounts.add_membership(
                    db, actor=actor, user_id=user.id, data=MembershipCreate(agency_id=agency.id, role="agency_admin")
                )
            if login["username"] == DEMO_TOTP_USER:
                _enable_demo_totp(db, settings, user)
        person.user_id = user.id
        logins.append(
            DemoLogin(login["username"], login["role"], entry["full_name"], agency.short_name, user.mfa_enabled)
        )
    db.flush()
    seed_sharing(db)
    seed_mutualaid(db, settings)
    seed_operations(db, settings)
    seed_requests(db, settings)
    seed_alerts(db, settings)
    seed_protocols(db, settings)
    seed_deconfliction(db, settings)
    seed_eventboard(db, settings)
    order = {role.name: i for i, role in enumerate(BUILTIN_ROLES)}
    return sorted(logins, key=lambda login: order.get(login.role, len(order)))


def _enable_demo_totp(db: Session, settings: Settings, user: User) -> None:
    user.mfa_secret_sealed = crypto.seal(settings.secret_key, DEMO_TOTP_SECRET)
    user.mfa_enabled_at = utcnow()
    db.flush()
