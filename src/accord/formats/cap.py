"""OASIS Common Alerting Protocol 1.2: hardened parsing, Accord's own validator, and a builder.

A pure codec: no database, no web framework.

* :func:`validate_cap` checks a document with Accord's own rules: the structure the official
  schema describes (required elements, their order, how often each may appear, the
  enumerations, the date-time format) plus the rules of the CAP 1.2 specification that the
  schema cannot express (closed polygons, coordinate ranges, numeric time-zone offsets,
  ``references`` for updates and cancellations, ...). It is at least as strict as the
  official XSD: whatever the XSD refuses, it refuses too.
* :func:`parse_cap` validates, then returns a :class:`CapAlert`; it raises
  :class:`CapInvalid` (which carries the problems) for anything invalid.
* :func:`build_cap` writes a :class:`CapAlert` back as CAP 1.2 XML and checks its own output.

Parsing never resolves entities, never loads a DTD and never touches the network; any
document with a DOCTYPE declaration is refused outright (XXE, billion laughs, external DTDs).

Times are aware :class:`~datetime.datetime` values. CAP 1.2 writes UTC as ``-00:00``, so a UTC
time is always written that way (``+00:00`` reads as the same instant). Coordinates keep CAP's
own order, ``(lat, lon)``; :meth:`CapPolygon.to_geojson` and :meth:`CapCircle.to_geojson`
give WGS 84 GeoJSON in ``[lon, lat]`` order.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast, get_args

from lxml import etree

__all__ = [
    "CAP_NS",
    "CAP_XSD_PATH",
    "CapAlert",
    "CapArea",
    "CapCircle",
    "CapInfo",
    "CapInvalid",
    "CapPolygon",
    "CapProblem",
    "CapReference",
    "CapResource",
    "CapValue",
    "build_cap",
    "parse_cap",
    "parse_xml",
    "validate_cap",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

XSD_DIR = Path(__file__).with_name("xsd")
CAP_XSD_PATH = XSD_DIR / "cap" / "CAP-v1.2.xsd"
"""The official OASIS schema, vendored (Accord's validator does not use it at run time)."""
XMLDSIG_XSD_PATH = XSD_DIR / "xmldsig" / "xmldsig-core-schema.xsd"
"""W3C XML-Signature schema: checks the shape of an enveloped ``<ds:Signature>``."""

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"
]
ResponseType = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

STATUSES: tuple[str, ...] = get_args(Status)
MSG_TYPES: tuple[str, ...] = get_args(MsgType)
SCOPES: tuple[str, ...] = get_args(Scope)
CATEGORIES: tuple[str, ...] = get_args(Category)
RESPONSE_TYPES: tuple[str, ...] = get_args(ResponseType)
URGENCIES: tuple[str, ...] = get_args(Urgency)
SEVERITIES: tuple[str, ...] = get_args(Severity)
CERTAINTIES: tuple[str, ...] = get_args(Certainty)

#: msgType values whose meaning is defined by the messages named in <references>.
REFERENCING_MSG_TYPES: frozenset[str] = frozenset({"Update", "Cancel", "Ack", "Error"})


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class CapValue:
    """A ``valueName``/``value`` pair (eventCode, parameter, geocode)."""

    value_name: str
    value: str


@dataclass(frozen=True, slots=True)
class CapPolygon:
    """A closed ring of ``(lat, lon)`` points in WGS 84, first point repeated as the last."""

    points: tuple[tuple[float, float], ...]

    def to_geojson(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in self.points]]}


@dataclass(frozen=True, slots=True)
class CapCircle:
    """A centre ``(lat, lon)`` in WGS 84 and a radius in kilometres."""

    lat: float
    lon: float
    radius_km: float

    def to_geojson(self) -> dict[str, Any]:
        """The centre as a GeoJSON Point; the radius travels in ``properties``."""
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
            "properties": {"radius_km": self.radius_km},
        }


