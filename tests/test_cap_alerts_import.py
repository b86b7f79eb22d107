"""CAP alerts in (issue 5, part 7): files, XML bodies, URLs and Atom/RSS feeds become
incident reports of the importing agency; duplicates, updates and cancellations; refusals
that name the CAP element and the reason; hostile XML and hostile servers; round trips of
what Accord itself publishes. URLs are served by a local HTTP server started here."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from accord.formats.cap import parse_cap
from accord.operations.alerts import mapping
from accord.operations.alerts.sources import FetchFailed, fetch
from tests.conftest import assert_error
from tests.test_cap_alerts import make_world, open_incident, publish, served

DATA = Path(__file__).resolve().parents[1] / "src" / "accord" / "operations" / "alerts" / "data"
FLOOD = (DATA / "flood-warning.xml").read_bytes()
GAUGE = (DATA / "river-gauge-advisory.xml").read_bytes()
XML = {"content-type": "application/xml"}


def variant(data: bytes = FLOOD, **changes: str) -> bytes:
    """The sample flood warning with some elements replaced (``msgType="Update"``), or
    ``references`` inserted after ``<scope>``."""
    text_ = data.decode()
    identifier = changes.pop("identifier", None) or f"TEST-{uuid.uuid4().hex[:10]}"
    text_ = text_.replace(
        "<identifier>urn:oid:2.49.0.1.840.0.7c1e5a0f3b2d.001.1</identifier>", f"<identifier>{identifier}</identifier>"
    )
    references = changes.pop("references", None)
    if references:
        text_ = text_.replace("<code>", f"<references>{references}</references>\n  <code>", 1)
        text_ = text_.replace("<references>", "<code>IPAWSv1.0</code>\n  <references>", 1).replace(
            "</references>\n  <code>IPAWSv1.0</code>", "</references>", 1
        )
    for element, value in changes.items():
        start, end = text_.index(f"<{element}>"), text_.index(f"</{element}>")
        text_ = text_[: start + len(element) + 2] + value + text_[end:]
    return text_.encode()


def _refs(data: bytes) -> str:
    alert = parse_cap(data)
    return f"{alert.sender},{alert.identifier},{alert.sent.isoformat()}"


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    return make_world(app, session_factory)


# --- a local HTTP server --------------------------------------------------------------


class Site:
    """Routes of the local server: path -> (status, headers, body, delay seconds)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        self.hits: list[str] = []
        self.base = ""

    def put(self, path: str, body: bytes, status: int = 200, delay: float = 0.0, **headers: str) -> str:
        self.routes[path] = (status, {k.replace("_", "-"): v for k, v in headers.items()}, body, delay)
        return self.base + path


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    routes = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.hits.append(self.path)
            status, headers, body, delay = routes.routes.get(self.path, (404, {}, b"not here", 0.0))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if delay:  # a slow drip: headers at once, then one byte at a time
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    time.sleep(delay)
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                return
            if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    routes.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield routes
    server.shutdown()
    server.server_close()


def do_import(
    client: Any, world: dict[str, Any], data: bytes | None = None, who: str = "commander", **json_body: Any
) -> Any:
    headers = world["people"][who][0]
    if data is not None:
        return client.post("/api/v1/alerts/import", content=data, headers=headers | XML)
    return client.post("/api/v1/alerts/import", json=json_body, headers=headers)


