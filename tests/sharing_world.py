"""A small world for the sharing tests, built through the API as people would: HPD owns
records; KPD holds a data-use agreement with HPD; WFPD shares a partnership with HPD;
CCSO has neither."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from accord.core.time import utcnow
from accord.directory.models import Agency
from tests.conftest import api_token, bearer, unique

EVENT = "2026-11-20T14:30:00Z"


def propose_and_sign(client: Any, agreement_id: str, headers: dict[str, Any], ids: dict[str, Any]) -> None:
    """HPD's coordinator proposes the agreement; HPD's and KPD's administrators sign it."""
    proposed = client.post(f"/api/v1/agreements/{agreement_id}/propose", headers=headers["hpd_coordinator"])
    digest = proposed.json()["versions"][0]["content_hash"]
    for who, short in (("hpd_admin", "HPD"), ("kpd_admin", "KPD")):
        signed = client.post(
            f"/api/v1/agreements/{agreement_id}/sign",
            json={"agency_id": str(ids[short]), "content_hash": digest},
            headers=headers[who],
        )
        assert signed.status_code == 200, signed.text


def build_sharing_world(app: Any, session_factory: Any) -> dict[str, Any]:
    """HPD owns records; KPD holds an agreement with HPD; WFPD shares a partnership with
    HPD; CCSO has neither. Built once per run through the API, as people would."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor

    with session_factory() as db:
        # Agencies of its own, so the demo region's partnerships and agreements play no part.
        tag = uuid.uuid4().hex[:5].upper()
        ids = {}
        for role_name in ("HPD", "KPD", "WFPD", "CCSO"):
            agency = Agency(
                name=f"Sharing test {role_name} {tag}",
                short_name=f"S{role_name[:3]}{tag}",
                kind="police",
                level="local",
                jurisdiction_name="Test",
            )
            db.add(agency)
            db.flush()
            ids[role_name] = agency.id
        users: dict[str, Any] = {}
        for key, role, agency in [
            ("hpd_analyst", "analyst", "HPD"),
            ("hpd_coordinator", "coordinator", "HPD"),
            ("hpd_admin", "agency_admin", "HPD"),
            ("kpd_analyst", "analyst", "KPD"),
            ("kpd_viewer", "viewer", "KPD"),
            ("kpd_named", "viewer", "KPD"),
            ("kpd_admin", "agency_admin", "KPD"),
            ("wfpd_viewer", "viewer", "WFPD"),
            ("wfpd_coordinator", "coordinator", "WFPD"),
            ("ccso_viewer", "viewer", "CCSO"),
        ]:
            user = create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=unique(f"{key.replace('_', '-')}-"),
                display_name=key,
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
            users[key] = user
        db.commit()
        usernames = {k: u.username for k, u in users.items()}
        user_ids = {k: u.id for k, u in users.items()}
    with TestClient(app) as client:
        h = {k: bearer(api_token(client, name)) for k, name in usernames.items()}
        partnership = {
            "name": f"Harrowgate-Wyndham patrol partnership {unique('')}",
            "kind": "task_force",
            "starts_on": "2026-01-01",
            "members": [str(ids["HPD"]), str(ids["WFPD"])],
        }
        assert client.post("/api/v1/partnerships", json=partnership, headers=h["hpd_coordinator"]).status_code == 201
        clauses = [
            {
                "kind": "sharing",
                "providers": [str(ids["HPD"])],
                "recipients": [str(ids["KPD"])],
                "categories": ["incident_report", "bolo"],
                "max_tier": "AMBER",
                "purposes": ["investigation"],
                "labels": ["PII"],
            },
            {
                "kind": "sharing",
                "providers": [str(ids["HPD"])],
                "recipients": [str(ids["KPD"])],
                "recipient_roles": ["analyst"],
                "categories": ["case_summary"],
                "max_tier": "AMBER+STRICT",
                "purposes": ["investigation"],
                "labels": ["CJI"],
            },
        ]
        draft = {
            "kind": "data_use",
            "title": "HPD-KPD investigations data-use agreement",
            "parties": [str(ids["HPD"]), str(ids["KPD"])],
            "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            "clauses": clauses,
        }
        agreement = client.post("/api/v1/agreements", json=draft, headers=h["hpd_coordinator"]).json()
        propose_and_sign(client, agreement["id"], h, ids)

        def record(name: str, **fields: Any) -> str:
            body = {
                "owner_agency_id": str(ids["HPD"]),
                "category": "incident_report",
                "tier": "AMBER",
                "purpose": "investigation",
                "title": f"{name} on Market Street",
                "event_at": EVENT,
                "body": {
                    "summary": f"{name}: shots fired near the river",
                    "persons_involved": "Jonah Reyes, 555-0177",
                    "arrest_details": "Warrant 26-118 served",
                },
                **fields,
            }
            response = client.post("/api/v1/records", json=body, headers=h["hpd_analyst"])
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        records = {
            "clear": record("Clear", tier="CLEAR"),
            "green": record("Green", tier="GREEN", purpose="situational_awareness"),
            "amber": record("Amber"),
            "amber_planning": record("Planning", purpose="planning"),
            "strict_incident": record("Strict incident", tier="AMBER+STRICT"),
            "strict_case": record(
                "Strict case",
                tier="AMBER+STRICT",
                category="case_summary",
                body={"summary": "Burglary ring", "suspects": "Dana Fry", "case_number": "HPD-26-0042"},
            ),
            "red": record(
                "Red",
                tier="RED",
                category="bolo",
                red_recipients=[str(user_ids["kpd_named"])],
                body={"subject_description": "Tall, grey hoodie", "subject_name": "Lee Park"},
            ),
            "threat": record(
                "Threat", category="threat_indicator", body={"indicator_type": "ip", "value": "203.0.113.7"}
            ),
        }
    return {"ids": ids, "headers": h, "records": records, "agreement": agreement["id"], "user_ids": user_ids}