@dataclass(frozen=True, slots=True)
class CapResource:
    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class CapArea:
    area_desc: str
    polygons: tuple[CapPolygon, ...] = ()
    circles: tuple[CapCircle, ...] = ()
    geocodes: tuple[CapValue, ...] = ()
    altitude: Decimal | None = None
    ceiling: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CapInfo:
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    language: str | None = None
    """As written; ``None`` when absent (CAP's default is ``en-US``, see :attr:`effective_language`)."""
    response_types: tuple[ResponseType, ...] = ()
    audience: str | None = None
    event_codes: tuple[CapValue, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[CapValue, ...] = ()
    resources: tuple[CapResource, ...] = ()
    areas: tuple[CapArea, ...] = ()

    @property
    def effective_language(self) -> str:
        return self.language or "en-US"


@dataclass(frozen=True, slots=True)
class CapReference:
    """One ``sender,identifier,sent`` entry of ``<references>``."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True, slots=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[CapReference, ...] = ()
    incidents: str | None = None
    infos: tuple[CapInfo, ...] = ()
    signatures: tuple[bytes, ...] = ()
    """Enveloped ``<ds:Signature>`` elements, kept as serialized XML (checked for shape, not verified)."""


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class CapProblem:
    """One reason a document is not acceptable CAP 1.2: where (XPath-like) and why (plain English)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class CapInvalid(Exception):
    """The document (or model) is not acceptable CAP 1.2; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[CapProblem]) -> None:
        self.problems: tuple[CapProblem, ...] = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"invalid CAP 1.2 alert: {shown}{more}")


# --------------------------------------------------------------------------- hardened parsing

_DOCTYPE_MARKERS = tuple(
    "<!DOCTYPE".encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_DOCTYPE_REASON = (
    "the document has a DOCTYPE declaration; DTDs, entity declarations and external references "
    "are refused (nothing was loaded or expanded)"
)


class _RefuseEverything(etree.Resolver):  # type: ignore[misc]
    """Defence in depth: should libxml2 ever ask for an external resource, it gets nothing."""

    def resolve(self, system_url: object, public_id: object, context: object) -> Any:
        return self.resolve_empty(context)


def _hardened_parser() -> Any:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_blank_text=False,
    )
    parser.resolvers.add(_RefuseEverything())
    return parser


def _parse_xml(data: bytes) -> tuple[Any, list[CapProblem]]:
    """The root element, or the problems that stop the document being read at all."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"CAP documents are bytes, not {type(data).__name__}")
    data = bytes(data)
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        if any(marker in data for marker in _DOCTYPE_MARKERS):
            return None, [CapProblem("/", _DOCTYPE_REASON)]
        return None, [CapProblem("/", f"not well-formed XML: {exc}")]
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [CapProblem("/", _DOCTYPE_REASON)]
    return root, []


# --------------------------------------------------------------------------- lexical helpers

_XML_WS = " \t\n\r"
_COLLAPSE_RE = re.compile(r"[ \t\n\r]+")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})([-+])([0-9]{2}):([0-9]{2})"
)
_DATETIME_Z_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
_DATETIME_FRACTION_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+([-+][0-9]{2}:[0-9]{2})?"
)
_DATETIME_NAIVE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_LANGUAGE_RE = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
_DECIMAL_RE = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_SIZE_RE = re.compile(r"\+?[0-9]+")
_NUMBER = r"[-+]?[0-9]+(?:\.[0-9]+)?"
_PAIR_RE = re.compile(rf"({_NUMBER}),({_NUMBER})")
_CIRCLE_RE = re.compile(rf"({_NUMBER}),({_NUMBER}) ({_NUMBER})")
_ABSOLUTE_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")
_URI_RE = re.compile(r"[^\s<>\"{}|\\^`]+")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _collapse(text: str) -> str:
    """XML Schema's ``whiteSpace="collapse"`` (XML whitespace only, not Unicode's)."""
    return _COLLAPSE_RE.sub(" ", text).strip(" ")