def imported(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- alerts ---------------------------------------------------------------------------


def test_a_cap_file_becomes_an_incident_report_of_the_importing_agency(client, world, db):
    data = variant()
    report = imported(do_import(client, world, data))
    assert report["kind"] == "alert" and report["agency_id"] == str(world["ids"]["LEAD"])
    result = report["results"][0]
    assert result["outcome"] == "imported" and result["identifier"] == parse_cap(data).identifier
    headers = world["people"]["commander"][0]
    incident = client.get(f"/api/v1/incidents/{result['incident_id']}", headers=headers).json()
    assert incident["status"] == "reported" and incident["lead_agency_id"] == str(world["ids"]["LEAD"])
    assert incident["type"] == "flood" and incident["severity"] == "severe" and incident["tier"] == "CLEAR"
    assert incident["name"] == "Flood Warning for the Harrow River at Harrowgate until Monday morning"
    assert incident["summary"].startswith("The Harrow River at Harrowgate is expected to rise")
    assert "Instruction: Turn around, don't drown" in incident["summary"]
    ring = incident["area"]["coordinates"][0][0]
    assert incident["area"]["type"] == "MultiPolygon" and [-76.861, 40.936] in ring  # [lon, lat]
    lon, lat = incident["location"]["coordinates"]
    assert -76.87 < lon < -76.70 and 40.86 < lat < 40.96
    assert incident["started_at"].startswith("2026-12-05T19:12:00")
    sources = client.get(f"/api/v1/incidents/{result['incident_id']}/alert-sources", headers=headers).json()
    assert [(s["sender"], s["msg_type"], s["outcome"]) for s in sources] == [
        ("w-nws.webmaster@weather.example", "Alert", "imported")
    ]
    import hashlib

    assert sources[0]["xml_sha256"] == hashlib.sha256(data).hexdigest()
    db.rollback()
    audit = db.execute(
        text("SELECT action, outcome FROM audit_events WHERE object_id = :id ORDER BY seq"),
        {"id": result["incident_id"]},
    ).all()
    assert [tuple(a) for a in audit] == [
        ("operations.incident.create", "success"),
        ("operations.alert.import", "success"),
    ]
    kinds = (
        db.execute(
            text(
                "SELECT kind FROM event_outbox WHERE payload LIKE :p ORDER BY id"
                if db.get_bind().dialect.name == "sqlite"
                else "SELECT kind FROM event_outbox WHERE payload->>'incident_id' = :p ORDER BY id"
            ),
            {"p": f"%{result['incident_id']}%" if db.get_bind().dialect.name == "sqlite" else result["incident_id"]},
        )
        .scalars()
        .all()
    )
    assert "incident_alert.imported" in kinds


def test_the_same_alert_twice_is_a_duplicate_an_update_changes_the_report_and_a_cancel_closes_it(client, world):
    first = variant()
    report = imported(do_import(client, world, first))["results"][0]
    again = imported(do_import(client, world, first))["results"][0]
    assert again["outcome"] == "duplicate" and again["incident_id"] == report["incident_id"]
    update = variant(
        msgType="Update",
        references=_refs(first),
        severity="Extreme",
        description="Crest now expected at 21 feet.",
        polygon="40.95,-76.90 40.96,-76.70 40.85,-76.70 40.95,-76.90",
    )
    changed = imported(do_import(client, world, update))["results"][0]
    assert changed["outcome"] == "updated" and changed["incident_id"] == report["incident_id"]
    headers = world["people"]["commander"][0]
    incident = client.get(f"/api/v1/incidents/{report['incident_id']}", headers=headers).json()
    assert incident["severity"] == "extreme" and incident["summary"].startswith("Crest now expected at 21 feet.")
    assert [-76.9, 40.95] in incident["area"]["coordinates"][0][0]
    cancel = variant(msgType="Cancel", references=f"{_refs(first)} {_refs(update)}")
    closed = imported(do_import(client, world, cancel))["results"][0]
    assert closed["outcome"] == "cancelled"
    incident = client.get(f"/api/v1/incidents/{report['incident_id']}", headers=headers).json()
    assert incident["status"] == "closed"
    sources = client.get(f"/api/v1/incidents/{report['incident_id']}/alert-sources", headers=headers).json()
    assert [s["outcome"] for s in sources] == ["imported", "updated", "cancelled"]


def test_an_update_of_an_alert_never_seen_opens_a_report_and_a_cancel_of_one_is_refused(client, world):
    unknown = "someone@else.example,NEVER-SEEN,2026-12-01T00:00:00-00:00"
    opened = imported(do_import(client, world, variant(msgType="Update", references=unknown)))["results"][0]
    assert opened["outcome"] == "imported" and "opens a new report" in opened["notes"][0]
    refused = do_import(client, world, variant(msgType="Cancel", references=unknown))
    error = assert_error(refused, 422, "invalid")
    assert error["fields"][0]["field"] == "/alert/references" and "nothing to cancel" in error["fields"][0]["reason"]


def test_scope_decides_the_tier_and_exercise_and_unknown_severity_are_marked(client, world):
    restricted = variant(scope="Restricted", status="Exercise", severity="Unknown").replace(
        b"<code>", b"<restriction>EMA partners only</restriction>\n  <code>", 1
    )
    result = imported(do_import(client, world, restricted))["results"][0]
    assert result["outcome"] == "imported", result
    incident = client.get(f"/api/v1/incidents/{result['incident_id']}", headers=world["people"]["commander"][0]).json()
    assert incident["tier"] == "AMBER" and incident["severity"] == "moderate"
    assert incident["name"].startswith("EXERCISE: ")
    assert_error(
        client.get(f"/api/v1/incidents/{result['incident_id']}", headers=world["people"]["stranger"][0]),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (variant(event=""), "/alert/info/event", "must not be empty"),
        (variant(severity="Bad"), "/alert/info/severity", "not a valid severity"),
        (variant(polygon="40.9,-76.8 40.95,-76.7 40.85,-76.7 40.91,-76.8"), "/alert/info/area/polygon", "not closed"),
        (variant(sent="2026-12-05T14:12:00Z"), "/alert/sent", "ends in 'Z'"),
        (variant(status="Test"), "/alert/status", "not incident reports"),
        (
            variant(msgType="Ack", references="a@b.example,X,2026-12-01T00:00:00-00:00"),
            "/alert/msgType",
            "reports nothing",
        ),
        (variant(msgType="Update"), "/alert/references", "required when msgType is Update"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>", "/alert", "namespace"),
        (b"<html><body>not an alert</body></html>", "/html", "neither a CAP 1.2 <alert> nor an Atom or RSS feed"),
        (b"<alert", "/", "not well-formed XML"),
        (b"", "/", "empty"),
    ],
    ids=["event", "severity", "polygon", "sent", "status", "ack", "references", "cap11", "html", "broken", "empty"],
)
def test_an_invalid_alert_is_refused_naming_the_element_and_the_reason(client, world, db, data, path, words):
    response = do_import(client, world, data)
    error = assert_error(response, 422, "invalid")
    fields = [(re.sub(r"\[1\]", "", p["field"]), p["reason"]) for p in error["fields"]]
    assert any(field == path and words in reason for field, reason in fields), error["fields"]
    db.rollback()
    refusal = db.execute(
        text(
            "SELECT details FROM audit_events WHERE action = 'operations.alert.import' AND outcome = 'failure' "
            "ORDER BY seq DESC LIMIT 1"
        )
    ).scalar_one()
    details = refusal if isinstance(refusal, dict) else json.loads(refusal)
    assert any(re.sub(r"\[1\]", "", p[0]) == path for p in details["problems"])


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>"""


def _hostile(site: Site) -> list[tuple[str, bytes, str, str]]:
    canary = site.put("/dtd-canary.dtd", b'<!ENTITY x "pwned">')
    return [
        ("billion laughs", BILLION_LAUGHS, "/", "DOCTYPE"),
        (
            "external entity",
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>',
            "/",
            "DOCTYPE",
        ),
        (
            "external DTD over the network",
            f'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "{canary}"><alert/>'.encode(),
            "/",
            "DOCTYPE",
        ),
        ("huge", b"<alert>" + b" " * (1024 * 1024) + b"</alert>", "/", "at most 1 MiB"),
        ("deeply nested", b"<alert>" + b"<a>" * 300 + b"</a>" * 300 + b"</alert>", "/", "nested more than 256 deep"),
    ]


def test_hostile_xml_is_refused_with_a_clear_reason_and_nothing_fetched(client, world, site):
    for name, data, path, words in _hostile(site):
        started = time.monotonic()
        response = do_import(client, world, data)
        error = assert_error(response, 422, "invalid")
        assert error["fields"][0]["field"] == path and words in error["fields"][0]["reason"], (name, error)
        assert time.monotonic() - started < 2, name
    assert "/dtd-canary.dtd" not in site.hits
    # The same documents served as a feed's linked alerts are refused per entry.
    for index, (_, data, _, _) in enumerate(_hostile(site)):
        site.put(f"/hostile-{index}.xml", data)
    entries = "".join(
        f'<entry><id>h{i}</id><title>h</title><updated>2026-12-05T00:00:00Z</updated><link href="/hostile-{i}.xml"/></entry>'
        for i in range(5)
    )
    feed = site.put("/hostile.atom", f'<feed xmlns="http://www.w3.org/2005/Atom">{entries}</feed>'.encode())
    report = imported(do_import(client, world, url=feed))
    assert [r["outcome"] for r in report["results"]] == ["refused"] * 5
    assert "/dtd-canary.dtd" not in site.hits


# --- URLs and feeds -------------------------------------------------------------------


def test_an_alert_is_imported_from_a_url_and_from_a_multipart_upload(client, world, site):
    data = variant()
    url = site.put(f"/alerts/{uuid.uuid4().hex}.xml", data, content_type="application/cap+xml")
    result = imported(do_import(client, world, url=url))["results"][0]
    assert result["outcome"] == "imported" and result["source_url"] == url
    other = variant()
    upload = client.post(
        "/api/v1/alerts/import",
        files={"file": ("alert.xml", other, "application/xml")},
        data={"agency_id": str(world["ids"]["LEAD"])},
        headers=world["people"]["commander"][0],
    )
    assert imported(upload)["results"][0]["outcome"] == "imported"


def test_an_atom_feed_reports_each_entry(client, world, site):
    linked, embedded, duplicate = variant(), variant(GAUGE), variant()
    imported(do_import(client, world, duplicate))
    site.put("/feed/one.xml", linked)
    site.put("/feed/dup.xml", duplicate)
    site.put("/feed/bad.xml", variant(urgency="Soon"))
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>t</id><title>t</title><updated>2026-12-05T00:00:00Z</updated>
<entry><id>1</id><title>linked</title><updated>2026-12-05T00:00:00Z</updated>
  <link rel="alternate" type="text/html" href="/somewhere.html"/><link rel="related" type="application/cap+xml" href="one.xml"/></entry>
<entry><id>2</id><title>embedded</title><updated>2026-12-05T00:00:00Z</updated>
  <content type="application/cap+xml">{embedded.decode().split("?>", 1)[1]}</content></entry>
<entry><id>3</id><title>duplicate</title><updated>2026-12-05T00:00:00Z</updated><link href="dup.xml"/></entry>
<entry><id>4</id><title>invalid</title><updated>2026-12-05T00:00:00Z</updated><link href="bad.xml"/></entry>
<entry><id>5</id><title>gone</title><updated>2026-12-05T00:00:00Z</updated><link href="gone.xml"/></entry>
<entry><id>6</id><title>nothing</title><updated>2026-12-05T00:00:00Z</updated></entry>
</feed>""".encode()
    feed = site.put("/feed/feed.atom", body, content_type="application/atom+xml")
    report = imported(do_import(client, world, url=feed))
    assert report["kind"] == "feed"
    outcomes = [(r["entry"], r["outcome"]) for r in report["results"]]
    assert outcomes == [
        ("entry 1", "imported"),
        ("entry 2", "imported"),
        ("entry 3", "duplicate"),
        ("entry 4", "refused"),
        ("entry 5", "refused"),
        ("entry 6", "refused"),
    ]
    assert report["counts"] == {"imported": 2, "updated": 0, "cancelled": 0, "duplicate": 1, "refused": 3}
    problems = {r["entry"]: r["problems"][0] for r in report["results"] if r["problems"]}
    assert problems["entry 4"]["path"] == "/alert/info[1]/urgency" and "'Soon'" in problems["entry 4"]["reason"]
    assert "HTTP 404" in problems["entry 5"]["reason"]
    assert problems["entry 6"] == {
        "path": "/feed/entry[6]",
        "reason": "the entry neither embeds a CAP alert nor links to one",
    }
    assert report["results"][0]["source_url"] == site.base + "/feed/one.xml"
    # The same feed uploaded: relative links without the feed's URL cannot be followed.
    uploaded = imported(do_import(client, world, body))
    assert uploaded["results"][1]["outcome"] == "duplicate"
    assert "relative URL" in uploaded["results"][0]["problems"][0]["reason"]


def test_an_rss_feed_with_enclosures_and_links(client, world, site):
    first, second = variant(), variant()
    one, two = site.put("/rss/1.xml", first), site.put("/rss/2.xml", second)
    body = f"""<rss version="2.0"><channel><title>t</title><link>{site.base}</link><description>d</description>
<item><title>one</title><link>{site.base}/page.html</link><enclosure url="{one}" length="1" type="application/cap+xml"/></item>
<item><title>two</title><link>{two}</link></item>
</channel></rss>""".encode()
    report = imported(do_import(client, world, body))
    assert [r["outcome"] for r in report["results"]] == ["imported", "imported"]
    assert [r["source_url"] for r in report["results"]] == [one, two]


def test_urls_accord_will_not_fetch_are_refused_naming_the_url(client, world, site):
    redirect_to_file = site.put("/to-file", b"", status=302, location="file:///etc/passwd")
    loop = site.put("/loop", b"", status=302, location="/loop")
    cases = [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://127.0.0.1/alert.xml", "only http and https"),
        ("http://user:secret@127.0.0.1/alert.xml", "user name or password"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        (redirect_to_file, "a redirect to has 'file:'"),
        (loop, "more than 5 redirects"),
        (site.base + "/missing.xml", "HTTP 404"),
        ("http://127.0.0.1:1/alert.xml", "could not fetch"),
    ]
    for url, words in cases:
        error = assert_error(do_import(client, world, url=url), 422, "invalid")
        assert error["fields"][0]["field"] == "url" and words in error["fields"][0]["reason"], (url, error)


def test_fetching_stops_at_the_size_and_time_limits(site):
    big = site.put("/big.xml", b"<a>" + b"x" * (1024 * 1024 + 10) + b"</a>")
    with pytest.raises(FetchFailed, match="at most 1 MiB"):
        fetch(big)
    chunked = site.put("/chunked.xml", b"x" * (64 * 1024), transfer_encoding="chunked")
    site.routes["/chunked.xml"] = (
        200,
        {"Transfer-Encoding": "chunked"},
        b"".join(b"%x\r\n" % 4096 + b"x" * 4096 + b"\r\n" for _ in range(9)) + b"0\r\n\r\n",
        0.0,
    )
    with pytest.raises(FetchFailed, match="larger than 32768 bytes; reading stopped"):
        fetch(chunked, max_bytes=32 * 1024)
    slow = site.put("/slow.xml", b"<alert>" + b" " * 40 + b"</alert>", delay=0.05)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="within 1 s"):
        fetch(slow, timeout=1.0)
    assert time.monotonic() - started < 2.5
    compressed = site.put("/gz.xml", b"\x1f\x8b", content_encoding="gzip")
    with pytest.raises(FetchFailed, match="compressed"):
        fetch(compressed)


# --- who may import -------------------------------------------------------------------


def test_who_may_import_and_for_which_agency(client, world):
    data = variant()
    assert_error(do_import(client, world, data, who="viewer"), 403, "forbidden")
    assert imported(do_import(client, world, variant(), who="analyst"))["results"][0]["outcome"] == "imported"
    other = client.post(
        f"/api/v1/alerts/import?agency_id={world['ids']['FAR']}",
        content=data,
        headers=world["people"]["commander"][0] | XML,
    )
    assert_error(other, 403, "forbidden")
    assert_error(client.post("/api/v1/alerts/import", content=data, headers=XML), 401, "unauthenticated")
    plain = client.post(
        "/api/v1/alerts/import", content=data, headers=world["people"]["commander"][0] | {"content-type": "text/plain"}
    )
    assert assert_error(plain, 415, "unsupported_media_type")["fields"][0]["field"] == "content-type"
    for body, field in [
        ({}, "url"),
        ({"url": "http://x", "surprise": 1}, "surprise"),
        ({"url": "x", "agency_id": "nope"}, "agency_id"),
    ]:
        error = assert_error(
            client.post("/api/v1/alerts/import", json=body, headers=world["people"]["commander"][0]), 422, "invalid"
        )
        assert any(field in p["field"] for p in error["fields"]), error
    empty = client.post(
        "/api/v1/alerts/import", files={"x": ("a", b"")}, data={}, headers=world["people"]["commander"][0]
    )
    assert assert_error(empty, 422, "invalid")["fields"][0]["field"] == "file"


# --- round trips ----------------------------------------------------------------------


def test_an_alert_accord_publishes_imports_back_as_the_same_report(client, world):
    incident = open_incident(client, world)
    alert = publish(client, world, incident, headline="Harrow River flood: River Road closed", severity="Extreme")
    xml = served(client, alert)
    result = imported(do_import(client, world, xml, who="stranger"))["results"][0]
    assert result["outcome"] == "imported" and result["sender"] == alert["sender"]
    report = client.get(f"/api/v1/incidents/{result['incident_id']}", headers=world["people"]["stranger"][0]).json()
    assert report["lead_agency_id"] == str(world["ids"]["FAR"])
    assert report["name"] == "Harrow River flood: River Road closed"
    assert (report["type"], report["severity"], report["tier"]) == ("flood", "extreme", "CLEAR")
    original = {tuple(p) for p in incident["area"]["coordinates"][0][0]}
    assert {tuple(p) for p in report["area"]["coordinates"][0][0]} == original


def test_accords_own_public_feed_imports_back_entry_by_entry(client, world, site):
    incident = open_incident(client, world)
    alert = publish(client, world, incident, headline="Round trip through the public feed")
    feed = client.get("/public/alerts.atom").content
    for entry_alert in parse_feed_ids(feed):
        site.put(f"/public/alerts/{entry_alert}.xml", client.get(f"/public/alerts/{entry_alert}.xml").content)
    site.put("/public/alerts.atom", feed.replace(b"http://testserver", site.base.encode()))
    report = imported(do_import(client, world, url=site.base + "/public/alerts.atom", who="stranger"))
    ours = [r for r in report["results"] if r["identifier"] == alert["identifier"]]
    assert len(ours) == 1 and ours[0]["outcome"] in ("imported", "duplicate")
    # Other tests' alerts are in the feed too: a cancellation of an alert this agency never
    # imported is the only refusal expected.
    refused = [(r["msg_type"], r["problems"][0]["path"]) for r in report["results"] if r["outcome"] == "refused"]
    assert set(refused) <= {("Cancel", "/alert/references")}, report


def parse_feed_ids(feed: bytes) -> list[str]:
    from lxml import etree

    root = etree.fromstring(feed)
    return [
        e.findtext("{http://www.w3.org/2005/Atom}id").split(":")[-1]
        for e in root.iter("{http://www.w3.org/2005/Atom}entry")
    ]


# --- mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "categories", "expected"),
    [
        ("Flood Warning", ("Met",), "flood"),
        ("Red Flag Warning", ("Fire",), "wildfire"),
        ("Hazardous Weather Outlook", ("Met",), "severe_weather"),
        ("Tornado Warning", ("Met",), "severe_weather"),
        ("Chemical spill", ("CBRNE",), "hazmat"),
        ("Boil Water Advisory", ("Health",), "utility_outage"),
        ("Child Abduction Emergency", ("Rescue",), "search_rescue"),
        ("Earthquake", ("Geo",), "other"),
        ("Something", ("Health",), "public_health_outbreak"),
        ("Something", ("Security",), "other"),
    ],
)
def test_incident_types_come_from_the_event_then_the_category(event, categories, expected):
    from accord.formats.cap import CapInfo

    info = CapInfo(categories=categories, event=event, urgency="Unknown", severity="Unknown", certainty="Unknown")
    assert mapping.incident_type_of(info) == expected


