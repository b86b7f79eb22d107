"""CAP 1.2 codec: Accord's validator against the official OASIS schema, round trips, hardened parsing.

The corpus lives in ``tests/cap_corpus``: ``valid/`` holds real alerts of every message type;
each file in ``invalid/`` is a small mutation of one of them and says, in its leading comment,
which element Accord must name (``expect: PATH :: WORD``) and what the official XSD says about
it (``xsd: valid`` for the rules only the CAP specification states, ``xsd: invalid`` otherwise).
No database is used.
"""

from __future__ import annotations

import base64
import copy
import functools
import re
import string
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from accord.formats.cap import (
    CAP_NS,
    CAP_XSD_PATH,
    CapAlert,
    CapArea,
    CapCircle,
    CapInfo,
    CapInvalid,
    CapPolygon,
    CapReference,
    CapResource,
    CapValue,
    build_cap,
    parse_cap,
    validate_cap,
)

CORPUS = Path(__file__).parent / "cap_corpus"
VALID = sorted((CORPUS / "valid").glob("*.xml"))
INVALID = sorted((CORPUS / "invalid").glob("*.xml"))
EXPECT_RE = re.compile(rb"expect: (\S+) :: (.+?) ; xsd: (valid|invalid) -->")


@functools.cache
def official_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(CAP_XSD_PATH))


@pytest.fixture(scope="module")
def official() -> xmlschema.XMLSchema:
    return official_schema()


def xsd_accepts(schema: xmlschema.XMLSchema, data: bytes) -> bool:
    try:
        return bool(schema.is_valid(data))
    except xmlschema.XMLResourceError:  # not well-formed: the XSD cannot accept it either
        return False


def expectation(path: Path) -> tuple[str, str, bool]:
    match = EXPECT_RE.search(path.read_bytes())
    assert match, f"{path.name} has no 'expect: PATH :: WORD ; xsd: ...' comment"
    return match.group(1).decode(), match.group(2).decode(), match.group(3) == b"valid"


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_large_enough() -> None:
    assert len(VALID) >= 12
    assert len(INVALID) >= 25
    extra_rules = [p for p in INVALID if expectation(p)[2]]
    assert len(extra_rules) >= 12, "the corpus must exercise the rules the XSD cannot express"
    kinds = {parse_cap(p.read_bytes()).msg_type for p in VALID}
    assert {"Alert", "Update", "Cancel", "Ack", "Error"} <= kinds


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_documents_pass_both_validators_and_round_trip(path: Path, official: xmlschema.XMLSchema) -> None:
    data = path.read_bytes()
    assert xsd_accepts(official, data), [str(e) for e in official.iter_errors(data)]
    assert validate_cap(data) == []
    alert = parse_cap(data)
    built = build_cap(alert)
    assert built.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert official.is_valid(built), [str(e) for e in official.iter_errors(built)]
    assert parse_cap(built) == alert
    assert build_cap(parse_cap(built)) == built


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_documents_are_refused_naming_element_and_reason(path: Path, official: xmlschema.XMLSchema) -> None:
    data = path.read_bytes()
    where, word, xsd_says_valid = expectation(path)
    assert xsd_accepts(official, data) is xsd_says_valid, "the comment misstates what the official XSD says"
    problems = validate_cap(data)
    assert problems, "Accord accepted a document it must refuse"
    assert any(p.path == where and word.lower() in p.reason.lower() for p in problems), [str(p) for p in problems]
    with pytest.raises(CapInvalid) as caught:
        parse_cap(data)
    assert list(caught.value.problems) == problems
    assert where in str(caught.value)


def test_extra_rules_named_in_plain_english() -> None:
    """A few reasons in full: what a person fixing the alert reads."""
    problems = validate_cap((CORPUS / "invalid" / "polygon-unclosed.xml").read_bytes())
    assert [str(p) for p in problems] == [
        "/alert/info[1]/area[1]/polygon[1]: polygon is not closed: the last coordinate pair must repeat the first"
    ]
    problems = validate_cap((CORPUS / "invalid" / "time-sent-z.xml").read_bytes())
    assert problems[0].path == "/alert/sent"
    assert "-00:00" in problems[0].reason
    problems = validate_cap((CORPUS / "invalid" / "polygon-lon-lat-swapped.xml").read_bytes())
    assert all(p.path == "/alert/info[1]/area[1]/polygon[1]" for p in problems)
    assert "lon,lat" in problems[0].reason
    assert len(problems) == 4  # three pairs shown, the rest counted