def _parse_datetime(text: str) -> tuple[datetime | None, str]:
    """A CAP date-time, or ``None`` and the reason it is not one."""
    value = _collapse(text)
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        if _DATETIME_Z_RE.fullmatch(value):
            return None, (
                f"'{value}' ends in 'Z'; CAP 1.2 requires an explicit numeric time-zone offset such as -00:00 for UTC"
            )
        if _DATETIME_FRACTION_RE.fullmatch(value):
            return (
                None,
                f"'{value}' has fractional seconds; CAP 1.2 times are whole seconds (YYYY-MM-DDThh:mm:ss±hh:mm)",
            )
        if _DATETIME_NAIVE_RE.fullmatch(value):
            return None, f"'{value}' has no time-zone offset; CAP 1.2 requires one such as -05:00 (-00:00 for UTC)"
        return None, (
            f"'{value}' is not a CAP 1.2 date-time; expected YYYY-MM-DDThh:mm:ss±hh:mm, e.g. 2024-05-01T14:30:00-05:00"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    sign = -1 if match.group(7) == "-" else 1
    tz_hours, tz_minutes = int(match.group(8)), int(match.group(9))
    if tz_minutes > 59 or tz_hours > 14 or (tz_hours == 14 and tz_minutes > 0):
        return (
            None,
            f"'{value}' has time-zone offset {match.group(7)}{tz_hours:02}:{tz_minutes:02}, outside -14:00..+14:00",
        )
    if year == 0:
        return None, f"'{value}' has year 0000, which does not exist"
    try:
        offset = timezone(sign * timedelta(hours=tz_hours, minutes=tz_minutes))
        return datetime(year, month, day, hour, minute, second, tzinfo=offset), ""
    except ValueError as exc:
        return None, f"'{value}' is not a real date and time ({exc})"


def _format_datetime(value: datetime) -> str | None:
    """CAP's text for an aware datetime with whole seconds and a whole-minute offset, else None."""
    offset = value.utcoffset()
    if offset is None or value.microsecond or offset.microseconds or offset.seconds % 60:
        return None
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return (
        f"{value.year:04}-{value.month:02}-{value.day:02}T{value.hour:02}:{value.minute:02}:{value.second:02}"
        f"{sign}{hours:02}:{mins:02}"
    )


def _format_number(value: float | Decimal) -> str:
    """Plain decimal notation, never an exponent (``1e-05`` is written ``0.00001``)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if not math.isfinite(value):
        return str(value)
    return format(Decimal(repr(value)), "f")


_TOKEN_FORBIDDEN = {",": "a comma", "<": "'<'", "&": "'&'"}


def _token_problem(value: str) -> str | None:
    """Why an identifier or sender is unacceptable (CAP 1.2 §3.2.1), or None."""
    if not value:
        return "must not be empty"
    for char in value:
        if char.isspace():
            found = "a space" if char == " " else "whitespace"
            return f"must not contain spaces, commas, '<' or '&' (found {found})"
        if char in _TOKEN_FORBIDDEN:
            return f"must not contain spaces, commas, '<' or '&' (found {_TOKEN_FORBIDDEN[char]})"
    return None


def _enum_reason(value: str, allowed: Sequence[str], what: str) -> str:
    return f"'{value}' is not a valid {what}; expected one of: {', '.join(allowed)}"


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    min_occurs: int = 1
    max_occurs: int | None = 1  # None: unbounded
    simple: bool = True  # text-only content (False: a sequence of elements)


_PAIR_SLOTS = (_Slot("valueName"), _Slot("value"))
_ALERT_SLOTS = (
    _Slot("identifier"),
    _Slot("sender"),
    _Slot("sent"),
    _Slot("status"),
    _Slot("msgType"),
    _Slot("source", 0),
    _Slot("scope"),
    _Slot("restriction", 0),
    _Slot("addresses", 0),
    _Slot("code", 0, None),
    _Slot("note", 0),
    _Slot("references", 0),
    _Slot("incidents", 0),
    _Slot("info", 0, None, simple=False),
)
_INFO_SLOTS = (
    _Slot("language", 0),
    _Slot("category", 1, None),
    _Slot("event"),
    _Slot("responseType", 0, None),
    _Slot("urgency"),
    _Slot("severity"),
    _Slot("certainty"),
    _Slot("audience", 0),
    _Slot("eventCode", 0, None, simple=False),
    _Slot("effective", 0),
    _Slot("onset", 0),
    _Slot("expires", 0),
    _Slot("senderName", 0),
    _Slot("headline", 0),
    _Slot("description", 0),
    _Slot("instruction", 0),
    _Slot("web", 0),
    _Slot("contact", 0),
    _Slot("parameter", 0, None, simple=False),
    _Slot("resource", 0, None, simple=False),
    _Slot("area", 0, None, simple=False),
)
_RESOURCE_SLOTS = (
    _Slot("resourceDesc"),
    _Slot("mimeType"),
    _Slot("size", 0),
    _Slot("uri", 0),
    _Slot("derefUri", 0),
    _Slot("digest", 0),
)
_AREA_SLOTS = (
    _Slot("areaDesc"),
    _Slot("polygon", 0, None),
    _Slot("circle", 0, None),
    _Slot("geocode", 0, None, simple=False),
    _Slot("altitude", 0),
    _Slot("ceiling", 0),
)

_Children = dict[str, list[tuple[Any, str]]]


def _is_element(node: Any) -> bool:
    return isinstance(node.tag, str)


def _split_tag(tag: str) -> tuple[str | None, str]:
    qname = etree.QName(tag)
    return qname.namespace, qname.localname


class _Validator:
    """Accord's CAP 1.2 rules, applied to an already (safely) parsed tree."""

    def __init__(self) -> None:
        self.problems: list[CapProblem] = []

    def add(self, path: str, reason: str) -> None:
        self.problems.append(CapProblem(path, reason))

    # -- generic structure ------------------------------------------------------------

    def attributes(self, el: Any, path: str, *, is_root: bool = False) -> None:
        for name, value in el.attrib.items():
            if is_root and name == f"{{{XSI_NS}}}schemaLocation":
                tokens = _collapse(value).split(" ")
                if value.strip(_XML_WS) and len(tokens) % 2 == 0:
                    continue
                self.add(path, "xsi:schemaLocation must be pairs of namespace and location")
                continue
            shown = etree.QName(name).localname if name.startswith("{") else name
            self.add(path, f"attribute '{shown}' is not allowed (CAP 1.2 elements carry no attributes)")

    def sequence(
        self, el: Any, path: str, slots: Sequence[_Slot], *, signatures: list[tuple[Any, str]] | None = None
    ) -> _Children:
        """Check element-only content against a sequence of distinct elements; group the children."""
        parent = etree.QName(el).localname
        stray = [el.text, *(child.tail for child in el)]
        if any(text is not None and text.strip(_XML_WS) for text in stray):
            self.add(path, f"text is not allowed directly inside <{parent}>, only elements")
        index_of = {slot.name: i for i, slot in enumerate(slots)}
        children: _Children = {slot.name: [] for slot in slots}
        seen: dict[tuple[str | None, str], int] = {}
        position = -1  # index of the last slot matched, in document order
        wildcard = len(slots)  # the <ds:Signature> wildcard comes after everything else
        for child in el:
            if not _is_element(child):
                continue
            namespace, local = _split_tag(child.tag)
            count = seen[namespace, local] = seen.get((namespace, local), 0) + 1
            if namespace == CAP_NS and local in index_of:
                slot = slots[index_of[local]]
                child_path = f"{path}/{local}" if slot.max_occurs == 1 and count == 1 else f"{path}/{local}[{count}]"
                children[local].append((child, child_path))
                if slot.simple:
                    self.simple_content(child, child_path)
                if slot.max_occurs is not None and count > slot.max_occurs:
                    self.add(child_path, f"<{local}> may appear at most once in <{parent}>")
                j = index_of[local]
                if j < position:
                    after = "the XML signature" if position == wildcard else f"<{slots[position].name}>"
                    self.add(child_path, f"is out of order: <{local}> must come before {after}")
                else:
                    position = j
                continue
            child_path = f"{path}/{local}[{count}]"
            if namespace == DSIG_NS and signatures is not None:
                if local != "Signature":
                    self.add(child_path, "only <ds:Signature> is accepted from the XML-Signature namespace")
                else:
                    signatures.append((child, child_path))
                position = wildcard
                continue
            where = "no namespace" if namespace is None else f"namespace '{namespace}'"
            if namespace == CAP_NS:
                self.add(child_path, f"<{local}> is not a CAP 1.2 element allowed in <{parent}>")
            else:
                self.add(child_path, f"<{local}> ({where}) is not allowed in <{parent}>")
        for slot in slots:
            if len(children[slot.name]) < slot.min_occurs:
                self.add(f"{path}/{slot.name}", f"required element <{slot.name}> is missing from <{parent}>")
        return children

    def simple_content(self, el: Any, path: str) -> None:
        """A text-only element: no attributes, no child elements (comments and PIs are fine)."""
        self.attributes(el, path)
        for child in el:
            if _is_element(child):
                self.add(path, f"must contain text only, not the element <{etree.QName(child).localname}>")
                return

    @staticmethod
    def text(el: Any) -> str | None:
        """The text of a text-only element, or None if it has child elements (already reported)."""
        if any(_is_element(child) for child in el):
            return None
        return "".join(el.itertext())

    def texts(self, children: _Children, name: str) -> Iterator[tuple[str, str]]:
        for el, path in children[name]:
            value = self.text(el)
            if value is not None:
                yield value, path

    def first_text(self, children: _Children, name: str) -> tuple[str | None, str]:
        for value, path in self.texts(children, name):
            return value, path
        return None, ""

    def enum(self, children: _Children, name: str, allowed: Sequence[str], what: str) -> None:
        for value, path in self.texts(children, name):
            if value not in allowed:
                self.add(path, _enum_reason(value, allowed, what))

    def datetimes(self, children: _Children, name: str) -> None:
        for value, path in self.texts(children, name):
            parsed, reason = _parse_datetime(value)
            if parsed is None:
                self.add(path, reason)

    def non_blank(self, children: _Children, name: str) -> None:
        for value, path in self.texts(children, name):
            if not value.strip():
                self.add(path, f"<{name}> must not be empty")

    def value_pairs(self, children: _Children, name: str) -> None:
        for el, path in children[name]:
            self.attributes(el, path)
            self.sequence(el, path, _PAIR_SLOTS)

    # -- CAP elements -----------------------------------------------------------------

    def alert(self, root: Any) -> None:
        namespace, local = _split_tag(root.tag)
        if namespace != CAP_NS or local != "alert":
            found = f"<{local}>" + (f" in namespace '{namespace}'" if namespace else " in no namespace")
            self.add(f"/{local}", f"the root element must be <alert> in namespace '{CAP_NS}', found {found}")
            return
        path = "/alert"
        self.attributes(root, path, is_root=True)
        signatures: list[tuple[Any, str]] = []
        children = self.sequence(root, path, _ALERT_SLOTS, signatures=signatures)
        for name in ("identifier", "sender"):
            for value, value_path in self.texts(children, name):
                reason = _token_problem(value)
                if reason is not None:
                    self.add(value_path, f"<{name}> {reason}")
        self.datetimes(children, "sent")
        self.enum(children, "status", STATUSES, "status")
        self.enum(children, "msgType", MSG_TYPES, "msgType")
        self.enum(children, "scope", SCOPES, "scope")
        msg_type, _ = self.first_text(children, "msgType")
        scope, _ = self.first_text(children, "scope")
        restriction, restriction_path = self.first_text(children, "restriction")
        if scope == "Restricted" and not children["restriction"]:
            self.add(f"{path}/restriction", "is required when scope is Restricted")
        elif restriction is not None and scope == "Restricted" and not restriction.strip():
            self.add(restriction_path, "must say who may see the alert when scope is Restricted")
        addresses, addresses_path = self.first_text(children, "addresses")
        if scope == "Private" and not children["addresses"]:
            self.add(f"{path}/addresses", "is required when scope is Private")
        elif addresses is not None and scope == "Private" and not addresses.strip():
            self.add(addresses_path, "must list the recipients when scope is Private")
        references, references_path = self.first_text(children, "references")
        if msg_type in REFERENCING_MSG_TYPES and not children["references"]:
            self.add(f"{path}/references", f"is required when msgType is {msg_type}")
        if references is not None:
            self.references(references, references_path)
        for info, info_path in children["info"]:
            self.info(info, info_path)
        for signature, signature_path in signatures:
            reason = _signature_problem(signature)
            if reason is not None:
                self.add(signature_path, reason)

    def references(self, value: str, path: str) -> None:
        entries = value.split()
        if not entries:
            self.add(path, "must list at least one 'sender,identifier,sent' entry")
        for number, entry in enumerate(entries, start=1):
            parts = entry.split(",")
            if len(parts) != 3:
                self.add(path, f"entry {number} ('{entry}') is not 'sender,identifier,sent'")
                continue
            sender, identifier, sent = parts
            for what, token in (("sender", sender), ("identifier", identifier)):
                reason = _token_problem(token)
                if reason is not None:
                    self.add(path, f"entry {number} ('{entry}'): the {what} {reason}")
            sent_at, sent_reason = _parse_datetime(sent)
            if sent_at is None:
                self.add(path, f"entry {number} ('{entry}'): the sent time {sent_reason}")

    def info(self, el: Any, path: str) -> None:
        self.attributes(el, path)
        children = self.sequence(el, path, _INFO_SLOTS)
        for value, value_path in self.texts(children, "language"):
            collapsed = _collapse(value)
            if not collapsed:
                self.add(value_path, "<language> must not be empty (omit it for the default, en-US)")
            elif not _LANGUAGE_RE.fullmatch(collapsed):
                self.add(value_path, f"'{collapsed}' is not an RFC 3066 language code such as en-US")
        self.enum(children, "category", CATEGORIES, "category")
        self.non_blank(children, "event")
        self.enum(children, "responseType", RESPONSE_TYPES, "responseType")
        self.enum(children, "urgency", URGENCIES, "urgency")
        self.enum(children, "severity", SEVERITIES, "severity")
        self.enum(children, "certainty", CERTAINTIES, "certainty")
        self.value_pairs(children, "eventCode")
        for name in ("effective", "onset", "expires"):
            self.datetimes(children, name)
        for value, value_path in self.texts(children, "web"):
            if not _ABSOLUTE_URI_RE.fullmatch(_collapse(value)):
                self.add(value_path, f"'{_collapse(value)}' is not an absolute URI (such as https://example.org/alert)")
        self.value_pairs(children, "parameter")
        for resource, resource_path in children["resource"]:
            self.resource(resource, resource_path)
        for area, area_path in children["area"]:
            self.area(area, area_path)

    def resource(self, el: Any, path: str) -> None:
        self.attributes(el, path)
        children = self.sequence(el, path, _RESOURCE_SLOTS)
        self.non_blank(children, "resourceDesc")
        self.non_blank(children, "mimeType")
        for value, value_path in self.texts(children, "size"):
            if not _SIZE_RE.fullmatch(_collapse(value)):
                self.add(value_path, f"'{_collapse(value)}' is not a size in bytes (a whole number, not negative)")
        for value, value_path in self.texts(children, "uri"):
            if not _URI_RE.fullmatch(_collapse(value)):
                self.add(value_path, f"'{_collapse(value)}' is not a URI")
        for value, value_path in self.texts(children, "derefUri"):
            compact = "".join(value.split())
            if not compact or len(compact) % 4 or not _BASE64_RE.fullmatch(compact):
                self.add(value_path, "<derefUri> must be the base64-encoded content of the resource")

    def area(self, el: Any, path: str) -> None:
        self.attributes(el, path)
        children = self.sequence(el, path, _AREA_SLOTS)
        self.non_blank(children, "areaDesc")
        for value, value_path in self.texts(children, "polygon"):
            _points, reasons = _parse_polygon(value)
            for reason in reasons:
                self.add(value_path, reason)
        for value, value_path in self.texts(children, "circle"):
            _circle, reason = _parse_circle(value)
            if reason:
                self.add(value_path, reason)
        self.value_pairs(children, "geocode")
        for name in ("altitude", "ceiling"):
            for value, value_path in self.texts(children, name):
                if not _DECIMAL_RE.fullmatch(_collapse(value)):
                    self.add(value_path, f"'{_collapse(value)}' is not a decimal number (feet above mean sea level)")
        if children["ceiling"] and not children["altitude"]:
            self.add(children["ceiling"][0][1], "<ceiling> may only be used together with <altitude>")


_MAX_PAIR_REASONS = 3


def _parse_polygon(text: str) -> tuple[tuple[tuple[float, float], ...], list[str]]:
    value = text.strip(_XML_WS)
    if not value:
        return (), ["polygon is empty; expected 'lat,lon lat,lon ...' with at least 4 pairs"]
    if re.search(r"[\t\n\r]| {2,}", value):
        return (), ["polygon coordinate pairs must be separated by single spaces"]
    reasons: list[str] = []
    points: list[tuple[float, float]] = []
    for number, pair in enumerate(value.split(" "), start=1):
        match = _PAIR_RE.fullmatch(pair)
        if match is None:
            reasons.append(f"polygon pair {number} ('{pair}') is not 'lat,lon' in decimal degrees")
            continue
        reason = _range_problem(float(match.group(1)), float(match.group(2)))
        if reason:
            reasons.append(f"polygon pair {number} ('{pair}'): {reason}")
            continue
        points.append((float(match.group(1)), float(match.group(2))))
    if len(reasons) > _MAX_PAIR_REASONS:
        more = len(reasons) - _MAX_PAIR_REASONS
        reasons = [*reasons[:_MAX_PAIR_REASONS], f"polygon has {more} more bad coordinate pair(s)"]
    if reasons:
        return (), reasons
    if len(points) < 4:
        reasons.append(
            f"polygon has {len(points)} coordinate pairs; at least 4 are required (the first repeated as the last)"
        )
    elif points[0] != points[-1]:
        reasons.append("polygon is not closed: the last coordinate pair must repeat the first")
    return tuple(points), reasons


def _range_problem(lat: float, lon: float) -> str:
    if not -90.0 <= lat <= 90.0:
        hint = " (is it 'lon,lat'? CAP puts latitude first)" if -90.0 <= lon <= 90.0 else ""
        return f"latitude {_format_number(lat)} is outside -90..90{hint}"
    if not -180.0 <= lon <= 180.0:
        return f"longitude {_format_number(lon)} is outside -180..180"
    return ""


def _parse_circle(text: str) -> tuple[CapCircle | None, str]:
    value = text.strip(_XML_WS)
    match = _CIRCLE_RE.fullmatch(value)
    if match is None:
        return None, f"circle '{value}' is not 'lat,lon radius' (decimal degrees, then kilometres after one space)"
    lat, lon, radius = (float(match.group(i)) for i in (1, 2, 3))
    reason = _range_problem(lat, lon)
    if reason:
        return None, f"circle centre: {reason}"
    if radius < 0:
        return None, f"circle radius {match.group(3)} must not be negative"
    return CapCircle(lat, lon, radius), ""


@functools.cache
def _xmldsig_schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(XMLDSIG_XSD_PATH))