def test_circles_and_self_intersecting_polygons_become_a_valid_area():
    from accord.formats.cap import CapArea, CapCircle, CapInfo, CapPolygon
    from accord.geo.geojson import validate_area

    bowtie = CapPolygon(((40.0, -76.0), (40.1, -75.9), (40.0, -75.9), (40.1, -76.0), (40.0, -76.0)))
    info = CapInfo(
        categories=("Met",),
        event="Flood",
        urgency="Unknown",
        severity="Unknown",
        certainty="Unknown",
        areas=(CapArea("bowtie", polygons=(bowtie,)), CapArea("gauge", circles=(CapCircle(40.5, -76.5, 2.0),))),
    )
    place = mapping.place_of(info)
    assert validate_area(place.area)["type"] == "MultiPolygon"
    assert len(place.area["coordinates"]) == 3  # the bowtie's two halves and the circle
    assert "repaired" in place.notes[0]
    point = mapping.place_of(
        CapInfo(
            categories=("Met",),
            event="x",
            urgency="Unknown",
            severity="Unknown",
            certainty="Unknown",
            areas=(CapArea("pt", circles=(CapCircle(40.5, -76.5, 0),)),),
        )
    )
    assert point.area is None and point.location == {"type": "Point", "coordinates": [-76.5, 40.5]}