def test_each_problem_is_reported_once_and_in_document_order() -> None:
    data = (CORPUS / "valid" / "01-tornado-warning.xml").read_bytes()
    data = data.replace(b"<msgType>Alert</msgType>", b'<msgType kind="x">Alarm</msgType>')
    data = data.replace(b"<severity>Extreme</severity>", b"<severity>Extreme<b/></severity>")
    assert [str(p) for p in validate_cap(data)] == [
        "/alert/msgType: attribute 'kind' is not allowed (CAP 1.2 elements carry no attributes)",
        "/alert/msgType: 'Alarm' is not a valid msgType; expected one of: Alert, Update, Cancel, Ack, Error",
        "/alert/info[1]/severity: must contain text only, not the element <b>",
    ]


# --------------------------------------------------------------------------- differential fuzzing

_SEEDS = [etree.fromstring(p.read_bytes()) for p in VALID]
_CAP_NAMES = sorted({etree.QName(el).localname for root in _SEEDS for el in root.iter(f"{{{CAP_NS}}}*")})
_TRICKY = [
    "",
    " ",
    "x",
    "Z",
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00-00:00",
    " 2024-01-01T00:00:00+14:00 ",
    "2024-01-01T24:00:00-00:00",
    "0000-01-01T00:00:00-00:00",
    "2024-13-01T00:00:00-00:00",
    "2023-02-29T00:00:00-00:00",
    "2024-01-01T00:00:00,00:00",
    "2024-01-01T00:00:00-14:30",
    "1e3",
    ".5",
    "5.",
    "+5",
    "-5",
    "١٢",
    "en-US",
    "en_US",
    " en ",
    "Actual",
    " Actual",
    "Update",
    "Cancel",
    "Restricted",
    "Private",
    "Met",
    "None",
    "1,2 3",
    "90,180 1",
    "-90.0,-180.0 0",
    "1,2 3,4 5,6 1,2",
    "a,b,c",
    "s,i,2024-01-01T00:00:00-00:00",
    "http://a b",
    "a&b",
    "a<b",
    "é",
]


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    root = copy.deepcopy(draw(st.sampled_from(_SEEDS)))
    elements = list(root.iter(f"{{{CAP_NS}}}*"))
    for _ in range(draw(st.integers(1, 2))):
        el = draw(st.sampled_from(elements))
        parent = el.getparent()
        op = draw(
            st.sampled_from(["text", "text", "remove", "duplicate", "swap", "attribute", "child", "rename", "tail"])
        )
        if op == "text" and not any(isinstance(c.tag, str) for c in el):
            el.text = draw(
                st.sampled_from(_TRICKY)
                | st.text(string.ascii_letters + string.digits + string.punctuation + " \n", max_size=12)
            )
        elif op == "remove" and parent is not None:
            parent.remove(el)
        elif op == "duplicate" and parent is not None:
            el.addnext(copy.deepcopy(el))
        elif op == "swap" and el.getprevious() is not None:
            el.getprevious().addprevious(el)
        elif op == "attribute":
            el.set("lang", "en")
        elif op == "child":
            etree.SubElement(el, f"{{{CAP_NS}}}{draw(st.sampled_from(_CAP_NAMES))}")
        elif op == "rename":
            el.tag = f"{{{CAP_NS}}}{draw(st.sampled_from(_CAP_NAMES))}"
        elif op == "tail" and parent is not None:
            el.tail = "stray"
        elements = list(root.iter(f"{{{CAP_NS}}}*"))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_documents())
def test_accord_is_never_looser_than_the_official_schema(data: bytes) -> None:
    official = official_schema()
    problems = validate_cap(data)
    if not xsd_accepts(official, data):
        assert problems, data.decode()
    if not problems:
        alert = parse_cap(data)
        assert parse_cap(build_cap(alert)) == alert


