"""Mutual aid over EDXL-RM 1.0 (issue 6, the exchange): requests, responses and commitments
exported as XML and imported back, threaded by MessageID, OriginatingMessageID and
PrecedingMessageID; every refusal names the element (or field) and the reason; a third
agency cannot export what it cannot see; on both databases.

The world is the requests tests' (tests/test_mutualaid_requests.py): the demo's Harrow Valley
Mutual Aid Agreement binds MCEMA, LHFD and CRFD (among others); HPD takes part in the test
incident but is no party to it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from accord.audit.models import AuditEvent
from accord.formats.edxl_rm import RmMessage, RmResource, RmSchedule, build_rm, parse_rm
from accord.mutualaid.exchange import service
from tests.conftest import assert_error, refresh
from tests.test_mutualaid_requests import _open as requests_open
from tests.test_mutualaid_requests import world as requests_world  # noqa: F401  (module fixture)

XML = {"Content-Type": "application/xml"}
ROUND_TRIP_FIELDS = (
    "type_key",
    "level",
    "description",
    "quantity",
    "deliver_to",
    "location",
    "priority",
    "substitutes_ok",
    "special_instructions",
    "requester_name",
    "requester_position",
)


@pytest.fixture(scope="module")
def world(requests_world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The requests tests' world: their users, test incident and resources."""
    return requests_world