# --- command line ---------------------------------------------------------------------


def test_the_cli_imports_a_file_and_fails_clearly_on_bad_input(run_cli, world, tmp_path):
    path = tmp_path / "alert.xml"
    path.write_bytes(variant())
    done = run_cli("alerts", "import", str(path), "--agency", world["short"]["LEAD"])
    assert done.exit_code == 0, done.output
    assert "1 imported" in done.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(variant(event=""))
    refused = run_cli("alerts", "import", str(bad), "--agency", world["short"]["LEAD"])
    assert refused.exit_code == 1 and "/alert/info[1]/event" in refused.output
    missing = run_cli("alerts", "import", str(tmp_path / "nope.xml"), "--agency", world["short"]["LEAD"])
    assert missing.exit_code == 1 and "no such file" in missing.output
    nobody = run_cli("alerts", "import", str(path), "--agency", "NOSUCHAGENCY")
    assert nobody.exit_code == 1 and "no agency has this short name" in nobody.output


# --- the demo -------------------------------------------------------------------------


def test_the_demo_county_ema_has_two_reports_from_the_bundled_feed_and_seeding_again_adds_none(db, settings):
    from sqlalchemy import func, select

    from accord.directory.models import Agency
    from accord.operations.alerts.models import ImportedAlert
    from accord.operations.models import Incident
    from accord.seed_alerts import seed_alerts

    mcema = db.scalar(select(Agency.id).where(Agency.short_name == "MCEMA"))
    rows = db.execute(
        select(ImportedAlert.identifier, Incident.name, Incident.type, Incident.severity, Incident.status)
        .join(Incident, Incident.id == ImportedAlert.incident_id)
        .where(ImportedAlert.agency_id == mcema)
        .order_by(ImportedAlert.sent_at)
    ).all()
    assert [tuple(r) for r in rows] == [
        (
            "urn:oid:2.49.0.1.840.0.7c1e5a0f3b2d.001.1",
            "Flood Warning for the Harrow River at Harrowgate until Monday morning",
            "flood",
            "severe",
            "reported",
        ),
        ("HVWA-GAUGE-2026-0412", "Kettle Creek gauge at Lower Harrow above action stage", "flood", "minor", "reported"),
    ]
    seed_alerts(db, settings)
    db.commit()
    assert db.scalar(select(func.count()).where(ImportedAlert.agency_id == mcema)) == 2
