"""Demo CAP imports: Marrow County EMA has imported a bundled sample feed of two outside
alerts (a National Weather Service-style flood warning for the Harrow River and a river
gauge advisory of the water authority), which became two incident reports it leads.

The feed's links point to an example host; the seed answers them from the bundled files
and never touches the network."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts.models import User
from accord.authz.actor import Actor, MembershipGrant
from accord.config import Settings
from accord.directory.models import Agency
from accord.operations.alerts import service
from accord.operations.alerts.models import ImportedAlert
from accord.operations.alerts.sources import FetchFailed

DATA = Path(__file__).parent / "operations" / "alerts" / "data"
SAMPLE_FEED = DATA / "sample-feed.atom"
SAMPLE_HOST = "alerts.harrowvalley.example"
IMPORTER = "MCEMA"


def _bundled(url: str) -> bytes:
    """The sample feed's links, answered from the bundled files (no network)."""
    parts = urlsplit(url)
    path = DATA / PurePosixPath(parts.path).name
    if parts.hostname != SAMPLE_HOST or path.suffix != ".xml" or not path.is_file():
        raise FetchFailed(f"{url} is not a bundled sample alert")
    return path.read_bytes()


def seed_alerts(db: Session, settings: Settings) -> None:
    """Idempotent: does nothing once the county EMA has imported any CAP alert."""
    agency_id = db.scalar(select(Agency.id).where(Agency.short_name == IMPORTER))
    if agency_id is None or db.scalar(select(ImportedAlert.id).where(ImportedAlert.agency_id == agency_id)):
        return
    admin = db.scalar(select(User.id).where(User.username == "admin"))
    actor = Actor(
        user_id=admin,
        username="seed",
        display_name="Harrow Valley demo seed",
        memberships=(MembershipGrant(agency_id, "seed", frozenset({service.IMPORT})),),
        auth_method="system",
    )
    report = service.import_alerts(
        db, actor=actor, agency_id=agency_id, data=SAMPLE_FEED.read_bytes(), fetcher=_bundled
    )
    refused = [r for r in report.results if r.outcome == "refused"]
    if refused:
        raise RuntimeError(f"the sample CAP feed did not import cleanly: {refused[0].problems}")