def _signature_problem(signature: Any) -> str | None:
    """An enveloped signature must have the shape XML-Signature gives it (it is not verified here)."""
    error = next(iter(_xmldsig_schema().iter_errors(etree.tostring(signature))), None)
    return None if error is None else f"is not a well-formed XML Signature: {error.reason}"


# --------------------------------------------------------------------------- public API


def validate_cap(data: bytes) -> list[CapProblem]:
    """Every reason ``data`` is not acceptable CAP 1.2 (empty when it is valid)."""
    root, problems = _parse_xml(data)
    if root is None:
        return problems
    validator = _Validator()
    validator.alert(root)
    return validator.problems


def parse_cap(data: bytes) -> CapAlert:
    """Validate ``data`` and read it into a :class:`CapAlert`; raise :class:`CapInvalid` if it is not valid."""
    root, problems = _parse_xml(data)
    if root is None:
        raise CapInvalid(problems)
    validator = _Validator()
    validator.alert(root)
    if validator.problems:
        raise CapInvalid(validator.problems)
    return _read_alert(root)


# --------------------------------------------------------------------------- tree -> model
# Only ever called on a tree that passed validation, so the shape is known.


def _elements(el: Any) -> Iterator[tuple[str, Any]]:
    for child in el:
        if _is_element(child):
            yield etree.QName(child).localname, child