def _open(client: Any, world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An open request of MCEMA's with every ICS-213 field filled in."""
    details = {"description": "Boats with four crew", "special_instructions": "Bring own fuel"}
    return requests_open(client, world, **(details | fields))


def _approve(client: Any, world: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v1/resource-requests/{request['id']}/approvals"
    assert client.post(f"{url}/logistics", json={"name": "L. Chief"}, headers=world["h"]["mcema"]).status_code == 200
    opened = client.post(f"{url}/finance", json={"name": "F. Chief"}, headers=world["h"]["mcema"])
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    return dict(opened.json())


def _boat(client: Any, world: dict[str, Any], agency: str = "lhfd", quantity: int = 2) -> dict[str, Any]:
    made = client.post(
        "/api/v1/resources",
        json={
            "owner_agency_id": str(world["ids"][agency.upper()]),
            "type_key": "swift_water_rescue_team",
            "level": 2,
            "name": f"Exchange boat {uuid.uuid4().hex[:6]}",
            "quantity": quantity,
            "home": {"type": "Point", "coordinates": [-76.75, 40.9]},
        },
        headers=world["h"][agency],
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def _export(client: Any, url: str, who: str, world: dict[str, Any]) -> bytes:
    response = client.get(url, headers=world["h"][who])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return bytes(response.content)


def _import_request(client: Any, world: dict[str, Any], xml: bytes, who: str = "mcema") -> Any:
    return client.post(
        "/api/v1/resource-requests/edxl-rm",
        params={"incident_id": world["incident"]["id"], "requesting_agency_id": str(world["ids"]["MCEMA"])},
        content=xml,
        headers=world["h"][who] | XML,
    )


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fields(error: dict[str, Any]) -> dict[str, str]:
    return {f["field"]: f["reason"] for f in error["fields"]}


def _threaded(client: Any, world: dict[str, Any]) -> dict[str, Any]:
    """A request, the same request exported and imported back (as an outside system would
    hold it), and LHFD's offer on the first exported as a response and imported on the second."""
    first = _open(client, world)
    xml = _export(client, f"/api/v1/resource-requests/{first['id']}/edxl-rm", "mcema", world)
    imported = _import_request(client, world, xml)
    assert imported.status_code == 201, imported.text
    second = _approve(client, world, imported.json()["requests"][0])
    boat = _boat(client, world)
    offer = client.post(
        f"/api/v1/resource-requests/{first['id']}/offers",
        json={"resource_id": boat["id"], "note": "Two crews, one trailer"},
        headers=world["h"]["lhfd"],
    )
    assert offer.status_code == 201, offer.text
    response_xml = _export(client, f"/api/v1/resource-offers/{offer.json()['id']}/edxl-rm", "lhfd", world)
    answered = client.post(
        f"/api/v1/resource-requests/{second['id']}/offers/edxl-rm",
        content=response_xml,
        headers=world["h"]["lhfd"] | XML,
    )
    assert answered.status_code == 201, answered.text
    return {
        "first": first,
        "second": second,
        "request_xml": xml,
        "boat": boat,
        "offer": offer.json(),
        "response_xml": response_xml,
        "answer": answered.json(),
    }


# -- export ------------------------------------------------------------------------------------------
def test_a_request_exports_as_request_resource_with_type_level_time_place_and_contacts(client, world):
    request = _open(client, world)
    message = parse_rm(_export(client, f"/api/v1/resource-requests/{request['id']}/edxl-rm", "mcema", world))
    assert message.kind == "RequestResource"
    assert message.message_id == f"accord-request-{request['id']}"
    assert message.incident_id == world["incident"]["number"]
    assert message.incident_description == world["incident"]["name"]
    (line,) = message.resources
    assert line.element_id == request["number"]
    assert line.type_value == "swift_water_rescue_team"
    assert line.type_list_urn is not None and line.type_list_urn.startswith("urn:x-accord:resource-types:")
    assert line.type_list_urn != service.UNLISTED_URN
    assert set(line.keywords) == {"level:2", "substitutes-ok", "priority:urgent"}
    assert line.quantity == Decimal(2) and line.unit_of_measure
    assert line.description == "Boats with four crew" and line.restrictions == "Bring own fuel"
    (arrival,) = line.schedules
    assert arrival.kind == "RequestedArrival" and arrival.at == _when(request["needed_at"])
    assert arrival.location_description == "Staging, Harrowgate fairgrounds" and arrival.point == (-76.74, 40.9)
    roles = [(c.role, c.name, c.description) for c in message.contacts]
    assert roles == [
        ("Requester", "Dana Whitfield", "Logistics section chief"),
        ("Approver", "L. Chief", "Logistics approval"),
        ("Approver", "F. Chief", "Finance approval"),
    ]
    assert message.contacts[0].organisation  # the requesting agency's name


def _described_form(message: RmMessage, line: RmResource) -> Any:
    """The ICS-213 form a line by description becomes (no database: nothing to look up)."""
    form, _ = service.request_form(
        None,  # type: ignore[arg-type]
        actor=None,  # type: ignore[arg-type]
        message=message,
        line=line,
        path="/RequestResource/ResourceInformation[1]",
        incident_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        requester=(message.contacts[0], "/RequestResource/ContactInformation[1]"),
    )
    return form


def test_a_request_by_description_is_written_under_the_unlisted_type(client, world):
    from accord.mutualaid.models import ResourceRequest

    request = ResourceRequest(
        id=uuid.uuid4(),
        number="213-2026-9999",
        requester_name="Dana Whitfield",
        requester_position="",
        type_key=None,
        level=None,
        description="Portable light towers with operators",
        quantity=3,
        deliver_to="Gate B",
        lon=-76.7,
        lat=40.9,
        needed_at=datetime(2026, 12, 6, 18, 0, tzinfo=UTC),
        priority="high",
        substitutes_ok=False,
        special_instructions="",
        edxl_message_id=None,
    )
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    message = service.request_message(request, kind=None, agency="MCEMA", incident=(None, None), now=now)
    back = parse_rm(build_rm(message))
    (line,) = back.resources
    assert (line.type_list_urn, line.type_value, line.name) == (service.UNLISTED_URN, "unlisted", None)
    assert line.description == "Portable light towers with operators" and line.keywords == ("priority:high",)
    form = _described_form(back, line)
    assert form.type_key is None and form.description == "Portable light towers with operators"
    assert (form.quantity, form.priority, form.deliver_to, form.needed_at) == (3, "high", "Gate B", request.needed_at)
    # From another list: the type's value and its keywords are kept in the description.
    foreign = dataclasses.replace(
        line, type_list_urn="urn:example:nims", type_value="LIGHT-3", name="Light tower", keywords=("night", "4x4")
    )
    form = _described_form(back, foreign)
    assert form.description == (
        "Light tower Portable light towers with operators (type 'LIGHT-3' of list urn:example:nims) "
        "(keywords: night, 4x4)"
    )


def test_a_partners_request_exported_is_an_audited_read_and_a_third_agency_sees_nothing(client, world, db):
    request = _open(client, world)
    url = f"/api/v1/resource-requests/{request['id']}/edxl-rm"
    _export(client, url, "mcema", world)  # its own: not a read of another agency's data
    _export(client, url, "lhfd", world)  # sent to LHFD under the compact's clause
    assert_error(client.get(url, headers=world["h"]["hpd"]), 404, "not_found")
    assert_error(
        client.get(f"/api/v1/resource-requests/{uuid.uuid4()}/edxl-rm", headers=world["h"]["mcema"]), 404, "not_found"
    )
    refresh(db)
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.object_id == request["id"])))
    exports = [e for e in events if e.action == "mutualaid.request.export"]
    assert len(exports) == 1
    assert exports[0].agency_id == world["ids"]["MCEMA"] and exports[0].actor_agency_id == world["ids"]["LHFD"]
    assert exports[0].clause_id is not None and exports[0].details["message"] == "RequestResource"


