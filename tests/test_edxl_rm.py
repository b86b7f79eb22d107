"""EDXL-RM 1.0 codec: hand-written messages that thread together, round trips, and refusals.

``tests/edxl_rm_corpus`` holds three hand-written messages: a RequestResource, the
ResponseToRequestResource that answers it and the CommitResource that follows the response.
Every refusal must name the element (a path) and the reason. No database is used.
"""

from __future__ import annotations

import string
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.formats.edxl_rm import (
    CONTACT_ROLES,
    MAX_DOCUMENT_BYTES,
    RESPONSE_TYPES,
    RM_MSG_NS,
    RM_NS,
    SCHEDULE_TYPES,
    RmContact,
    RmInvalid,
    RmMessage,
    RmProblem,
    RmResource,
    RmResponse,
    RmSchedule,
    build_rm,
    parse_rm,
    validate_rm,
)

CORPUS = Path(__file__).parent / "edxl_rm_corpus"
REQUEST = (CORPUS / "request.xml").read_bytes()
RESPONSE = (CORPUS / "response.xml").read_bytes()
COMMIT = (CORPUS / "commit.xml").read_bytes()
PDT = timezone(timedelta(hours=-7))


# --------------------------------------------------------------------------- valid messages


def test_the_hand_written_messages_are_valid_and_thread_together() -> None:
    request, response, commit = parse_rm(REQUEST), parse_rm(RESPONSE), parse_rm(COMMIT)
    assert (request.kind, response.kind, commit.kind) == (
        "RequestResource",
        "ResponseToRequestResource",
        "CommitResource",
    )
    assert response.originating_message_id == request.message_id
    assert commit.originating_message_id == request.message_id
    assert commit.preceding_message_id == response.message_id
    answered = response.resources[0].response
    assert answered is not None
    assert answered.preceding_element_id == request.resources[0].element_id
    assert answered.response_type == "Conditional"
    committed = commit.resources[0]
    assert committed.response == RmResponse("1", "Accept")
    assert committed.order_id == "HC-ORD-0042-1"
    assert committed.resource_id == response.resources[0].resource_id == "CFD-SWR-1"


def test_the_request_reads_every_field_accord_carries() -> None:
    request = parse_rm(REQUEST)
    assert request == RmMessage(
        kind="RequestResource",
        message_id="HCEM-REQ-2026-0042",
        sent_at=datetime(2026, 5, 1, 14, 30, tzinfo=PDT),
        description="Mill Creek flooding: swift-water rescue needed",
        incident_id="INC-2026-0117",
        incident_description="Mill Creek flood",
        contacts=(
            RmContact(
                role="Requester",
                name="Dana Ortiz",
                organisation="Harbor County Emergency Management",
                email="eoc-logistics@harbor.example",
                phone="+1 503 555 0100",
                description="Harbor County EOC logistics desk",
            ),
        ),
        resources=(
            RmResource(
                element_id="1",
                type_value="swiftwater_rescue_team",
                type_list_urn="urn:x-accord:resource-types",
                name="Swift-water rescue team",
                description="Type 2 or better, with boat",
                keywords=("flood", "boat"),
                quantity=Decimal(2),
                unit_of_measure="team",
                restrictions="Self-sufficient for 72 hours",
                anticipated_function="Rescue from flooded homes along Mill Creek",
                schedules=(
                    RmSchedule(
                        kind="RequestedArrival",
                        at=datetime(2026, 5, 1, 18, 0, tzinfo=PDT),
                        location_description="Staging area, Mill Creek fairgrounds",
                        point=(-122.6765, 45.5231),
                    ),
                ),
            ),
        ),
    )


@pytest.mark.parametrize("data", [REQUEST, RESPONSE, COMMIT], ids=["request", "response", "commit"])
def test_hand_written_messages_round_trip_through_the_builder(data: bytes) -> None:
    message = parse_rm(data)
    written = build_rm(message)
    assert validate_rm(written) == []
    assert parse_rm(written) == message
    assert build_rm(parse_rm(written)) == written