def _text_of(el: Any) -> str:
    return "".join(el.itertext())


def _datetime_of(el: Any) -> datetime:
    value, _reason = _parse_datetime(_text_of(el))
    assert value is not None
    return value


def _pair_of(el: Any) -> CapValue:
    fields = dict(_elements(el))
    return CapValue(_text_of(fields["valueName"]), _text_of(fields["value"]))


def _read_alert(root: Any) -> CapAlert:
    simple: dict[str, Any] = {}
    codes: list[str] = []
    infos: list[CapInfo] = []
    signatures: list[bytes] = []
    references: list[CapReference] = []
    for child in root:
        if not _is_element(child):
            continue
        namespace, name = _split_tag(child.tag)
        if namespace == DSIG_NS:
            signatures.append(etree.tostring(child))
        elif name == "code":
            codes.append(_text_of(child))
        elif name == "info":
            infos.append(_read_info(child))
        elif name == "sent":
            simple["sent"] = _datetime_of(child)
        elif name == "references":
            for entry in _text_of(child).split():
                sender, identifier, sent = entry.split(",")
                sent_at, _reason = _parse_datetime(sent)
                assert sent_at is not None
                references.append(CapReference(sender, identifier, sent_at))
        else:
            simple[name] = _text_of(child)
    return CapAlert(
        identifier=simple["identifier"],
        sender=simple["sender"],
        sent=simple["sent"],
        status=cast(Status, simple["status"]),
        msg_type=cast(MsgType, simple["msgType"]),
        scope=cast(Scope, simple["scope"]),
        source=simple.get("source"),
        restriction=simple.get("restriction"),
        addresses=simple.get("addresses"),
        codes=tuple(codes),
        note=simple.get("note"),
        references=tuple(references),
        incidents=simple.get("incidents"),
        infos=tuple(infos),
        signatures=tuple(signatures),
    )