# -- round trips -------------------------------------------------------------------------------------
def test_a_request_exported_and_imported_comes_back_with_the_same_fields(client, world):
    first = _open(client, world)
    xml = _export(client, f"/api/v1/resource-requests/{first['id']}/edxl-rm", "mcema", world)
    imported = _import_request(client, world, xml)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["message_id"] == f"accord-request-{first['id']}"
    (second,) = body["requests"]
    assert second["id"] != first["id"] and second["status"] == "pending"
    assert {k: second[k] for k in ROUND_TRIP_FIELDS} == {k: first[k] for k in ROUND_TRIP_FIELDS}
    assert _when(second["needed_at"]) == _when(first["needed_at"])
    assert any("Approver" in note for note in body["notes"])  # approvals are Accord's own
    # The imported request keeps its thread: exported again it is the same message and line.
    again = parse_rm(_export(client, f"/api/v1/resource-requests/{second['id']}/edxl-rm", "mcema", world))
    assert again.message_id == f"accord-request-{first['id']}"
    assert again.resources[0].element_id == first["number"]
    # Imported twice: refused, naming the element.
    twice = assert_error(_import_request(client, world, xml), 409, "conflict")
    assert "already imported" in _fields(twice)["/RequestResource/MessageID"]


def test_a_message_of_several_lines_becomes_one_request_per_line(client, world):
    request = _open(client, world)
    message = parse_rm(_export(client, f"/api/v1/resource-requests/{request['id']}/edxl-rm", "mcema", world))
    line = message.resources[0]
    two = dataclasses.replace(
        message,
        message_id=f"CAD-{uuid.uuid4().hex[:8]}",
        resources=(
            dataclasses.replace(line, element_id="A"),
            dataclasses.replace(line, element_id="B", quantity=Decimal(1), keywords=("level:1",)),
        ),
    )
    imported = _import_request(client, world, build_rm(two))
    assert imported.status_code == 201, imported.text
    first, second = imported.json()["requests"]
    assert (first["quantity"], first["level"], first["priority"]) == (2, 2, "urgent")
    assert (second["quantity"], second["level"], second["priority"], second["substitutes_ok"]) == (
        1,
        1,
        "routine",
        False,
    )
    exported = parse_rm(_export(client, f"/api/v1/resource-requests/{second['id']}/edxl-rm", "mcema", world))
    assert (exported.message_id, exported.resources[0].element_id) == (two.message_id, "B")