def test_a_thread_built_in_accord_reads_back() -> None:
    sent = datetime(2026, 5, 1, 21, 30, tzinfo=UTC)
    request = RmMessage(
        kind="RequestResource",
        message_id="req-1",
        sent_at=sent,
        contacts=(RmContact(role="Requester", organisation="Harbor County EM"),),
        resources=(RmResource(element_id="r1", type_value="engine_type_1", type_list_urn="urn:x-accord:types"),),
    )
    response = RmMessage(
        kind="ResponseToRequestResource",
        message_id="rsp-1",
        sent_at=sent + timedelta(minutes=5),
        originating_message_id=request.message_id,
        preceding_message_id=request.message_id,
        contacts=(RmContact(role="RespondingOrg", organisation="Cedar FD"),),
        resources=(RmResource(element_id="r1", response=RmResponse("r1", "Decline", reason="none available")),),
    )
    commit = RmMessage(
        kind="CommitResource",
        message_id="cmt-1",
        sent_at=sent + timedelta(minutes=9),
        originating_message_id=request.message_id,
        preceding_message_id=response.message_id,
        contacts=(RmContact(role="Approver"),),
        resources=(RmResource(element_id="r1", quantity=Decimal("1.5"), unit_of_measure="team"),),
    )
    for message in (request, response, commit):
        assert parse_rm(build_rm(message)) == message
    assert b"+00:00</SentDateTime>" in build_rm(request)


# --------------------------------------------------------------------------- refusals


def _swap(data: bytes, old: str, new: str) -> bytes:
    text = data.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