def _read_info(el: Any) -> CapInfo:
    simple: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {
        "category": [],
        "responseType": [],
        "eventCode": [],
        "parameter": [],
        "resource": [],
        "area": [],
    }
    for name, child in _elements(el):
        if name in ("category", "responseType"):
            lists[name].append(_text_of(child))
        elif name in ("eventCode", "parameter"):
            lists[name].append(_pair_of(child))
        elif name == "resource":
            lists[name].append(_read_resource(child))
        elif name == "area":
            lists[name].append(_read_area(child))
        elif name in ("effective", "onset", "expires"):
            simple[name] = _datetime_of(child)
        elif name in ("language", "web"):
            simple[name] = _collapse(_text_of(child))
        else:
            simple[name] = _text_of(child)
    return CapInfo(
        categories=tuple(lists["category"]),
        event=simple["event"],
        urgency=cast(Urgency, simple["urgency"]),
        severity=cast(Severity, simple["severity"]),
        certainty=cast(Certainty, simple["certainty"]),
        language=simple.get("language"),
        response_types=tuple(lists["responseType"]),
        audience=simple.get("audience"),
        event_codes=tuple(lists["eventCode"]),
        effective=simple.get("effective"),
        onset=simple.get("onset"),
        expires=simple.get("expires"),
        sender_name=simple.get("senderName"),
        headline=simple.get("headline"),
        description=simple.get("description"),
        instruction=simple.get("instruction"),
        web=simple.get("web"),
        contact=simple.get("contact"),
        parameters=tuple(lists["parameter"]),
        resources=tuple(lists["resource"]),
        areas=tuple(lists["area"]),
    )