# --------------------------------------------------------------------------- model round trips

_xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\n\t <>&\"'"),
    max_size=24,
)
_words = _xml_text.filter(lambda s: bool(s.strip()))
_token = st.text(string.ascii_letters + string.digits + "-_.:@/", min_size=1, max_size=16)
_offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets).map(
    lambda value: value.replace(microsecond=0)
)
_lat = st.floats(-90, 90, allow_nan=False)
_lon = st.floats(-180, 180, allow_nan=False)
_pairs = st.lists(st.builds(CapValue, value_name=_xml_text, value=_xml_text), max_size=2).map(tuple)
_decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=-100000, max_value=100000, places=3)


@st.composite
def _polygons(draw: st.DrawFn) -> CapPolygon:
    points = draw(st.lists(st.tuples(_lat, _lon), min_size=3, max_size=6))
    return CapPolygon((*points, points[0]))


@st.composite
def _areas(draw: st.DrawFn) -> CapArea:
    altitude = draw(st.none() | _decimals)
    return CapArea(
        area_desc=draw(_words),
        polygons=tuple(draw(st.lists(_polygons(), max_size=2))),
        circles=tuple(draw(st.lists(st.builds(CapCircle, _lat, _lon, st.floats(0, 5000)), max_size=2))),
        geocodes=draw(_pairs),
        altitude=altitude,
        ceiling=None if altitude is None else draw(st.none() | _decimals),
    )


_resources = st.builds(
    CapResource,
    resource_desc=_words,
    mime_type=st.sampled_from(["image/png", "application/pdf", "text/html", "audio/mpeg"]),
    size=st.none() | st.integers(0, 10**12),
    uri=st.none() | _token | _token.map(lambda t: f"https://agency.example/{t}"),
    deref_uri=st.none() | st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode()),
    digest=st.none() | st.text("0123456789abcdef", min_size=40, max_size=40),
)


@st.composite
def _infos(draw: st.DrawFn) -> CapInfo:
    optional = st.none() | _xml_text
    return CapInfo(
        categories=tuple(draw(st.lists(st.sampled_from(["Geo", "Met", "Fire", "Health", "CBRNE"]), min_size=1))),
        event=draw(_words),
        urgency=draw(st.sampled_from(["Immediate", "Expected", "Future", "Past", "Unknown"])),
        severity=draw(st.sampled_from(["Extreme", "Severe", "Moderate", "Minor", "Unknown"])),
        certainty=draw(st.sampled_from(["Observed", "Likely", "Possible", "Unlikely", "Unknown"])),
        language=draw(st.none() | st.from_regex(r"\A[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}\Z")),
        response_types=tuple(draw(st.lists(st.sampled_from(["Shelter", "Evacuate", "AllClear", "None"]), max_size=2))),
        audience=draw(optional),
        event_codes=draw(_pairs),
        effective=draw(st.none() | _times),
        onset=draw(st.none() | _times),
        expires=draw(st.none() | _times),
        sender_name=draw(optional),
        headline=draw(optional),
        description=draw(optional),
        instruction=draw(optional),
        web=draw(st.none() | _token.map(lambda t: f"https://agency.example/{t}")),
        contact=draw(optional),
        parameters=draw(_pairs),
        resources=tuple(draw(st.lists(_resources, max_size=2))),
        areas=tuple(draw(st.lists(_areas(), max_size=2))),
    )