REFUSALS = [
    # (name, document, expected path, a word of the reason)
    (
        "wrong namespace on the root",
        _swap(REQUEST, 'xmlns:msg="urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg"', 'xmlns:msg="urn:example:rm"'),
        "/RequestResource",
        "namespace",
    ),
    (
        "wrong root (a CAP alert)",
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>',
        "/alert",
        "root element must be an EDXL-RM 1.0 message",
    ),
    (
        "an EDXL-RM message Accord does not read",
        _swap(
            _swap(REQUEST, "<msg:RequestResource ", "<msg:RequestQuote "),
            "</msg:RequestResource>",
            "</msg:RequestQuote>",
        ),
        "/RequestQuote",
        "Accord does not read",
    ),
    (
        "an unknown message type",
        _swap(
            _swap(REQUEST, "<msg:RequestResource ", "<msg:BorrowThings "),
            "</msg:RequestResource>",
            "</msg:BorrowThings>",
        ),
        "/BorrowThings",
        "is not an EDXL-RM 1.0 message",
    ),
    (
        "a child in the wrong namespace",
        _swap(
            REQUEST,
            "<msg:MessageID>HCEM-REQ-2026-0042</msg:MessageID>",
            "<rm:MessageID>HCEM-REQ-2026-0042</rm:MessageID>",
        ),
        "/RequestResource/MessageID[1]",
        "namespace 'rm'",
    ),
    (
        "missing MessageID",
        _swap(REQUEST, "<msg:MessageID>HCEM-REQ-2026-0042</msg:MessageID>", ""),
        "/RequestResource/MessageID",
        "required element <MessageID> is missing",
    ),
    (
        "empty MessageID",
        _swap(REQUEST, "<msg:MessageID>HCEM-REQ-2026-0042</msg:MessageID>", "<msg:MessageID></msg:MessageID>"),
        "/RequestResource/MessageID",
        "must not be empty",
    ),
    (
        "MessageID with a space",
        _swap(REQUEST, "HCEM-REQ-2026-0042</msg:MessageID>", "HCEM REQ</msg:MessageID>"),
        "/RequestResource/MessageID",
        "whitespace",
    ),
    (
        "missing ContactInformation",
        _swap(
            COMMIT, "<ContactInformation>\n    <rm:ContactRole>Approver</rm:ContactRole>\n  </ContactInformation>", ""
        ),
        "/CommitResource/ContactInformation",
        "missing",
    ),
    (
        "missing ResourceInformation",
        _swap(
            COMMIT,
            COMMIT.decode()[
                COMMIT.decode().index("<ResourceInformation>") : COMMIT.decode().index("</CommitResource>")
            ],
            "",
        ),
        "/CommitResource/ResourceInformation",
        "missing",
    ),
    (
        "response without OriginatingMessageID",
        _swap(RESPONSE, "<OriginatingMessageID>HCEM-REQ-2026-0042</OriginatingMessageID>", ""),
        "/ResponseToRequestResource/OriginatingMessageID",
        "names the request it answers",
    ),
    (
        "commit without OriginatingMessageID",
        _swap(COMMIT, "<OriginatingMessageID>HCEM-REQ-2026-0042</OriginatingMessageID>", ""),
        "/CommitResource/OriginatingMessageID",
        "missing",
    ),
    (
        "response without ResponseInformation",
        _swap(
            RESPONSE,
            RESPONSE.decode()[RESPONSE.decode().index("<ResponseInformation>") : RESPONSE.decode().index("<Resource>")],
            "",
        ),
        "/ResponseToRequestResource/ResourceInformation[1]/ResponseInformation",
        "answers each resource line",
    ),
    (
        "request without a resource type",
        _swap(
            REQUEST,
            REQUEST.decode()[REQUEST.decode().index("<msg:TypeStructure>") : REQUEST.decode().index("<msg:Keyword>")],
            "",
        ),
        "/RequestResource/ResourceInformation[1]/Resource/TypeStructure",
        "which type of resource",
    ),
    (
        "bad SentDateTime",
        _swap(REQUEST, "2026-05-01T14:30:00-07:00", "2026-05-01 14:30"),
        "/RequestResource/SentDateTime",
        "not a date-time",
    ),
    (
        "SentDateTime in Z",
        _swap(REQUEST, "2026-05-01T14:30:00-07:00", "2026-05-01T21:30:00Z"),
        "/RequestResource/SentDateTime",
        "numeric offset",
    ),
    (
        "SentDateTime without an offset",
        _swap(REQUEST, "2026-05-01T14:30:00-07:00", "2026-05-01T14:30:00"),
        "/RequestResource/SentDateTime",
        "time-zone offset",
    ),
    (
        "SentDateTime that is not a real date",
        _swap(REQUEST, "2026-05-01T14:30:00-07:00", "2026-02-30T14:30:00-07:00"),
        "/RequestResource/SentDateTime",
        "not a real date",
    ),
    (
        "schedule DateTime out of range offset",
        _swap(REQUEST, "2026-05-01T18:00:00-07:00", "2026-05-01T18:00:00+15:00"),
        "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/DateTime",
        "offset",
    ),
    (
        "MessageContentType does not match the message",
        _swap(REQUEST, "<msg:MessageContentType>RequestResource", "<msg:MessageContentType>CommitResource"),
        "/RequestResource/MessageContentType",
        "MessageContentType",
    ),
    (
        "bad ResponseType",
        _swap(RESPONSE, "<rm:ResponseType>Conditional", "<rm:ResponseType>Maybe"),
        "/ResponseToRequestResource/ResourceInformation[1]/ResponseInformation/ResponseType",
        "'Maybe' is not a valid ResponseType",
    ),
    (
        "bad ScheduleType",
        _swap(REQUEST, "<msg:ScheduleType>RequestedArrival", "<msg:ScheduleType>Soonish"),
        "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/ScheduleType",
        "ScheduleType",
    ),
    (
        "bad ContactRole",
        _swap(REQUEST, "<rm:ContactRole>Requester", "<rm:ContactRole>Boss"),
        "/RequestResource/ContactInformation[1]/ContactRole",
        "ContactRole",
    ),
    (
        "contact without a role",
        _swap(REQUEST, "<rm:ContactRole>Requester</rm:ContactRole>", ""),
        "/RequestResource/ContactInformation[1]/ContactRole",
        "role of every contact",
    ),
    (
        "quantity not a number",
        _swap(REQUEST, "<rm:Amount>2</rm:Amount>", "<rm:Amount>two</rm:Amount>"),
        "/RequestResource/ResourceInformation[1]/AssignmentInformation/Quantity/MeasuredQuantity/Amount",
        "not a number",
    ),
    (
        "negative quantity",
        _swap(REQUEST, "<rm:Amount>2</rm:Amount>", "<rm:Amount>-2</rm:Amount>"),
        "/RequestResource/ResourceInformation[1]/AssignmentInformation/Quantity/MeasuredQuantity/Amount",
        "negative",
    ),
    (
        "elements out of order",
        _swap(
            _swap(REQUEST, "<msg:MessageID>HCEM-REQ-2026-0042</msg:MessageID>", ""),
            "<msg:MessageContentType>",
            "<msg:MessageID>HCEM-REQ-2026-0042</msg:MessageID><msg:MessageContentType>",
        ),
        "/RequestResource/MessageID",
        "out of order",
    ),
    (
        "schedule elements out of order",
        _swap(
            _swap(REQUEST, "<msg:DateTime>2026-05-01T18:00:00-07:00</msg:DateTime>", ""),
            "<msg:ScheduleType>RequestedArrival</msg:ScheduleType>",
            "<msg:DateTime>2026-05-01T18:00:00-07:00</msg:DateTime><msg:ScheduleType>RequestedArrival</msg:ScheduleType>",
        ),
        "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/ScheduleType",
        "out of order",
    ),
    (
        "a duplicated MessageID",
        _swap(REQUEST, "</msg:MessageID>", "</msg:MessageID><msg:MessageID>again</msg:MessageID>"),
        "/RequestResource/MessageID[2]",
        "at most 1",
    ),
    (
        "an element EDXL-RM does not have",
        _swap(REQUEST, "</msg:MessageDescription>", "</msg:MessageDescription><msg:Priority>high</msg:Priority>"),
        "/RequestResource/Priority[1]",
        "not allowed in <RequestResource>",
    ),
    (
        "ResponseInformation inside a request",
        _swap(
            REQUEST,
            "<msg:ResourceInfoElementID>1</msg:ResourceInfoElementID>",
            "<msg:ResourceInfoElementID>1</msg:ResourceInfoElementID><msg:ResponseInformation/>",
        ),
        "/RequestResource/ResourceInformation[1]/ResponseInformation[1]",
        "not allowed in <ResourceInformation>",
    ),
    (
        "Funding before IncidentInformation is out of order",
        _swap(
            REQUEST,
            "<msg:IncidentInformation>",
            "<msg:Funding><rm:FundCode>X</rm:FundCode></msg:Funding><msg:IncidentInformation>",
        ),
        "/RequestResource/IncidentInformation",
        "out of order",
    ),
    (
        "Funding in its place is still refused, not dropped",
        _swap(
            REQUEST,
            "<msg:ContactInformation>",
            "<msg:Funding><rm:FundCode>X</rm:FundCode></msg:Funding><msg:ContactInformation>",
        ),
        "/RequestResource/Funding[1]",
        "Accord does not carry it",
    ),
    (
        "QuantityText instead of a measured quantity",
        _swap(
            REQUEST,
            REQUEST.decode()[
                REQUEST.decode().index("<rm:MeasuredQuantity>") : REQUEST.decode().index("</msg:Quantity>")
            ],
            "<rm:QuantityText>a couple</rm:QuantityText>",
        ),
        "/RequestResource/ResourceInformation[1]/AssignmentInformation/Quantity/QuantityText[1]",
        "Accord does not carry it",
    ),
    (
        "two resource types",
        _swap(REQUEST, "<rm:Value>swiftwater_rescue_team</rm:Value>", "<rm:Value>a</rm:Value><rm:Value>b</rm:Value>"),
        "/RequestResource/ResourceInformation[1]/Resource/TypeStructure/Value[2]",
        "one resource type",
    ),
    (
        "an attribute",
        _swap(REQUEST, "<msg:MessageID>", '<msg:MessageID lang="en">'),
        "/RequestResource/MessageID",
        "attribute 'lang'",
    ),
    (
        "text between elements",
        _swap(REQUEST, "</msg:MessageID>", "</msg:MessageID>stray"),
        "/RequestResource",
        "text is not allowed",
    ),
    (
        "a point outside the world",
        _swap(REQUEST, "45.5231 -122.6765", "95.5 -122.6765"),
        "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/Location/TargetArea/Point/pos",
        "latitude",
    ),
    (
        "a point that is not two numbers",
        _swap(REQUEST, "45.5231 -122.6765", "north"),
        "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/Location/TargetArea/Point/pos",
        "'lat lon'",
    ),
    (
        "an empty Location",
        _swap(
            COMMIT,
            "<Location><rm:LocationDescription>Mill Creek fairgrounds, gate B</rm:LocationDescription></Location>",
            "<Location/>",
        ),
        "/CommitResource/ResourceInformation[1]/ScheduleInformation[2]/Location",
        "LocationDescription or a TargetArea",
    ),
    (
        "two resource lines with one ID",
        _swap(
            COMMIT,
            "</ResourceInformation>",
            "</ResourceInformation><ResourceInformation><ResourceInfoElementID>1</ResourceInfoElementID></ResourceInformation>",
        ),
        "/CommitResource/ResourceInformation[2]/ResourceInfoElementID",
        "unique",
    ),
    (
        "not well-formed",
        REQUEST[:-40],
        "/",
        "not well-formed",
    ),
]