def _read_resource(el: Any) -> CapResource:
    fields = {name: _text_of(child) for name, child in _elements(el)}
    size = fields.get("size")
    uri = fields.get("uri")
    return CapResource(
        resource_desc=fields["resourceDesc"],
        mime_type=fields["mimeType"],
        size=None if size is None else int(_collapse(size)),
        uri=None if uri is None else _collapse(uri),
        deref_uri=fields.get("derefUri"),
        digest=fields.get("digest"),
    )


def _read_area(el: Any) -> CapArea:
    area_desc = ""
    polygons: list[CapPolygon] = []
    circles: list[CapCircle] = []
    geocodes: list[CapValue] = []
    numbers: dict[str, Decimal] = {}
    for name, child in _elements(el):
        text = _text_of(child)
        if name == "areaDesc":
            area_desc = text
        elif name == "polygon":
            polygons.append(CapPolygon(_parse_polygon(text)[0]))
        elif name == "circle":
            circle, _reason = _parse_circle(text)
            assert circle is not None
            circles.append(circle)
        elif name == "geocode":
            geocodes.append(_pair_of(child))
        else:
            numbers[name] = Decimal(_collapse(text))
    return CapArea(
        area_desc=area_desc,
        polygons=tuple(polygons),
        circles=tuple(circles),
        geocodes=tuple(geocodes),
        altitude=numbers.get("altitude"),
        ceiling=numbers.get("ceiling"),
    )


# --------------------------------------------------------------------------- model -> XML