def test_an_offer_exported_as_a_response_imports_against_the_request_exported_and_imported(client, world, db):
    t = _threaded(client, world)
    response = parse_rm(t["response_xml"])
    assert response.kind == "ResponseToRequestResource"
    assert response.message_id == f"accord-offer-{t['offer']['id']}-response"
    assert response.originating_message_id == f"accord-request-{t['first']['id']}"
    (line,) = response.resources
    assert line.response is not None and line.response.response_type == "Accept"
    assert line.response.preceding_element_id == t["first"]["number"]
    assert (line.resource_id, line.name, line.quantity) == (t["boat"]["id"], t["boat"]["name"], Decimal(1))
    assert [s.kind for s in line.schedules] == ["EstimatedArrival"]
    assert line.schedules[0].at == _when(t["offer"]["eta_at"])
    (made,) = t["answer"]["offers"]
    assert made["request_id"] == t["second"]["id"] and made["resource_id"] == t["boat"]["id"]
    assert (made["status"], made["quantity"], made["note"]) == ("offered", 1, "Two crews, one trailer")
    assert t["answer"]["declined"] == []
    # The same response twice: refused by MessageID.
    twice = client.post(
        f"/api/v1/resource-requests/{t['second']['id']}/offers/edxl-rm",
        content=t["response_xml"],
        headers=world["h"]["lhfd"] | XML,
    )
    assert "already imported" in _fields(assert_error(twice, 409, "conflict"))["/ResponseToRequestResource/MessageID"]
    # The imported offer answers with the response it came in.
    again = parse_rm(_export(client, f"/api/v1/resource-offers/{made['id']}/edxl-rm", "lhfd", world))
    assert again.message_id == response.message_id and again.originating_message_id == response.originating_message_id
    # The requester exporting LHFD's offer reads LHFD's data: audited.
    _export(client, f"/api/v1/resource-offers/{made['id']}/edxl-rm", "mcema", world)
    refresh(db)
    exports = list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.object_id == made["id"], AuditEvent.action == "mutualaid.offer.export")
        )
    )
    assert {(e.agency_id, e.actor_agency_id) for e in exports} == {
        (world["ids"]["MCEMA"], world["ids"]["LHFD"]),  # LHFD read the request's side
        (world["ids"]["LHFD"], world["ids"]["MCEMA"]),
    }
    assert_error(
        client.get(f"/api/v1/resource-offers/{made['id']}/edxl-rm", headers=world["h"]["hpd"]), 404, "not_found"
    )


def test_a_commitment_exported_and_imported_commits_the_offer_it_names(client, world):
    t = _threaded(client, world)
    h = world["h"]
    committed = client.post(
        f"/api/v1/resource-offers/{t['offer']['id']}/status", json={"status": "committed"}, headers=h["mcema"]
    )
    assert committed.status_code == 200, committed.text
    xml = _export(client, f"/api/v1/resource-offers/{t['offer']['id']}/edxl-rm", "mcema", world)
    commit = parse_rm(xml)
    assert commit.kind == "CommitResource" and commit.message_id == f"accord-offer-{t['offer']['id']}-commit"
    assert commit.originating_message_id == f"accord-request-{t['first']['id']}"
    assert commit.preceding_message_id == f"accord-offer-{t['offer']['id']}-response"
    (line,) = commit.resources
    assert line.resource_id == t["boat"]["id"]
    assert [s.kind for s in line.schedules] == ["Committed", "EstimatedArrival"]
    # Imported: the request it names is the one stored with that id, and its offer from that response.
    imported = client.post("/api/v1/resource-offers/edxl-rm/commit", content=xml, headers=h["mcema"] | XML)
    assert imported.status_code == 200, imported.text
    (offer,) = imported.json()["offers"]
    assert offer["id"] == t["answer"]["offers"][0]["id"] and offer["status"] == "committed"
    assert "EDXL-RM CommitResource" in offer["note"]
    twice = client.post("/api/v1/resource-offers/edxl-rm/commit", content=xml, headers=h["mcema"] | XML)
    assert (
        "cannot become committed"
        in _fields(assert_error(twice, 409, "conflict"))["/CommitResource/ResourceInformation[1]"]
    )
    # On scene: the commitment carries the actual arrival.
    for status in ("mobilized", "on_scene"):
        moved = client.post(f"/api/v1/resource-offers/{offer['id']}/status", json={"status": status}, headers=h["lhfd"])
        assert moved.status_code == 200, moved.text
    later = parse_rm(_export(client, f"/api/v1/resource-offers/{offer['id']}/edxl-rm", "lhfd", world))
    arrived = [s for s in later.resources[0].schedules if s.kind == "ActualArrival"]
    assert arrived and arrived[0].at == _when(moved.json()["on_scene_at"])


