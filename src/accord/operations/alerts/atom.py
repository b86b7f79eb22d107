"""The public Atom feed (RFC 4287) of published alerts: one entry per alert in force, each
linking to its CAP 1.2 document (``application/cap+xml``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from accord.operations.alerts.models import IncidentAlert

ATOM_NS = "http://www.w3.org/2005/Atom"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def alert_url(base_url: str, alert_id: object) -> str:
    return f"{base_url.rstrip('/')}/public/alerts/{alert_id}.xml"


def atom_feed(alerts: Sequence[IncidentAlert], *, base_url: str, title: str, now: datetime) -> bytes:
    base = base_url.rstrip("/")
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _sub(feed, "id", f"{base}/public/alerts.atom")
    _sub(feed, "title", title)
    _sub(feed, "subtitle", "Public CAP 1.2 alerts in force, newest first; each entry links to its CAP document.")
    _sub(feed, "updated", _when(max((a.sent_at for a in alerts), default=now)))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/public/alerts.atom")
    _sub(feed, "generator", "Accord")
    for alert in alerts:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:uuid:{alert.id}")
        prefix = {"Update": "Update: ", "Cancel": ""}.get(alert.msg_type, "")
        _sub(entry, "title", prefix + alert.headline)
        _sub(entry, "updated", _when(alert.sent_at))
        _sub(entry, "published", _when(alert.sent_at))
        author = _sub(entry, "author")
        _sub(author, "name", alert.sender)
        _sub(entry, "category", term=alert.event)
        expires = f"; expires {_when(alert.expires_at)}" if alert.expires_at else ""
        summary = (
            f"{alert.msg_type} — {alert.event}: severity {alert.severity}, urgency {alert.urgency}, "
            f"certainty {alert.certainty}{expires}"
        )
        _sub(entry, "summary", summary + (f". {alert.note}" if alert.note else ""))
        _sub(entry, "link", rel="alternate", type="application/cap+xml", href=alert_url(base, alert.id))
    body: bytes = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return body