@st.composite
def cap_alerts(draw: st.DrawFn) -> CapAlert:
    msg_type = draw(st.sampled_from(["Alert", "Update", "Cancel", "Ack", "Error"]))
    scope = draw(st.sampled_from(["Public", "Restricted", "Private"]))
    token = _token.filter(lambda t: "," not in t)
    references = draw(
        st.lists(st.builds(CapReference, token, token, _times), min_size=0 if msg_type == "Alert" else 1, max_size=3)
    )
    return CapAlert(
        identifier=draw(token),
        sender=draw(token),
        sent=draw(_times),
        status=draw(st.sampled_from(["Actual", "Exercise", "System", "Test", "Draft"])),
        msg_type=msg_type,
        scope=scope,
        source=draw(st.none() | _xml_text),
        restriction=draw(_words if scope == "Restricted" else st.none() | _xml_text),
        addresses=draw(_words if scope == "Private" else st.none() | _xml_text),
        codes=tuple(draw(st.lists(_xml_text, max_size=2))),
        note=draw(st.none() | _xml_text),
        references=tuple(references),
        incidents=draw(st.none() | _xml_text),
        infos=tuple(draw(st.lists(_infos(), max_size=2))),
    )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(alert=cap_alerts())
def test_build_then_parse_round_trips_and_satisfies_the_official_schema(alert: CapAlert) -> None:
    official = official_schema()
    built = build_cap(alert)
    assert official.is_valid(built), [str(e) for e in official.iter_errors(built)]
    assert parse_cap(built) == alert
    assert build_cap(parse_cap(built)) == built


def test_utc_is_written_minus_zero_and_offsets_are_kept() -> None:
    alert = parse_cap((CORPUS / "valid" / "10-multilingual-flood.xml").read_bytes())
    built = build_cap(alert).decode()
    assert "<sent>2024-04-02T06:00:00-00:00</sent>" in built
    assert "<onset>2024-04-02T18:00:00-00:00</onset>" in built  # written +00:00, the same instant
    assert alert.sent == datetime(2024, 4, 2, 6, tzinfo=UTC)
    east = parse_cap((CORPUS / "valid" / "13-prefixed-and-whitespace.xml").read_bytes())
    assert east.sent.utcoffset() == timedelta(hours=14)
    assert east.infos[0].areas[0].altitude == Decimal("-12.50")
    assert east.infos[0].language == "en-GB"


def test_model_reads_the_pieces() -> None:
    alert = parse_cap((CORPUS / "valid" / "01-tornado-warning.xml").read_bytes())
    info = alert.infos[0]
    assert info.event_codes == (CapValue("SAME", "TOR"),)
    assert info.areas[0].geocodes[1] == CapValue("UGC", "PAC037")
    polygon = info.areas[0].polygons[0]
    assert polygon.points[0] == (40.95, -76.85) == polygon.points[-1]
    assert polygon.to_geojson()["coordinates"][0][0] == [-76.85, 40.95]  # GeoJSON is [lon, lat]
    cancel = parse_cap((CORPUS / "valid" / "03-tornado-cancel.xml").read_bytes())
    assert [r.identifier for r in cancel.references] == ["CCEMA-2024-0142", "CCEMA-2024-0143"]
    signed = parse_cap((CORPUS / "valid" / "12-signed.xml").read_bytes())
    assert len(signed.signatures) == 1 and b"SignatureValue" in signed.signatures[0]
    assert (
        parse_cap((CORPUS / "valid" / "15-utf16-health.xml").read_bytes())
        .infos[0]
        .description.endswith(  # type: ignore[union-attr]
            "“café” stall, 2 June."
        )
    )


def test_build_refuses_a_model_that_is_not_cap() -> None:
    base = parse_cap((CORPUS / "valid" / "05-hazmat-restricted.xml").read_bytes())
    info = base.infos[0]
    open_ring = CapPolygon(((40.0, -76.0), (40.1, -76.0), (40.1, -76.1), (40.0, -76.2)))
    with_info = lambda **changes: replace(base, infos=(replace(info, **changes),))  # noqa: E731
    cases: list[tuple[CapAlert, str, str]] = [
        (replace(base, sent=datetime(2024, 1, 1)), "/alert/sent", "aware"),
        (replace(base, restriction=None), "/alert/restriction", "Restricted"),
        (replace(base, identifier="has space"), "/alert/identifier", "space"),
        (replace(base, note="bell\x07"), "/alert/note", "XML"),
        (replace(base, status="Real"), "/alert/status", "status"),
        (replace(base, signatures=(b"<notasignature/>",)), "/alert/Signature[1]", "Signature"),
        (
            with_info(areas=(CapArea("Open ring", polygons=(open_ring,)),)),
            "/alert/info[1]/area[1]/polygon[1]",
            "closed",
        ),
        (
            with_info(effective=datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=UTC)),
            "/alert/info[1]/effective",
            "whole seconds",
        ),
        (
            with_info(areas=(CapArea("Far", circles=(CapCircle(0.0, 200.0, 1.0),)),)),
            "/alert/info[1]/area[1]/circle[1]",
            "longitude",
        ),
    ]
    for alert, where, word in cases:
        with pytest.raises(CapInvalid) as caught:
            build_cap(alert)
        assert any(p.path == where and word.lower() in p.reason.lower() for p in caught.value.problems), (
            where,
            [str(p) for p in caught.value.problems],
        )