def test_declined_and_withdrawn_offers_export_as_decline_and_decline_lines_are_reported(client, world):
    request = _open(client, world)
    h = world["h"]
    boats = [_boat(client, world), _boat(client, world, "crfd")]
    offers = [
        client.post(
            f"/api/v1/resource-requests/{request['id']}/offers", json={"resource_id": b["id"]}, headers=h[who]
        ).json()
        for b, who in zip(boats, ("lhfd", "crfd"), strict=True)
    ]
    client.post(
        f"/api/v1/resource-offers/{offers[0]['id']}/status",
        json={"status": "declined", "note": "Too far"},
        headers=h["mcema"],
    )
    client.post(f"/api/v1/resource-offers/{offers[1]['id']}/status", json={"status": "withdrawn"}, headers=h["crfd"])
    declined = parse_rm(_export(client, f"/api/v1/resource-offers/{offers[0]['id']}/edxl-rm", "lhfd", world))
    answer = declined.resources[0].response
    assert declined.kind == "ResponseToRequestResource" and answer is not None and answer.response_type == "Decline"
    assert "requesting agency declined" in (answer.reason or "") and "Too far" in (answer.reason or "")
    withdrawn = parse_rm(_export(client, f"/api/v1/resource-offers/{offers[1]['id']}/edxl-rm", "crfd", world))
    assert "providing agency withdrew" in (withdrawn.resources[0].response.reason or "")  # type: ignore[union-attr]
    # A partner's system declining: reported back, nothing stored.
    fresh = dataclasses.replace(withdrawn, message_id=f"CRFD-{uuid.uuid4().hex[:8]}")
    reported = client.post(
        f"/api/v1/resource-requests/{request['id']}/offers/edxl-rm", content=build_rm(fresh), headers=h["crfd"] | XML
    )
    assert reported.status_code == 201, reported.text
    assert reported.json()["offers"] == [] and reported.json()["declined"][0]["element_id"] == "1"


# -- refusals ----------------------------------------------------------------------------------------
def test_invalid_xml_doctype_and_oversize_are_refused_naming_where_and_why(client, world):
    for body, reason in [
        (b"<RequestResource", "XML"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            "DOCTYPE",
        ),
    ]:
        error = assert_error(_import_request(client, world, body), 422, "invalid")
        assert error["fields"] and reason.lower() in " ".join(f["reason"] for f in error["fields"]).lower(), error
    big = b"<a>" + b" " * (1024 * 1024) + b"</a>"
    too_large = assert_error(_import_request(client, world, big), 413, "too_large")
    assert "1 MiB" in _fields(too_large)["body"]
    json_body = client.post(
        "/api/v1/resource-requests/edxl-rm",
        params={"incident_id": world["incident"]["id"], "requesting_agency_id": str(world["ids"]["MCEMA"])},
        json={"xml": "<RequestResource/>"},
        headers=world["h"]["mcema"],
    )
    assert "application/json" in _fields(assert_error(json_body, 415, "unsupported_media_type"))["content-type"]
    empty = assert_error(_import_request(client, world, b"   "), 422, "invalid")
    assert "empty" in _fields(empty)["body"]
    missing = client.post("/api/v1/resource-requests/edxl-rm", content=b"<a/>", headers=world["h"]["mcema"] | XML)
    assert assert_error(missing, 422, "invalid")["fields"][0]["field"].endswith("incident_id")


def test_each_address_refuses_the_wrong_message_kind(client, world):
    t = _threaded(client, world)
    h = world["h"]
    wrong_for_request = assert_error(_import_request(client, world, t["response_xml"]), 422, "invalid")
    assert "<RequestResource>" in _fields(wrong_for_request)["/ResponseToRequestResource"]
    wrong_for_response = client.post(
        f"/api/v1/resource-requests/{t['second']['id']}/offers/edxl-rm",
        content=t["request_xml"],
        headers=h["lhfd"] | XML,
    )
    assert "/RequestResource" in _fields(assert_error(wrong_for_response, 422, "invalid"))
    wrong_for_commit = client.post(
        "/api/v1/resource-offers/edxl-rm/commit", content=t["response_xml"], headers=h["mcema"] | XML
    )
    assert "<CommitResource>" in _fields(assert_error(wrong_for_commit, 422, "invalid"))["/ResponseToRequestResource"]