@pytest.mark.parametrize(("document", "path", "word"), [case[1:] for case in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_invalid_messages_are_refused_naming_the_element_and_the_reason(document: bytes, path: str, word: str) -> None:
    problems = validate_rm(document)
    assert problems, "the message was accepted"
    assert any(problem.path == path and word in problem.reason for problem in problems), problems
    with pytest.raises(RmInvalid) as caught:
        parse_rm(document)
    assert caught.value.problems == problems
    assert str(caught.value).startswith(f"{problems[0].path}: {problems[0].reason}")


def test_rm_invalid_is_a_value_error_and_names_the_first_problem() -> None:
    error = RmInvalid([RmProblem("/RequestResource/MessageID", "must not be empty"), RmProblem("/x", "y")])
    assert isinstance(error, ValueError)
    assert str(error) == "/RequestResource/MessageID: must not be empty (and 1 more)"


def test_only_bytes_are_read() -> None:
    with pytest.raises(TypeError):
        validate_rm(REQUEST.decode())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- hostile documents


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    secret = "TOP-SECRET-EDXL-RM-7731"
    path = tmp_path / "secret.txt"
    path.write_text(secret)
    return path, secret


def _with_description(text: str) -> str:
    return REQUEST.decode().split("\n", 1)[1].replace("Mill Creek flooding: swift-water rescue needed", text)


def test_external_entities_are_refused_and_nothing_is_read(secret_file: tuple[Path, str]) -> None:
    path, secret = secret_file
    body = _with_description("&x;")
    for dtd in (
        f'<!DOCTYPE msg:RequestResource [<!ENTITY x SYSTEM "{path.as_uri()}">]>',
        f'<!DOCTYPE msg:RequestResource [<!ENTITY x SYSTEM "{path}">]>',
        '<!DOCTYPE msg:RequestResource [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>',
    ):
        data = f'<?xml version="1.0"?>\n{dtd}\n{body}'.encode()
        problems = validate_rm(data)
        assert [p.path for p in problems] == ["/"]
        assert "DOCTYPE" in problems[0].reason
        assert secret not in str(problems)
        with pytest.raises(RmInvalid, match="DOCTYPE"):
            parse_rm(data)


def test_parameter_entities_external_dtds_and_utf16_doctypes_are_refused(secret_file: tuple[Path, str]) -> None:
    path, secret = secret_file
    body = _with_description("plain")
    documents = [
        f'<!DOCTYPE msg:RequestResource [<!ENTITY % p SYSTEM "{path.as_uri()}"> %p;]>{body}'.encode(),
        f'<!DOCTYPE msg:RequestResource SYSTEM "{path.as_uri()}">{body}'.encode(),
        f"<!DOCTYPE msg:RequestResource>{body}".encode(),
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE msg:RequestResource [<!ENTITY x SYSTEM "{path.as_uri()}">]>{body}'.encode(
            "utf-16"
        ),
    ]
    for data in documents:
        problems = validate_rm(data)
        assert problems and problems[0].path == "/" and "DOCTYPE" in problems[0].reason, problems
        assert secret not in str(problems)


def test_billion_laughs_is_refused_quickly() -> None:
    entities = '<!ENTITY a0 "ha">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    data = f"<!DOCTYPE msg:RequestResource [{entities}]>{_with_description('&a9;')}".encode()
    started = time.perf_counter()
    problems = validate_rm(data)
    assert time.perf_counter() - started < 1.0
    assert problems[0].path == "/" and "DOCTYPE" in problems[0].reason


def test_documents_over_the_size_limit_are_refused_before_parsing() -> None:
    padding = b"<!--" + b"x" * MAX_DOCUMENT_BYTES + b"-->"
    data = REQUEST.replace(b"<msg:RequestResource", padding + b"\n<msg:RequestResource", 1)
    problems = validate_rm(data)
    assert len(problems) == 1
    assert problems[0].path == "/" and "at most 1048576 bytes" in problems[0].reason
    # Even a document that is not XML at all is refused on size alone, without being parsed.
    assert "1 MiB" in validate_rm(b"\0" * (MAX_DOCUMENT_BYTES + 1))[0].reason
    # A valid message just under the limit is read.
    fill = MAX_DOCUMENT_BYTES - len(REQUEST) - 10
    assert validate_rm(REQUEST.replace(b"-->", b"-->" + b"<!--" + b"y" * fill + b"-->", 1)) == []


def test_deeply_nested_documents_are_refused() -> None:
    depth = 5000
    data = ("<a>" * depth + "</a>" * depth).encode()
    problems = validate_rm(data)
    assert problems and problems[0].path == "/"


# --------------------------------------------------------------------------- the builder refuses


def _minimal(**changes: object) -> RmMessage:
    message = RmMessage(
        kind="RequestResource",
        message_id="m-1",
        sent_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        contacts=(RmContact(role="Requester"),),
        resources=(RmResource(element_id="1", type_value="t", type_list_urn="urn:x:t"),),
    )
    return replace(message, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "path", "word"),
    [
        (_minimal(sent_at=datetime(2026, 5, 1, 12, 0)), "/RequestResource/SentDateTime", "naive"),
        (_minimal(message_id=""), "/RequestResource/MessageID", "must not be empty"),
        (_minimal(message_id="two words"), "/RequestResource/MessageID", "whitespace"),
        (_minimal(kind="RequestQuote"), "/", "not a message kind"),
        (_minimal(contacts=()), "/RequestResource/ContactInformation", "missing"),
        (_minimal(resources=()), "/RequestResource/ResourceInformation", "missing"),
        (_minimal(contacts=(RmContact(role="Chief"),)), "/RequestResource/ContactInformation[1]/ContactRole", "Chief"),
        (
            _minimal(kind="ResponseToRequestResource"),
            "/ResponseToRequestResource/OriginatingMessageID",
            "missing",
        ),
        (
            _minimal(resources=(RmResource(element_id="1", type_value="t"),)),
            "/RequestResource/ResourceInformation[1]/Resource/TypeStructure",
            "value list",
        ),
        (
            _minimal(
                resources=(RmResource(element_id="1", type_value="t", type_list_urn="u", quantity=Decimal("NaN")),)
            ),
            "/RequestResource/ResourceInformation[1]/AssignmentInformation/Quantity/MeasuredQuantity/Amount",
            "finite",
        ),
        (
            _minimal(
                resources=(
                    RmResource(
                        element_id="1",
                        type_value="t",
                        type_list_urn="u",
                        schedules=(RmSchedule("RequestedArrival", at=datetime(2026, 5, 1)),),
                    ),
                )
            ),
            "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/DateTime",
            "naive",
        ),
        (
            _minimal(
                resources=(
                    RmResource(element_id="1", type_value="t", type_list_urn="u", schedules=(RmSchedule("Later"),)),
                )
            ),
            "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/ScheduleType",
            "Later",
        ),
        (_minimal(description="bell \x07"), "/RequestResource/MessageDescription", "XML cannot carry"),
        (
            _minimal(
                resources=(
                    RmResource(
                        element_id="1",
                        type_value="t",
                        type_list_urn="u",
                        schedules=(RmSchedule("Current", point=(200.0, 10.0)),),
                    ),
                )
            ),
            "/RequestResource/ResourceInformation[1]/ScheduleInformation[1]/Location/TargetArea/Point/pos",
            "longitude",
        ),
    ],
)
def test_the_builder_refuses_what_it_cannot_write_validly(message: RmMessage, path: str, word: str) -> None:
    with pytest.raises(RmInvalid) as caught:
        build_rm(message)
    assert any(p.path == path and word in p.reason for p in caught.value.problems), caught.value.problems