# --------------------------------------------------------------------------- hardened parsing


def _assert_refused(data: bytes, *secrets: str) -> None:
    problems = validate_cap(data)
    assert len(problems) == 1 and problems[0].path == "/"
    assert "DOCTYPE" in problems[0].reason or "entity" in problems[0].reason.lower()
    with pytest.raises(CapInvalid) as caught:
        parse_cap(data)
    shown = str(caught.value) + repr(caught.value.problems)
    for secret in secrets:
        assert secret not in shown
        assert secret not in problems[0].reason


def _alert_with(identifier: str) -> str:
    return (
        f'<alert xmlns="{CAP_NS}"><identifier>{identifier}</identifier><sender>s</sender>'
        "<sent>2024-01-01T00:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType>"
        "<scope>Public</scope></alert>"
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    secret = "ACCORD-SECRET-" + "7f3a9c"
    path = tmp_path / "secret.txt"
    path.write_text(secret)
    return path, secret


def test_xxe_is_refused_and_nothing_is_read(secret_file: tuple[Path, str]) -> None:
    path, secret = secret_file
    for target in (path.as_uri(), "file:///etc/passwd"):
        data = f'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY x SYSTEM "{target}">]>\n{_alert_with("&x;")}'
        _assert_refused(data.encode(), secret, "root:")
    # the same in UTF-16, where a byte scan for "<!DOCTYPE" would miss it
    data16 = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE alert [<!ENTITY x SYSTEM "{path.as_uri()}">]>'
    _assert_refused((data16 + _alert_with("&x;")).encode("utf-16"), secret)


def test_parameter_entities_and_external_dtds_are_refused(secret_file: tuple[Path, str]) -> None:
    path, secret = secret_file
    body = _alert_with("a")
    documents = [
        f'<!DOCTYPE alert [<!ENTITY % p SYSTEM "{path.as_uri()}"> %p;]>{body}',
        f'<!DOCTYPE alert SYSTEM "{path.as_uri()}">{body}',
        f'<!DOCTYPE alert PUBLIC "-//Accord//CAP//EN" "http://127.0.0.1:9/cap.dtd">{body}',
        f"<!DOCTYPE alert>{body}",
    ]
    for document in documents:
        _assert_refused(document.encode(), secret)


def test_billion_laughs_is_refused_quickly() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    data = f'<?xml version="1.0"?><!DOCTYPE alert [{"".join(entities)}]>{_alert_with("&lol9;")}'.encode()
    started = time.perf_counter()
    _assert_refused(data)
    assert time.perf_counter() - started < 1.0


def test_broken_xml_and_wrong_input_types_are_clear() -> None:
    problems = validate_cap(b"<alert><identifier>unclosed</alert>")
    assert problems[0].path == "/" and "well-formed" in problems[0].reason
    with pytest.raises(CapInvalid, match="well-formed"):
        parse_cap(b"")
    with pytest.raises(TypeError):
        validate_cap("<alert/>")  # type: ignore[arg-type]


def test_official_schema_is_vendored_as_package_data() -> None:
    from importlib import resources

    vendored = resources.files("accord.formats") / "xsd" / "cap" / "CAP-v1.2.xsd"
    assert vendored.is_file()
    assert b'targetNamespace = "urn:oasis:names:tc:emergency:cap:1.2"' in vendored.read_bytes()
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"formats/xsd/**/*.xsd"' in pyproject