def _request_variant(client: Any, world: dict[str, Any], **changes: Any) -> RmMessage:
    request = _open(client, world)
    message = parse_rm(_export(client, f"/api/v1/resource-requests/{request['id']}/edxl-rm", "mcema", world))
    line = dataclasses.replace(message.resources[0], **changes)
    return dataclasses.replace(message, message_id=f"CAD-{uuid.uuid4().hex[:8]}", resources=(line,))


def test_request_lines_accord_cannot_keep_are_refused_by_element(client, world):
    unknown = _request_variant(client, world, type_value="hovercraft_squadron")
    error = assert_error(_import_request(client, world, build_rm(unknown)), 422, "invalid")
    assert (
        "not a resource type of Accord's list"
        in _fields(error)["/RequestResource/ResourceInformation[1]/Resource/TypeStructure/Value"]
    )

    no_arrival = _request_variant(client, world, schedules=())
    error = assert_error(_import_request(client, world, build_rm(no_arrival)), 422, "invalid")
    assert "RequestedArrival" in _fields(error)["/RequestResource/ResourceInformation[1]/ScheduleInformation"]

    no_point = _request_variant(
        client, world, schedules=(RmSchedule("RequestedArrival", at=datetime.now(UTC) + timedelta(hours=2)),)
    )
    error = assert_error(_import_request(client, world, build_rm(no_point)), 422, "invalid")
    assert (
        "point" in _fields(error)["/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/Location/TargetArea"]
    )

    departure = _request_variant(client, world, schedules=(RmSchedule("RequestedDeparture", at=datetime.now(UTC)),))
    error = assert_error(_import_request(client, world, build_rm(departure)), 422, "invalid")
    assert (
        "not carried" in _fields(error)["/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/ScheduleType"]
    )

    half = _request_variant(client, world, quantity=Decimal("1.5"))
    error = assert_error(_import_request(client, world, build_rm(half)), 422, "invalid")
    assert (
        "whole number"
        in _fields(error)[
            "/RequestResource/ResourceInformation[1]/AssignmentInformation/Quantity/MeasuredQuantity/Amount"
        ]
    )

    hours = _request_variant(client, world, unit_of_measure="hours")
    error = assert_error(_import_request(client, world, build_rm(hours)), 422, "invalid")
    assert (
        "'hours'"
        in _fields(error)[
            "/RequestResource/ResourceInformation[1]/AssignmentInformation/Quantity/MeasuredQuantity/UnitOfMeasure/Value"
        ]
    )

    late = _request_variant(client, world)
    past = dataclasses.replace(late.resources[0].schedules[0], at=datetime(2020, 1, 1, tzinfo=UTC))
    late = dataclasses.replace(late, resources=(dataclasses.replace(late.resources[0], schedules=(past,)),))
    error = assert_error(_import_request(client, world, build_rm(late)), 422, "invalid")
    assert "in the past" in _fields(error)["/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/DateTime"]

    nobody = dataclasses.replace(
        _request_variant(client, world), contacts=(dataclasses.replace(unknown.contacts[0], role="Sender"),)
    )
    error = assert_error(_import_request(client, world, build_rm(nobody)), 422, "invalid")
    assert "Requester" in _fields(error)["/RequestResource/ContactInformation"]


def test_a_request_from_another_list_is_by_description_and_the_thresholds_refusal_passes_through(client, world):
    foreign = _request_variant(client, world, type_list_urn="urn:example:nims", type_value="SWR-2")
    error = assert_error(_import_request(client, world, build_rm(foreign)), 422, "thresholds_not_met")
    assert "by description" in error["message"] or "description" in " ".join(f["reason"] for f in error["fields"])
    # Another agency's request cannot be imported by someone outside it.
    assert_error(
        _import_request(client, world, build_rm(_request_variant(client, world)), who="lhfd"), 403, "forbidden"
    )