class _Builder:
    def __init__(self) -> None:
        self.problems: list[CapProblem] = []

    def sub(self, parent: Any, name: str, path: str, text: str | None = None) -> Any:
        el = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
        if text is not None:
            try:
                el.text = text
            except ValueError:
                self.problems.append(CapProblem(path, "contains characters that XML cannot carry"))
        return el

    def optional(self, parent: Any, name: str, path: str, text: str | None) -> None:
        if text is not None:
            self.sub(parent, name, f"{path}/{name}", text)

    def when(self, parent: Any, name: str, path: str, value: datetime | None) -> None:
        if value is None:
            return
        text = _format_datetime(value)
        if text is None:
            self.problems.append(
                CapProblem(f"{path}/{name}", "must be an aware datetime with whole seconds and a whole-minute offset")
            )
            text = ""
        self.sub(parent, name, f"{path}/{name}", text)

    def pairs(self, parent: Any, name: str, path: str, pairs: Sequence[CapValue]) -> None:
        for index, pair in enumerate(pairs, start=1):
            pair_path = f"{path}/{name}[{index}]"
            el = self.sub(parent, name, pair_path)
            self.sub(el, "valueName", f"{pair_path}/valueName", pair.value_name)
            self.sub(el, "value", f"{pair_path}/value", pair.value)

    def alert(self, alert: CapAlert) -> Any:
        path = "/alert"
        root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
        self.sub(root, "identifier", f"{path}/identifier", alert.identifier)
        self.sub(root, "sender", f"{path}/sender", alert.sender)
        self.when(root, "sent", path, alert.sent)
        self.sub(root, "status", f"{path}/status", alert.status)
        self.sub(root, "msgType", f"{path}/msgType", alert.msg_type)
        self.optional(root, "source", path, alert.source)
        self.sub(root, "scope", f"{path}/scope", alert.scope)
        self.optional(root, "restriction", path, alert.restriction)
        self.optional(root, "addresses", path, alert.addresses)
        for index, code in enumerate(alert.codes, start=1):
            self.sub(root, "code", f"{path}/code[{index}]", code)
        self.optional(root, "note", path, alert.note)
        if alert.references:
            entries = []
            for reference in alert.references:
                sent = _format_datetime(reference.sent)
                if sent is None:
                    self.problems.append(CapProblem(f"{path}/references", "a reference's sent time is not expressible"))
                entries.append(f"{reference.sender},{reference.identifier},{sent}")
            self.sub(root, "references", f"{path}/references", " ".join(entries))
        self.optional(root, "incidents", path, alert.incidents)
        for index, info in enumerate(alert.infos, start=1):
            self.info(root, info, f"{path}/info[{index}]")
        for index, signature in enumerate(alert.signatures, start=1):
            signature_path = f"{path}/Signature[{index}]"
            try:
                el = etree.fromstring(signature, _hardened_parser())
            except etree.XMLSyntaxError as exc:
                self.problems.append(CapProblem(signature_path, f"is not well-formed XML: {exc}"))
                continue
            if el.getroottree().docinfo.doctype or etree.QName(el).namespace != DSIG_NS:
                self.problems.append(CapProblem(signature_path, "is not a <ds:Signature> element"))
                continue
            root.append(el)
        return root

    def info(self, parent: Any, info: CapInfo, path: str) -> None:
        el = self.sub(parent, "info", path)
        self.optional(el, "language", path, info.language)
        for index, category in enumerate(info.categories, start=1):
            self.sub(el, "category", f"{path}/category[{index}]", category)
        self.sub(el, "event", f"{path}/event", info.event)
        for index, response in enumerate(info.response_types, start=1):
            self.sub(el, "responseType", f"{path}/responseType[{index}]", response)
        self.sub(el, "urgency", f"{path}/urgency", info.urgency)
        self.sub(el, "severity", f"{path}/severity", info.severity)
        self.sub(el, "certainty", f"{path}/certainty", info.certainty)
        self.optional(el, "audience", path, info.audience)
        self.pairs(el, "eventCode", path, info.event_codes)
        self.when(el, "effective", path, info.effective)
        self.when(el, "onset", path, info.onset)
        self.when(el, "expires", path, info.expires)
        self.optional(el, "senderName", path, info.sender_name)
        self.optional(el, "headline", path, info.headline)
        self.optional(el, "description", path, info.description)
        self.optional(el, "instruction", path, info.instruction)
        self.optional(el, "web", path, info.web)
        self.optional(el, "contact", path, info.contact)
        self.pairs(el, "parameter", path, info.parameters)
        for index, resource in enumerate(info.resources, start=1):
            resource_path = f"{path}/resource[{index}]"
            res = self.sub(el, "resource", resource_path)
            self.sub(res, "resourceDesc", f"{resource_path}/resourceDesc", resource.resource_desc)
            self.sub(res, "mimeType", f"{resource_path}/mimeType", resource.mime_type)
            self.optional(res, "size", resource_path, None if resource.size is None else str(resource.size))
            self.optional(res, "uri", resource_path, resource.uri)
            self.optional(res, "derefUri", resource_path, resource.deref_uri)
            self.optional(res, "digest", resource_path, resource.digest)
        for index, area in enumerate(info.areas, start=1):
            self.area(el, area, f"{path}/area[{index}]")

    def area(self, parent: Any, area: CapArea, path: str) -> None:
        el = self.sub(parent, "area", path)
        self.sub(el, "areaDesc", f"{path}/areaDesc", area.area_desc)
        for index, polygon in enumerate(area.polygons, start=1):
            text = " ".join(f"{_format_number(lat)},{_format_number(lon)}" for lat, lon in polygon.points)
            self.sub(el, "polygon", f"{path}/polygon[{index}]", text)
        for index, circle in enumerate(area.circles, start=1):
            text = f"{_format_number(circle.lat)},{_format_number(circle.lon)} {_format_number(circle.radius_km)}"
            self.sub(el, "circle", f"{path}/circle[{index}]", text)
        self.pairs(el, "geocode", path, area.geocodes)
        for name, number in (("altitude", area.altitude), ("ceiling", area.ceiling)):
            self.optional(el, name, path, None if number is None else _format_number(number))


def build_cap(alert: CapAlert) -> bytes:
    """CAP 1.2 XML (UTF-8, with an XML declaration) for ``alert``; raise :class:`CapInvalid` if it is not valid."""
    builder = _Builder()
    root = builder.alert(alert)
    if builder.problems:
        raise CapInvalid(builder.problems)
    body: bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8", pretty_print=True)
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
    problems = validate_cap(data)
    if problems:
        raise CapInvalid(problems)
    return data


def parse_xml(data: bytes) -> tuple[Any, list[CapProblem]]:
    """Any XML document (a feed that carries alerts) read with the same hardened parser as
    CAP: the root element, or ``(None, problems)`` when it cannot be read at all (not
    well-formed, or it has a DOCTYPE). No entity is expanded, no DTD or network resource loaded."""
    return _parse_xml(data)
