"""OASIS EDXL Resource Messaging 1.0: hardened parsing, Accord's own structural check, and a builder.

A pure codec: no database, no web framework. It reads and writes three of the sixteen EDXL-RM
1.0 messages, the ones a mutual-aid request needs to cross to a system outside Accord:
``RequestResource``, ``ResponseToRequestResource`` and ``CommitResource``. Messages thread by
``MessageID``: a response names the request as ``OriginatingMessageID``; a commitment names the
request as ``OriginatingMessageID`` and the message it follows (usually the response) as
``PrecedingMessageID``; each resource line of a response names the request's line it answers
(``PrecedingResourceInfoElementID``).

* :func:`validate_rm` lists every reason a document is not acceptable (empty when it is).
* :func:`parse_rm` validates, then returns an :class:`RmMessage`; it raises :class:`RmInvalid`.
* :func:`build_rm` writes an :class:`RmMessage` and re-validates its own output.

Namespaces follow the OASIS schemas: the message element and the elements declared inside the
message schemas (``MessageID`` ... ``ResourceInformation``, and inside those ``Resource``,
``AssignmentInformation``, ``ScheduleInformation`` and their direct children) are in
:data:`RM_MSG_NS`; the shared types of the common schema (value lists, quantities, response,
contact, incident and location information) put their children in :data:`RM_NS`. Contact
details use a small subset of OASIS CIQ xPIL/xNL 3.0; a point is a GML ``Point`` whose ``pos``
is ``lat lon`` (EPSG:4326 axis order) inside ``rm:TargetArea``.

What Accord carries (everything else that EDXL-RM allows is refused by name, never dropped):

* one ``IncidentInformation`` (``IncidentDescription``, ``IncidentID``);
* ``ContactInformation``: ``ContactDescription``, ``ContactRole`` (required by Accord), and in
  ``AdditionalContactInformation`` a person name, an organisation name, one phone number and
  one electronic address;
* ``Resource``: ``ResourceID``, ``Name``, ``TypeStructure`` (one value from one list),
  ``Keyword`` values, ``Description``;
* ``AssignmentInformation``: ``Quantity`` as ``MeasuredQuantity`` (``Amount``, one
  ``UnitOfMeasure`` value), ``Restrictions``, ``AnticipatedFunction``, ``OrderID``;
* ``ScheduleInformation``: ``ScheduleType``, ``DateTime``, ``Location`` (a description and/or
  a point).

Deviations of the model from the list-typed parts of the schema, all documented in ADR 20:
keywords and the unit of measure are EDXL-RM value lists (``ValueListURN`` + ``Value``); Accord
keeps their values only and writes them under :data:`ACCORD_KEYWORD_LIST_URN` and
:data:`ACCORD_UNIT_LIST_URN`. :class:`RmContact` has an extra ``description`` field
(``ContactDescription``).

Times are aware :class:`~datetime.datetime` values written ``YYYY-MM-DDThh:mm:ss[.ffffff]±hh:mm``
(EDXL's numeric offset; ``Z`` is refused on input, like CAP). Points are ``(lon, lat)`` in WGS 84.
Parsing never resolves entities, never loads a DTD and never touches the network (the parser is
CAP's, :func:`accord.formats.cap.parse_xml`); a document with a DOCTYPE is refused, and so is one
larger than :data:`MAX_DOCUMENT_BYTES`, before it is parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast, get_args

from lxml import etree

from accord.formats.cap import parse_xml

__all__ = [
    "ACCORD_KEYWORD_LIST_URN",
    "ACCORD_UNIT_LIST_URN",
    "CONTACT_ROLES",
    "GML_NS",
    "MAX_DOCUMENT_BYTES",
    "MESSAGE_KINDS",
    "RESPONSE_TYPES",
    "RM_MSG_NS",
    "RM_NS",
    "SCHEDULE_TYPES",
    "XNL_NS",
    "XPIL_NS",
    "MessageKind",
    "RmContact",
    "RmInvalid",
    "RmMessage",
    "RmProblem",
    "RmResource",
    "RmResponse",
    "RmSchedule",
    "build_rm",
    "parse_rm",
    "validate_rm",
]

RM_NS = "urn:oasis:names:tc:emergency:EDXL:RM:1.0"
RM_MSG_NS = "urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg"
XPIL_NS = "urn:oasis:names:tc:ciq:xpil:3"
XNL_NS = "urn:oasis:names:tc:ciq:xnl:3"
GML_NS = "http://www.opengis.net/gml"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

ACCORD_KEYWORD_LIST_URN = "urn:x-accord:edxl-rm:keywords"
"""The value list Accord writes keywords under (free text; the list of a keyword read is not kept)."""
ACCORD_UNIT_LIST_URN = "urn:x-accord:edxl-rm:units"
"""The value list Accord writes units of measure under (free text, e.g. ``each``, ``team``)."""

MAX_DOCUMENT_BYTES = 1024 * 1024
"""Documents larger than this (1 MiB) are refused before they are parsed."""

MessageKind = Literal["RequestResource", "ResponseToRequestResource", "CommitResource"]
ResponseType = Literal["Accept", "Decline", "Provisional", "Conditional"]
MESSAGE_KINDS: tuple[str, ...] = get_args(MessageKind)
RESPONSE_TYPES: tuple[str, ...] = get_args(ResponseType)
CONTACT_ROLES: tuple[str, ...] = ("Sender", "Requester", "SubjectMatterExpert", "Approver", "RespondingOrg", "Owner")
SCHEDULE_TYPES: tuple[str, ...] = (
    "RequestedArrival",
    "EstimatedArrival",
    "ActualArrival",
    "RequestedDeparture",
    "EstimatedDeparture",
    "ActualDeparture",
    "EstimatedReturnDeparture",
    "EstimatedReturnArrival",
    "ActualReturnArrival",
    "RequestedReturnDeparture",
    "RequestedReturnArrival",
    "ActualReturnDeparture",
    "BeginAvailable",
    "EndAvailable",
    "Committed",
    "Current",
    "ReportTo",
    "Route",
)
#: Every message of EDXL-RM 1.0, so that a message Accord does not read is named as such.
_ALL_RM_MESSAGES: frozenset[str] = frozenset(
    {
        *MESSAGE_KINDS,
        "RequisitionResource",
        "RequestInformation",
        "ResponseToRequestInformation",
        "OfferUnsolicitedResource",
        "ReleaseResource",
        "RequestReturn",
        "ResponseToRequestReturn",
        "RequestQuote",
        "ResponseToRequestQuote",
        "RequestResourceDeploymentStatus",
        "ReportResourceDeploymentStatus",
        "RequestExtendedDeploymentDuration",
        "ResponseToRequestExtendedDeploymentDuration",
    }
)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class RmSchedule:
    """One ``ScheduleInformation``: what the time is (``kind``, a ScheduleType), when and where."""

    kind: str
    at: datetime | None = None
    location_description: str | None = None
    point: tuple[float, float] | None = None
    """``(lon, lat)`` in WGS 84."""


@dataclass(frozen=True, slots=True)
class RmResponse:
    """``ResponseInformation``: the answer to one resource line of an earlier message."""

    preceding_element_id: str
    response_type: ResponseType
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RmResource:
    """One ``ResourceInformation`` line."""

    element_id: str
    type_value: str | None = None
    type_list_urn: str | None = None
    name: str | None = None
    resource_id: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = ()
    quantity: Decimal | None = None
    unit_of_measure: str | None = None
    anticipated_function: str | None = None
    restrictions: str | None = None
    order_id: str | None = None
    response: RmResponse | None = None
    schedules: tuple[RmSchedule, ...] = ()


@dataclass(frozen=True, slots=True)
class RmContact:
    """One ``ContactInformation``; ``role`` is an EDXL-RM ContactRole."""

    role: str
    name: str | None = None
    organisation: str | None = None
    email: str | None = None
    phone: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class RmMessage:
    kind: MessageKind
    message_id: str
    sent_at: datetime
    resources: tuple[RmResource, ...]
    contacts: tuple[RmContact, ...]
    description: str | None = None
    originating_message_id: str | None = None
    preceding_message_id: str | None = None
    incident_id: str | None = None
    incident_description: str | None = None


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class RmProblem:
    """Where (an XPath-like path) and why (plain English) a message is not acceptable."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class RmInvalid(ValueError):
    """The document (or model) is not an acceptable EDXL-RM 1.0 message; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[RmProblem]) -> None:
        self.problems: list[RmProblem] = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid EDXL-RM 1.0 message"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first}{more}")


# --------------------------------------------------------------------------- lexical checks

_XML_WS = " \t\n\r"
_DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[-+][0-9]{2}:[0-9]{2}")
_NUMBER_RE = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_PAIR_RE = re.compile(
    r"([-+]?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)[ \t\n\r]+([-+]?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
)

_Check = Callable[[str], str | None]


def _non_blank(value: str) -> str | None:
    return None if value.strip(_XML_WS) else "must not be empty"


def _token(value: str) -> str | None:
    if not value:
        return "must not be empty"
    if any(char.isspace() for char in value):
        return f"'{value}' must not contain whitespace (an identifier is a single token)"
    return None


def _enum(allowed: Sequence[str], what: str) -> _Check:
    def check(value: str) -> str | None:
        if value in allowed:
            return None
        return f"'{value}' is not a valid {what}; expected one of: {', '.join(allowed)}"

    return check


def _parse_datetime(text: str) -> tuple[datetime | None, str]:
    value = text.strip(_XML_WS)
    if not _DATETIME_RE.fullmatch(value):
        if value.endswith("Z"):
            return None, f"'{value}' ends in 'Z'; EDXL-RM times carry a numeric offset such as +00:00"
        return None, f"'{value}' is not a date-time with a time-zone offset (YYYY-MM-DDThh:mm:ss±hh:mm)"
    hours, minutes = int(value[-5:-3]), int(value[-2:])
    if minutes > 59 or hours > 14 or (hours == 14 and minutes):
        return None, f"'{value}' has a time-zone offset outside -14:00..+14:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        return None, f"'{value}' is not a real date and time ({exc})"
    if parsed.year == 0:  # pragma: no cover - fromisoformat refuses year 0 already
        return None, f"'{value}' has year 0000"
    return parsed, ""


def _datetime_check(value: str) -> str | None:
    return _parse_datetime(value)[1] or None


def _format_datetime(value: datetime) -> str | None:
    """The text for an aware datetime with a whole-minute offset, else None."""
    offset = value.utcoffset()
    if offset is None or offset.microseconds or offset.seconds % 60:
        return None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    fraction = f".{value.microsecond:06}" if value.microsecond else ""
    return (
        f"{value.year:04}-{value.month:02}-{value.day:02}T{value.hour:02}:{value.minute:02}:{value.second:02}"
        f"{fraction}{sign}{hours:02}:{mins:02}"
    )


def _amount_check(value: str) -> str | None:
    text = value.strip(_XML_WS)
    if not _NUMBER_RE.fullmatch(text):
        return f"'{text}' is not a number (Amount is a decimal quantity such as 2 or 1.5)"
    if Decimal(text) < 0:
        return f"'{text}' is negative; a quantity of resources cannot be"
    return None


def _urn_check(value: str) -> str | None:
    text = value.strip(_XML_WS)
    if not text:
        return "must name the value list (a URN or URI)"
    if any(char.isspace() for char in text):
        return f"'{text}' is not a URI (it contains whitespace)"
    return None


def _parse_pos(text: str) -> tuple[tuple[float, float] | None, str]:
    """A GML ``pos`` ``lat lon`` as ``(lon, lat)``."""
    value = text.strip(_XML_WS)
    match = _PAIR_RE.fullmatch(value)
    if match is None:
        return None, f"'{value}' is not 'lat lon' in decimal degrees"
    lat, lon = float(match.group(1)), float(match.group(2))
    if not -90.0 <= lat <= 90.0:
        return None, f"latitude {match.group(1)} is outside -90..90 (gml:pos is 'lat lon')"
    if not -180.0 <= lon <= 180.0:
        return None, f"longitude {match.group(2)} is outside -180..180"
    return (lon, lat), ""


def _pos_check(value: str) -> str | None:
    return _parse_pos(value)[1] or None


# --------------------------------------------------------------------------- structure

_NOT_CARRIED = "is part of EDXL-RM 1.0 but Accord does not carry it; the message is refused rather than losing it"


@dataclass(frozen=True, slots=True)
class _Node:
    """One element of Accord's EDXL-RM subset: where it lives, how often, and what it holds."""

    name: str
    ns: str
    min: int = 1
    max: int | None = 1  # None: unbounded
    children: tuple[_Node, ...] | None = None  # None: text only
    check: _Check | None = _non_blank
    carried: bool = True
    limit: str = ""  # why Accord allows fewer than the schema, if it does
    required_note: str = ""  # why it is required, when the schema alone does not require it