def test_a_response_must_thread_to_the_request_and_offer_the_callers_own_resources(client, world):
    t = _threaded(client, world)
    h = world["h"]
    base = parse_rm(t["response_xml"])
    url = f"/api/v1/resource-requests/{t['first']['id']}/offers/edxl-rm"

    def send(message: RmMessage, who: str = "lhfd") -> Any:
        fresh = dataclasses.replace(message, message_id=f"RSP-{uuid.uuid4().hex[:8]}")
        return client.post(url, content=build_rm(fresh), headers=h[who] | XML)

    elsewhere = dataclasses.replace(base, originating_message_id="SOMEONE-ELSES-REQUEST")
    error = assert_error(send(elsewhere), 422, "invalid")
    assert "is not this request" in _fields(error)["/ResponseToRequestResource/OriginatingMessageID"]

    line = base.resources[0]
    assert line.response is not None
    other_line = dataclasses.replace(line, response=dataclasses.replace(line.response, preceding_element_id="9"))
    error = assert_error(send(dataclasses.replace(base, resources=(other_line,))), 422, "invalid")
    assert (
        "not the request's line"
        in _fields(error)[
            "/ResponseToRequestResource/ResourceInformation[1]/ResponseInformation/PrecedingResourceInfoElementID"
        ]
    )

    error = assert_error(send(base, who="crfd"), 422, "invalid")  # LHFD's boat offered by CRFD
    assert (
        "not a resource of your agency"
        in _fields(error)["/ResponseToRequestResource/ResourceInformation[1]/Resource/ResourceID"]
    )

    stranger = dataclasses.replace(line, resource_id=str(uuid.uuid4()))
    error = assert_error(send(dataclasses.replace(base, resources=(stranger,))), 422, "invalid")
    assert (
        "not a resource of your agency"
        in _fields(error)["/ResponseToRequestResource/ResourceInformation[1]/Resource/ResourceID"]
    )

    conditional = dataclasses.replace(line, response=dataclasses.replace(line.response, response_type="Conditional"))
    error = assert_error(send(dataclasses.replace(base, resources=(conditional,))), 422, "invalid")
    assert (
        "no conditions"
        in _fields(error)["/ResponseToRequestResource/ResourceInformation[1]/ResponseInformation/ResponseType"]
    )

    # make_offer's own rules apply, named by element: the boat is already offered to this request.
    error = assert_error(send(base), 409, "conflict")
    assert "already offered" in _fields(error)["/ResponseToRequestResource/ResourceInformation[1]/Resource/ResourceID"]
    # A third agency cannot answer a request it was not sent.
    assert_error(send(base, who="hpd"), 404, "not_found")


def test_a_commitment_must_thread_to_a_request_and_the_response_of_the_offer(client, world):
    t = _threaded(client, world)
    h = world["h"]
    client.post(f"/api/v1/resource-offers/{t['offer']['id']}/status", json={"status": "committed"}, headers=h["mcema"])
    base = parse_rm(_export(client, f"/api/v1/resource-offers/{t['offer']['id']}/edxl-rm", "mcema", world))
    url = "/api/v1/resource-offers/edxl-rm/commit"

    def send(message: RmMessage, who: str = "mcema") -> Any:
        return client.post(url, content=build_rm(message), headers=h[who] | XML)

    error = assert_error(send(dataclasses.replace(base, preceding_message_id="RSP-OTHER")), 422, "invalid")
    assert "is not the response that offered" in _fields(error)["/CommitResource/PrecedingMessageID"]
    error = assert_error(send(dataclasses.replace(base, originating_message_id="NOPE-1")), 422, "invalid")
    assert "names no request of your agency" in _fields(error)["/CommitResource/OriginatingMessageID"]
    other: RmResource = dataclasses.replace(base.resources[0], resource_id=str(uuid.uuid4()))
    error = assert_error(send(dataclasses.replace(base, resources=(other,))), 422, "invalid")
    assert "no offer on request" in _fields(error)["/CommitResource/ResourceInformation[1]/Resource/ResourceID"]
    more = dataclasses.replace(base.resources[0], quantity=Decimal(2))
    error = assert_error(send(dataclasses.replace(base, resources=(more,))), 422, "invalid")
    assert (
        "whole offer"
        in _fields(error)[
            "/CommitResource/ResourceInformation[1]/AssignmentInformation/Quantity/MeasuredQuantity/Amount"
        ]
    )
    # The provider's system cannot commit for the requester.
    error = assert_error(send(base, who="lhfd"), 422, "invalid")
    assert "/CommitResource/OriginatingMessageID" in _fields(error)