# --------------------------------------------------------------------------- property: build -> parse

_xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\n\t <>&\"'"),
    min_size=1,
    max_size=20,
).filter(lambda s: bool(s.strip(" \t\n\r")))
_token = st.text(string.ascii_letters + string.digits + "-_.:@/", min_size=1, max_size=16)
_urn = _token.map(lambda s: f"urn:x:{s}")
_offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets)
_points = st.tuples(st.floats(-180, 180, allow_nan=False), st.floats(-90, 90, allow_nan=False))
_quantities = st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False, places=4)


def _opt(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


_schedules = st.builds(
    RmSchedule,
    kind=st.sampled_from(SCHEDULE_TYPES),
    at=_opt(_times),
    location_description=_opt(_xml_text),
    point=_opt(_points),
)
_contacts = st.builds(
    RmContact,
    role=st.sampled_from(CONTACT_ROLES),
    name=_opt(_xml_text),
    organisation=_opt(_xml_text),
    email=_opt(_xml_text),
    phone=_opt(_xml_text),
    description=_opt(_xml_text),
)


@st.composite
def _resources(draw: st.DrawFn, kind: str) -> RmResource:
    typed = kind == "RequestResource" or draw(st.booleans())
    quantity = draw(_opt(_quantities))
    response = None
    if kind == "ResponseToRequestResource" or (kind == "CommitResource" and draw(st.booleans())):
        response = RmResponse(
            preceding_element_id=draw(_token),
            response_type=draw(st.sampled_from(RESPONSE_TYPES)),
            reason_code=draw(_opt(_xml_text)),
            reason=draw(_opt(_xml_text)),
        )
    return RmResource(
        element_id=draw(_token),
        type_value=draw(_xml_text) if typed else None,
        type_list_urn=draw(_urn) if typed else None,
        name=draw(_opt(_xml_text)),
        resource_id=draw(_opt(_xml_text)),
        description=draw(_opt(_xml_text)),
        keywords=tuple(draw(st.lists(_xml_text, max_size=3))),
        quantity=quantity,
        unit_of_measure=None if quantity is None else draw(_opt(_xml_text)),
        anticipated_function=draw(_opt(_xml_text)),
        restrictions=draw(_opt(_xml_text)),
        order_id=draw(_opt(_xml_text)),
        response=response,
        schedules=tuple(draw(st.lists(_schedules, max_size=3))),
    )


@st.composite
def _messages(draw: st.DrawFn) -> RmMessage:
    kind = draw(st.sampled_from(["RequestResource", "ResponseToRequestResource", "CommitResource"]))
    resources = draw(st.lists(_resources(kind), min_size=1, max_size=3, unique_by=lambda r: r.element_id))
    threaded = kind != "RequestResource"
    incident = draw(st.booleans())
    return RmMessage(
        kind=kind,  # type: ignore[arg-type]
        message_id=draw(_token),
        sent_at=draw(_times),
        resources=tuple(resources),
        contacts=tuple(draw(st.lists(_contacts, min_size=1, max_size=3))),
        description=draw(_opt(_xml_text)),  # type: ignore[arg-type]
        originating_message_id=draw(_token) if threaded else draw(_opt(_token)),  # type: ignore[arg-type]
        preceding_message_id=draw(_opt(_token)),  # type: ignore[arg-type]
        incident_id=draw(_opt(_xml_text)) if incident else None,  # type: ignore[arg-type]
        incident_description=draw(_opt(_xml_text)) if incident else None,  # type: ignore[arg-type]
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=_messages())
def test_build_then_parse_gives_back_the_same_message(message: RmMessage) -> None:
    data = build_rm(message)
    assert validate_rm(data) == []
    back = parse_rm(data)
    assert back == message
    # Same instants written with the same offsets, so the text is stable too.
    assert build_rm(back) == data


def test_namespaces_are_the_oasis_ones() -> None:
    assert RM_NS == "urn:oasis:names:tc:emergency:EDXL:RM:1.0"
    assert RM_MSG_NS == "urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg"