def _msg(name: str, min_: int = 1, max_: int | None = 1, **kw: Any) -> _Node:
    return _Node(name, RM_MSG_NS, min_, max_, **kw)


def _rm(name: str, min_: int = 1, max_: int | None = 1, **kw: Any) -> _Node:
    return _Node(name, RM_NS, min_, max_, **kw)


def _value_list(name: str, ns_node: Callable[..., _Node], min_: int, max_: int | None, **kw: Any) -> _Node:
    values_max: int | None = kw.pop("values_max", None)
    limit: str = kw.pop("values_limit", "")
    return ns_node(
        name,
        min_,
        max_,
        children=(_rm("ValueListURN", check=_urn_check), _rm("Value", 1, values_max, limit=limit)),
        **kw,
    )


_NAME_PART = (_Node("NameElement", XNL_NS, limit="Accord carries a name as one NameElement"),)
_CONTACT = _msg(
    "ContactInformation",
    1,
    None,
    children=(
        _rm("ContactDescription", 0),
        _rm(
            "ContactRole",
            check=_enum(CONTACT_ROLES, "ContactRole"),
            required_note="Accord needs the role of every contact",
        ),
        _rm("Radio", 0, None, carried=False),
        _rm("ContactLocation", 0, carried=False),
        _rm(
            "AdditionalContactInformation",
            0,
            children=(
                _Node("FreeTextLine", XPIL_NS, 0, None, carried=False),
                _Node(
                    "PartyName",
                    XPIL_NS,
                    0,
                    children=(
                        _Node("NameLine", XNL_NS, 0, None, carried=False),
                        _Node("PersonName", XNL_NS, 0, children=_NAME_PART),
                        _Node("OrganisationName", XNL_NS, 0, children=_NAME_PART),
                    ),
                ),
                _Node("Addresses", XPIL_NS, 0, carried=False),
                _Node("Accounts", XPIL_NS, 0, carried=False),
                _Node(
                    "ContactNumbers",
                    XPIL_NS,
                    0,
                    children=(
                        _Node(
                            "ContactNumber",
                            XPIL_NS,
                            children=(_Node("ContactNumberElement", XPIL_NS),),
                            limit="Accord carries one phone number per contact",
                        ),
                    ),
                ),
                _Node("Documents", XPIL_NS, 0, carried=False),
                _Node(
                    "ElectronicAddressIdentifiers",
                    XPIL_NS,
                    0,
                    children=(
                        _Node(
                            "ElectronicAddressIdentifier",
                            XPIL_NS,
                            limit="Accord carries one electronic address per contact",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

_LOCATION = _msg(
    "Location",
    0,
    children=(
        _rm("LocationDescription", 0),
        _rm("Address", 0, carried=False),
        _rm(
            "TargetArea",
            0,
            children=(_Node("Point", GML_NS, children=(_Node("pos", GML_NS, check=_pos_check),)),),
        ),
    ),
)


def _resource_information(kind: str) -> _Node:
    response = _msg(
        "ResponseInformation",
        1 if kind == "ResponseToRequestResource" else 0,
        children=(
            _rm("PrecedingResourceInfoElementID", check=_token),
            _rm("ResponseType", check=_enum(RESPONSE_TYPES, "ResponseType")),
            _rm("ReasonCode", 0),
            _rm("ResponseReason", 0),
        ),
        required_note="a response answers each resource line of the request",
    )
    is_request = kind == "RequestResource"
    resource = _msg(
        "Resource",
        1 if is_request else 0,
        children=(
            _msg("ResourceID", 0),
            _msg("Name", 0),
            _value_list(
                "TypeStructure",
                _msg,
                1 if is_request else 0,
                1,
                values_max=1,
                values_limit="Accord carries one resource type per resource",
                required_note="a request must say which type of resource it asks for",
            ),
            _msg("TypeInfo", 0, carried=False),
            _value_list("Keyword", _msg, 0, None),
            _msg("Description", 0),
            _msg("Credentials", 0, carried=False),
            _msg("Certifications", 0, carried=False),
            _msg("SpecialRequirements", 0, carried=False),
            _msg("ResponsibleParty", 0, carried=False),
            _msg("OwnershipInformation", 0, carried=False),
            _msg("ResourceStatus", 0, carried=False),
        ),
        required_note="a request must describe the resource it asks for",
    )
    quantity = _msg(
        "Quantity",
        0,
        children=(
            _rm("QuantityText", 0, None, carried=False),
            _rm(
                "MeasuredQuantity",
                children=(
                    _rm("Amount", check=_amount_check),
                    _value_list(
                        "UnitOfMeasure", _rm, 0, 1, values_max=1, values_limit="Accord carries one unit of measure"
                    ),
                ),
                required_note="Accord reads quantities as a MeasuredQuantity",
            ),
        ),
    )
    assignment = _msg(
        "AssignmentInformation",
        0,
        children=(
            quantity,
            _msg("Restrictions", 0),
            _msg("AnticipatedFunction", 0),
            _msg("PriceQuote", 0, carried=False),
            _msg("OrderID", 0),
            _msg("AssignmentInstructions", 0, carried=False),
        ),
    )
    schedule = _msg(
        "ScheduleInformation",
        0,
        None,
        children=(
            _msg("ScheduleType", check=_enum(SCHEDULE_TYPES, "ScheduleType")),
            _msg("DateTime", 0, check=_datetime_check),
            _LOCATION,
        ),
    )
    children = [_msg("ResourceInfoElementID", check=_token)]
    if not is_request:
        children.append(response)
    children += [resource, assignment, schedule]
    return _msg("ResourceInformation", 1, None, children=tuple(children))


def _message(kind: str) -> _Node:
    threaded = kind != "RequestResource"
    return _msg(
        kind,
        children=(
            _msg("MessageID", check=_token),
            _msg("SentDateTime", check=_datetime_check),
            _msg("MessageContentType", check=_enum((kind,), f"MessageContentType for a <{kind}> message")),
            _msg("MessageDescription", 0),
            _msg(
                "OriginatingMessageID",
                1 if threaded else 0,
                check=_token,
                required_note=f"a {kind} names the request it answers",
            ),
            _msg("PrecedingMessageID", 0, check=_token),
            _msg(
                "IncidentInformation",
                0,
                1,
                children=(_rm("IncidentDescription", 0), _rm("IncidentID", 0)),
                limit="Accord carries one incident per message",
            ),
            _msg("MessageRecall", 0, carried=False),
            _msg("Funding", 0, None, carried=False),
            _CONTACT,
            _resource_information(kind),
        ),
    )


_MESSAGES: dict[str, _Node] = {kind: _message(kind) for kind in MESSAGE_KINDS}


def _is_element(node: Any) -> bool:
    return isinstance(node.tag, str)


def _ns_label(namespace: str | None) -> str:
    labels = {RM_NS: "rm", RM_MSG_NS: "rm:msg", XPIL_NS: "xpil", XNL_NS: "xnl", GML_NS: "gml"}
    if namespace is None:
        return "no namespace"
    return f"namespace '{labels.get(namespace, namespace)}'"


@dataclass
class _Validator:
    problems: list[RmProblem] = field(default_factory=list)

    def add(self, path: str, reason: str) -> None:
        self.problems.append(RmProblem(path, reason))

    def attributes(self, el: Any, path: str, *, is_root: bool = False) -> None:
        for name in el.attrib:
            if is_root and name == f"{{{XSI_NS}}}schemaLocation":
                continue
            shown = etree.QName(name).localname if name.startswith("{") else name
            self.add(path, f"attribute '{shown}' is not allowed here")

    def element(self, el: Any, path: str, node: _Node) -> None:
        if not node.carried:
            self.add(path, f"<{node.name}> {_NOT_CARRIED}")
            return
        self.attributes(el, path, is_root=path.count("/") == 1)
        if node.children is None:
            if any(_is_element(child) for child in el):
                self.add(path, f"<{node.name}> must contain text only, not elements")
                return
            if node.check is not None:
                reason = node.check("".join(el.itertext()))
                if reason:
                    self.add(path, reason)
            return
        self.sequence(el, path, node)

    def sequence(self, el: Any, path: str, node: _Node) -> None:
        assert node.children is not None
        slots = node.children
        stray = [el.text, *(child.tail for child in el)]
        if any(text is not None and text.strip(_XML_WS) for text in stray):
            self.add(path, f"text is not allowed directly inside <{node.name}>, only elements")
        index_of = {(slot.ns, slot.name): i for i, slot in enumerate(slots)}
        by_name = {slot.name: slot for slot in slots}
        counts: dict[str, int] = {}
        position = -1
        for child in el:
            if not _is_element(child):
                continue
            qname = etree.QName(child)
            namespace, local = qname.namespace, qname.localname
            key = (namespace, local)
            if key not in index_of:
                count = counts[f"?{local}"] = counts.get(f"?{local}", 0) + 1
                child_path = f"{path}/{local}[{count}]"
                if local in by_name:
                    expected = by_name[local].ns
                    self.add(
                        child_path,
                        f"<{local}> is in {_ns_label(namespace)}; EDXL-RM puts it in {_ns_label(expected)}",
                    )
                else:
                    self.add(child_path, f"<{local}> ({_ns_label(namespace)}) is not allowed in <{node.name}>")
                continue
            slot = slots[index_of[key]]
            count = counts[local] = counts.get(local, 0) + 1
            child_path = f"{path}/{local}" if slot.max == 1 and count == 1 else f"{path}/{local}[{count}]"
            if slot.max is not None and count > slot.max:
                limit = f" ({slot.limit})" if slot.limit else ""
                self.add(child_path, f"<{local}> may appear at most {slot.max} time(s) in <{node.name}>{limit}")
            j = index_of[key]
            if j < position:
                self.add(child_path, f"is out of order: <{local}> must come before <{slots[position].name}>")
            else:
                position = j
            self.element(child, child_path, slot)
        for slot in slots:
            if counts.get(slot.name, 0) < slot.min:
                why = f" ({slot.required_note})" if slot.required_note else ""
                self.add(f"{path}/{slot.name}", f"required element <{slot.name}> is missing from <{node.name}>{why}")

    def location(self, el: Any, path: str) -> None:
        if not any(_is_element(child) for child in el):
            self.add(path, "<Location> must have a LocationDescription or a TargetArea")

    def message(self, root: Any) -> None:
        qname = etree.QName(root)
        namespace, local = qname.namespace, qname.localname
        path = f"/{local}"
        if namespace != RM_MSG_NS:
            kinds = ", ".join(MESSAGE_KINDS)
            self.add(
                path,
                f"the root element must be an EDXL-RM 1.0 message ({kinds}) in namespace '{RM_MSG_NS}', "
                f"found <{local}> in {_ns_label(namespace)}",
            )
            return
        if local not in _MESSAGES:
            if local in _ALL_RM_MESSAGES:
                reason = f"<{local}> is an EDXL-RM 1.0 message that Accord does not read"
            else:
                reason = f"<{local}> is not an EDXL-RM 1.0 message"
            self.add(path, f"{reason}; Accord reads {', '.join(MESSAGE_KINDS)}")
            return
        self.element(root, path, _MESSAGES[local])
        if self.problems:
            return
        # Rules across elements, on a tree whose shape is now known.
        seen: dict[str, str] = {}
        for index, info in enumerate(_children(root, "ResourceInformation"), start=1):
            info_path = f"{path}/ResourceInformation[{index}]"
            element_id = _text(_child(info, "ResourceInfoElementID"))
            if element_id in seen:
                self.add(
                    f"{info_path}/ResourceInfoElementID",
                    f"'{element_id}' is already used by {seen[element_id]}; element IDs are unique in a message",
                )
            seen.setdefault(element_id, f"ResourceInformation[{index}]")
            for s_index, schedule in enumerate(_children(info, "ScheduleInformation"), start=1):
                location = _child(schedule, "Location")
                if location is not None:
                    self.location(location, f"{info_path}/ScheduleInformation[{s_index}]/Location")


# --------------------------------------------------------------------------- tree -> model


def _children(el: Any, name: str) -> list[Any]:
    return [child for child in el if _is_element(child) and etree.QName(child).localname == name]


def _child(el: Any, name: str) -> Any:
    found = _children(el, name)
    return found[0] if found else None


def _text(el: Any) -> str:
    return "".join(el.itertext())


def _opt(el: Any, name: str) -> str | None:
    found = _child(el, name)
    return None if found is None else _text(found)


def _opt_token(el: Any, name: str) -> str | None:
    value = _opt(el, name)
    return None if value is None else value.strip(_XML_WS)


def _values(value_list: Any) -> list[str]:
    return [_text(value) for value in _children(value_list, "Value")]


def _read_contact(el: Any) -> RmContact:
    name = organisation = email = phone = None
    extra = _child(el, "AdditionalContactInformation")
    if extra is not None:
        party = _child(extra, "PartyName")
        if party is not None:
            person = _child(party, "PersonName")
            org = _child(party, "OrganisationName")
            name = None if person is None else _text(_child(person, "NameElement"))
            organisation = None if org is None else _text(_child(org, "NameElement"))
        numbers = _child(extra, "ContactNumbers")
        if numbers is not None:
            phone = _text(_child(_child(numbers, "ContactNumber"), "ContactNumberElement"))
        addresses = _child(extra, "ElectronicAddressIdentifiers")
        if addresses is not None:
            email = _text(_child(addresses, "ElectronicAddressIdentifier"))
    return RmContact(
        role=_text(_child(el, "ContactRole")),
        name=name,
        organisation=organisation,
        email=email,
        phone=phone,
        description=_opt(el, "ContactDescription"),
    )


def _read_schedule(el: Any) -> RmSchedule:
    at_el = _child(el, "DateTime")
    at = None if at_el is None else _parse_datetime(_text(at_el))[0]
    description = point = None
    location = _child(el, "Location")
    if location is not None:
        description = _opt(location, "LocationDescription")
        area = _child(location, "TargetArea")
        if area is not None:
            point = _parse_pos(_text(_child(_child(area, "Point"), "pos")))[0]
    return RmSchedule(kind=_text(_child(el, "ScheduleType")), at=at, location_description=description, point=point)


def _read_resource(el: Any) -> RmResource:
    fields: dict[str, Any] = {"element_id": _text(_child(el, "ResourceInfoElementID"))}
    response = _child(el, "ResponseInformation")
    if response is not None:
        fields["response"] = RmResponse(
            preceding_element_id=_text(_child(response, "PrecedingResourceInfoElementID")),
            response_type=cast(ResponseType, _text(_child(response, "ResponseType"))),
            reason_code=_opt(response, "ReasonCode"),
            reason=_opt(response, "ResponseReason"),
        )
    resource = _child(el, "Resource")
    if resource is not None:
        fields["resource_id"] = _opt(resource, "ResourceID")
        fields["name"] = _opt(resource, "Name")
        fields["description"] = _opt(resource, "Description")
        type_structure = _child(resource, "TypeStructure")
        if type_structure is not None:
            fields["type_list_urn"] = _text(_child(type_structure, "ValueListURN")).strip(_XML_WS)
            fields["type_value"] = _values(type_structure)[0]
        fields["keywords"] = tuple(value for keyword in _children(resource, "Keyword") for value in _values(keyword))
    assignment = _child(el, "AssignmentInformation")
    if assignment is not None:
        quantity = _child(assignment, "Quantity")
        if quantity is not None:
            measured = _child(quantity, "MeasuredQuantity")
            fields["quantity"] = Decimal(_text(_child(measured, "Amount")).strip(_XML_WS))
            unit = _child(measured, "UnitOfMeasure")
            if unit is not None:
                fields["unit_of_measure"] = _values(unit)[0]
        fields["restrictions"] = _opt(assignment, "Restrictions")
        fields["anticipated_function"] = _opt(assignment, "AnticipatedFunction")
        fields["order_id"] = _opt(assignment, "OrderID")
    fields["schedules"] = tuple(_read_schedule(schedule) for schedule in _children(el, "ScheduleInformation"))
    return RmResource(**fields)


def _read_message(root: Any) -> RmMessage:
    incident = _child(root, "IncidentInformation")
    sent_at, _reason = _parse_datetime(_text(_child(root, "SentDateTime")))
    assert sent_at is not None
    return RmMessage(
        kind=cast(MessageKind, etree.QName(root).localname),
        message_id=_text(_child(root, "MessageID")),
        sent_at=sent_at,
        resources=tuple(_read_resource(info) for info in _children(root, "ResourceInformation")),
        contacts=tuple(_read_contact(contact) for contact in _children(root, "ContactInformation")),
        description=_opt(root, "MessageDescription"),
        originating_message_id=_opt_token(root, "OriginatingMessageID"),
        preceding_message_id=_opt_token(root, "PrecedingMessageID"),
        incident_id=None if incident is None else _opt(incident, "IncidentID"),
        incident_description=None if incident is None else _opt(incident, "IncidentDescription"),
    )


# --------------------------------------------------------------------------- public API


def _root_or_problems(data: bytes) -> tuple[Any, list[RmProblem]]:
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"EDXL-RM documents are bytes, not {type(data).__name__}")
    if len(data) > MAX_DOCUMENT_BYTES:
        return None, [
            RmProblem(
                "/",
                f"the document is {len(data)} bytes; Accord reads EDXL-RM messages of at most "
                f"{MAX_DOCUMENT_BYTES} bytes (1 MiB) and did not parse it",
            )
        ]
    root, problems = parse_xml(bytes(data))
    if root is None:
        return None, [RmProblem(problem.path, problem.reason) for problem in problems]
    return root, []


def validate_rm(data: bytes) -> list[RmProblem]:
    """Every reason ``data`` is not an acceptable EDXL-RM 1.0 message for Accord (empty when it is)."""
    root, problems = _root_or_problems(data)
    if root is None:
        return problems
    validator = _Validator()
    validator.message(root)
    return validator.problems


def parse_rm(data: bytes) -> RmMessage:
    """Validate ``data`` and read it into an :class:`RmMessage`; raise :class:`RmInvalid` if it is not valid."""
    root, problems = _root_or_problems(data)
    if root is None:
        raise RmInvalid(problems)
    validator = _Validator()
    validator.message(root)
    if validator.problems:
        raise RmInvalid(validator.problems)
    return _read_message(root)


# --------------------------------------------------------------------------- model -> XML


class _Builder:
    def __init__(self) -> None:
        self.problems: list[RmProblem] = []

    def sub(self, parent: Any, ns: str, name: str, path: str, text: str | None = None) -> Any:
        el = etree.SubElement(parent, f"{{{ns}}}{name}")
        if text is not None:
            if not isinstance(text, str):
                self.problems.append(RmProblem(path, f"must be text, not {type(text).__name__}"))
                return el
            try:
                el.text = text
            except ValueError:
                self.problems.append(RmProblem(path, "contains characters that XML cannot carry"))
        return el

    def opt(self, parent: Any, ns: str, name: str, path: str, text: str | None) -> None:
        if text is not None:
            self.sub(parent, ns, name, f"{path}/{name}", text)

    def when(self, parent: Any, ns: str, name: str, path: str, value: datetime) -> None:
        text = _format_datetime(value) if isinstance(value, datetime) else None
        if text is None:
            self.problems.append(
                RmProblem(f"{path}/{name}", "must be an aware datetime with a whole-minute offset (naive is refused)")
            )
            text = ""
        self.sub(parent, ns, name, f"{path}/{name}", text)

    def value_list(self, parent: Any, ns: str, name: str, path: str, urn: str, values: Sequence[str]) -> None:
        el = self.sub(parent, ns, name, path)
        self.sub(el, RM_NS, "ValueListURN", f"{path}/ValueListURN", urn)
        for index, value in enumerate(values, start=1):
            self.sub(el, RM_NS, "Value", f"{path}/Value[{index}]", value)

    def message(self, message: RmMessage) -> Any:
        kind = message.kind
        if kind not in MESSAGE_KINDS:
            self.problems.append(RmProblem("/", f"'{kind}' is not a message kind Accord writes ({MESSAGE_KINDS})"))
            kind = "RequestResource"
        path = f"/{kind}"
        root = etree.Element(
            f"{{{RM_MSG_NS}}}{kind}",
            nsmap={None: RM_MSG_NS, "rm": RM_NS, "xpil": XPIL_NS, "xnl": XNL_NS, "gml": GML_NS},
        )
        self.sub(root, RM_MSG_NS, "MessageID", f"{path}/MessageID", message.message_id)
        self.when(root, RM_MSG_NS, "SentDateTime", path, message.sent_at)
        self.sub(root, RM_MSG_NS, "MessageContentType", f"{path}/MessageContentType", kind)
        self.opt(root, RM_MSG_NS, "MessageDescription", path, message.description)
        self.opt(root, RM_MSG_NS, "OriginatingMessageID", path, message.originating_message_id)
        self.opt(root, RM_MSG_NS, "PrecedingMessageID", path, message.preceding_message_id)
        if message.incident_id is not None or message.incident_description is not None:
            incident_path = f"{path}/IncidentInformation"
            incident = self.sub(root, RM_MSG_NS, "IncidentInformation", incident_path)
            self.opt(incident, RM_NS, "IncidentDescription", incident_path, message.incident_description)
            self.opt(incident, RM_NS, "IncidentID", incident_path, message.incident_id)
        for index, contact in enumerate(message.contacts, start=1):
            self.contact(root, contact, f"{path}/ContactInformation[{index}]")
        for index, resource in enumerate(message.resources, start=1):
            self.resource(root, resource, f"{path}/ResourceInformation[{index}]")
        return root

    def contact(self, parent: Any, contact: RmContact, path: str) -> None:
        el = self.sub(parent, RM_MSG_NS, "ContactInformation", path)
        self.opt(el, RM_NS, "ContactDescription", path, contact.description)
        self.sub(el, RM_NS, "ContactRole", f"{path}/ContactRole", contact.role)
        if all(value is None for value in (contact.name, contact.organisation, contact.phone, contact.email)):
            return
        extra_path = f"{path}/AdditionalContactInformation"
        extra = self.sub(el, RM_NS, "AdditionalContactInformation", extra_path)
        if contact.name is not None or contact.organisation is not None:
            party_path = f"{extra_path}/PartyName"
            party = self.sub(extra, XPIL_NS, "PartyName", party_path)
            for name, value in (("PersonName", contact.name), ("OrganisationName", contact.organisation)):
                if value is not None:
                    part = self.sub(party, XNL_NS, name, f"{party_path}/{name}")
                    self.sub(part, XNL_NS, "NameElement", f"{party_path}/{name}/NameElement", value)
        if contact.phone is not None:
            numbers = self.sub(extra, XPIL_NS, "ContactNumbers", f"{extra_path}/ContactNumbers")
            number = self.sub(numbers, XPIL_NS, "ContactNumber", f"{extra_path}/ContactNumbers/ContactNumber")
            self.sub(number, XPIL_NS, "ContactNumberElement", f"{extra_path}/ContactNumbers", contact.phone)
        if contact.email is not None:
            addresses_path = f"{extra_path}/ElectronicAddressIdentifiers"
            addresses = self.sub(extra, XPIL_NS, "ElectronicAddressIdentifiers", addresses_path)
            self.sub(addresses, XPIL_NS, "ElectronicAddressIdentifier", addresses_path, contact.email)

    def resource(self, parent: Any, resource: RmResource, path: str) -> None:
        el = self.sub(parent, RM_MSG_NS, "ResourceInformation", path)
        self.sub(el, RM_MSG_NS, "ResourceInfoElementID", f"{path}/ResourceInfoElementID", resource.element_id)
        if resource.response is not None:
            response_path = f"{path}/ResponseInformation"
            response = self.sub(el, RM_MSG_NS, "ResponseInformation", response_path)
            self.sub(
                response,
                RM_NS,
                "PrecedingResourceInfoElementID",
                f"{response_path}/PrecedingResourceInfoElementID",
                resource.response.preceding_element_id,
            )
            self.sub(response, RM_NS, "ResponseType", f"{response_path}/ResponseType", resource.response.response_type)
            self.opt(response, RM_NS, "ReasonCode", response_path, resource.response.reason_code)
            self.opt(response, RM_NS, "ResponseReason", response_path, resource.response.reason)
        if (resource.type_value is None) != (resource.type_list_urn is None):
            self.problems.append(
                RmProblem(
                    f"{path}/Resource/TypeStructure",
                    "a resource type needs both its value and the URN of its value list",
                )
            )
        described = (
            resource.resource_id,
            resource.name,
            resource.type_value,
            resource.type_list_urn,
            resource.description,
        )
        if any(value is not None for value in described) or resource.keywords:
            resource_path = f"{path}/Resource"
            res = self.sub(el, RM_MSG_NS, "Resource", resource_path)
            self.opt(res, RM_MSG_NS, "ResourceID", resource_path, resource.resource_id)
            self.opt(res, RM_MSG_NS, "Name", resource_path, resource.name)
            if resource.type_value is not None and resource.type_list_urn is not None:
                self.value_list(
                    res,
                    RM_MSG_NS,
                    "TypeStructure",
                    f"{resource_path}/TypeStructure",
                    resource.type_list_urn,
                    [resource.type_value],
                )
            if resource.keywords:
                self.value_list(
                    res, RM_MSG_NS, "Keyword", f"{resource_path}/Keyword", ACCORD_KEYWORD_LIST_URN, resource.keywords
                )
            self.opt(res, RM_MSG_NS, "Description", resource_path, resource.description)
        assigned = (resource.restrictions, resource.anticipated_function, resource.order_id)
        if resource.unit_of_measure is not None and resource.quantity is None:
            self.problems.append(
                RmProblem(f"{path}/AssignmentInformation/Quantity", "a unit of measure needs a quantity")
            )
        if resource.quantity is not None or any(value is not None for value in assigned):
            assignment_path = f"{path}/AssignmentInformation"
            assignment = self.sub(el, RM_MSG_NS, "AssignmentInformation", assignment_path)
            if resource.quantity is not None:
                self.quantity(assignment, resource, f"{assignment_path}/Quantity")
            self.opt(assignment, RM_MSG_NS, "Restrictions", assignment_path, resource.restrictions)
            self.opt(assignment, RM_MSG_NS, "AnticipatedFunction", assignment_path, resource.anticipated_function)
            self.opt(assignment, RM_MSG_NS, "OrderID", assignment_path, resource.order_id)
        for index, schedule in enumerate(resource.schedules, start=1):
            self.schedule(el, schedule, f"{path}/ScheduleInformation[{index}]")

    def quantity(self, parent: Any, resource: RmResource, path: str) -> None:
        quantity = resource.quantity
        el = self.sub(parent, RM_MSG_NS, "Quantity", path)
        measured = self.sub(el, RM_NS, "MeasuredQuantity", f"{path}/MeasuredQuantity")
        amount_path = f"{path}/MeasuredQuantity/Amount"
        if not isinstance(quantity, Decimal) or not quantity.is_finite():
            self.problems.append(RmProblem(amount_path, f"must be a finite Decimal, not {quantity!r}"))
            text = ""
        else:
            text = format(quantity, "f")
        self.sub(measured, RM_NS, "Amount", amount_path, text)
        if resource.unit_of_measure is not None:
            self.value_list(
                measured,
                RM_NS,
                "UnitOfMeasure",
                f"{path}/MeasuredQuantity/UnitOfMeasure",
                ACCORD_UNIT_LIST_URN,
                [resource.unit_of_measure],
            )

    def schedule(self, parent: Any, schedule: RmSchedule, path: str) -> None:
        el = self.sub(parent, RM_MSG_NS, "ScheduleInformation", path)
        self.sub(el, RM_MSG_NS, "ScheduleType", f"{path}/ScheduleType", schedule.kind)
        if schedule.at is not None:
            self.when(el, RM_MSG_NS, "DateTime", path, schedule.at)
        if schedule.location_description is None and schedule.point is None:
            return
        location_path = f"{path}/Location"
        location = self.sub(el, RM_MSG_NS, "Location", location_path)
        self.opt(location, RM_NS, "LocationDescription", location_path, schedule.location_description)
        if schedule.point is not None:
            area = self.sub(location, RM_NS, "TargetArea", f"{location_path}/TargetArea")
            point = self.sub(area, GML_NS, "Point", f"{location_path}/TargetArea/Point")
            pos_path = f"{location_path}/TargetArea/Point/pos"
            try:
                lon, lat = (float(value) for value in schedule.point)
            except (TypeError, ValueError):
                self.problems.append(RmProblem(pos_path, f"point {schedule.point!r} is not (lon, lat)"))
                return
            if not (math.isfinite(lon) and math.isfinite(lat)):
                self.problems.append(RmProblem(pos_path, f"point {schedule.point!r} is not finite"))
                return
            self.sub(point, GML_NS, "pos", pos_path, f"{lat!r} {lon!r}")


def build_rm(message: RmMessage) -> bytes:
    """EDXL-RM 1.0 XML (UTF-8, with an XML declaration) for ``message``.

    Raises :class:`RmInvalid` (a :class:`ValueError`) if the message cannot be written or what it
    would write is not valid; the output is re-validated before it is returned."""
    builder = _Builder()
    root = builder.message(message)
    if builder.problems:
        raise RmInvalid(builder.problems)
    body: bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8", pretty_print=True)
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
    problems = validate_rm(data)
    if problems:
        raise RmInvalid(problems)
    return data
