"""HTML pages of protocols: the list, each protocol as a readable, printable document
(numbered checklist, "who decides" badges, roles per agency kind, contacts), the editor,
version history with diffs, and the incident panel where responders read the protocols
attached to an incident. Same calls as the JSON API."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.directory.vocab import AGENCY_KINDS
from accord.operations import queries as incidents
from accord.operations.protocols import content, queries, service
from accord.operations.protocols.models import Protocol, ProtocolVersion
from accord.operations.protocols.policy import READ, WRITE
from accord.operations.protocols.schemas import ProtocolCreate, ProtocolEdit, ProtocolFilter, PublishRequest
from accord.operations.protocols.vocab import MAX_CONTACTS, MAX_STEPS, ROLES
from accord.operations.vocab import INCIDENT_TYPES
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission(READ))]
Write = Annotated[Actor, Depends(Permission(WRITE))]
Csrf = Depends(verify_csrf)

VOCAB = {"incident_types": INCIDENT_TYPES, "agency_kinds": AGENCY_KINDS, "roles": ROLES}
WHO_OPTIONS = {
    "Agency kind": [(f"agency_kind:{k}", v) for k, v in AGENCY_KINDS.items()],
    "Position (ICS)": [(f"role:{k}", v) for k, v in ROLES.items()],
}
SUMMARY = "Please correct the highlighted fields."
STEP_FIELDS = ("text", "actor", "question", "decided_by", "if_yes", "if_no")
BLANK_STEPS, BLANK_CONTACTS, MORE = 3, 2, 3


# --- reading a version ------------------------------------------------------------------------


def _names(db: Session, actor: Actor) -> dict[str, str]:
    return {str(a): name for a, name in directory.agency_options(db, actor)}


def version_view(version: ProtocolVersion, names: dict[str, str]) -> dict[str, Any]:
    """A version with its vocabulary words and agency names, ready to read."""
    steps = []
    for number, step in enumerate(version.steps, start=1):
        decision = step.get("decision")
        steps.append(
            {
                "number": number,
                "text": step.get("text", ""),
                "actor": content.who_label(step.get("actor")),
                "actor_kind": (step.get("actor") or {}).get("agency_kind"),
                "decision": (
                    {
                        "question": decision.get("question", ""),
                        "decided_by": content.who_label(decision.get("decided_by")),
                        "if_yes": decision.get("if_yes", ""),
                        "if_no": decision.get("if_no", ""),
                    }
                    if decision
                    else None
                ),
            }
        )
    return {
        "version": version,
        "types": [(t, INCIDENT_TYPES.get(t, t)) for t in version.incident_types],
        "steps": steps,
        "decisions": sum(1 for s in steps if s["decision"]),
        "roles": [
            (r["agency_kind"], AGENCY_KINDS.get(r["agency_kind"], r["agency_kind"]), r["role"]) for r in version.roles
        ],
        "contacts": [c | {"agency": names.get(str(c["agency_id"]), "agency not listed")} for c in version.contacts],
    }


def _summary_of(versions: list[ProtocolVersion]) -> dict[str, Any]:
    published = [v for v in versions if v.status == "published"]
    shown = published[-1] if published else (versions[-1] if versions else None)
    draft = versions[-1] if versions and versions[-1].status == "draft" else None
    return {"shown": shown, "current": published[-1] if published else None, "draft": draft}


@router.get("/protocols")
def protocols_page(request: Request, db: DB, actor: Read, incident_type: str = "", q: str = "") -> Response:
    filters = ProtocolFilter(
        incident_type=incident_type if incident_type in INCIDENT_TYPES else None, q=q[:100] or None, limit=200
    )
    rows, total = queries.list_protocols(db, actor, filters)
    versions = queries.visible_versions(db, actor, [p.id for p in rows])
    partnerships = queries.partnership_names(db, {p.partnership_id for p in rows})
    items = [
        {"protocol": p, "partnership": partnerships.get(p.partnership_id, ""), **_summary_of(versions[p.id])}
        for p in rows
    ]
    context = {
        "items": [i for i in items if i["shown"] is not None],
        "total": total,
        "filters": {"incident_type": filters.incident_type or "", "q": filters.q or ""},
        "can_write": actor.has(WRITE),
        **VOCAB,
    }
    return render(request, "protocols/list.html", context)


def _grouped(adoptions: list[queries.Adoption], names: dict[str, str]) -> list[dict[str, Any]]:
    """Adoptions per agreement clause and protocol version, with the agencies bound."""
    groups: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
    for a in adoptions:
        group = groups.setdefault((a.clause_id, a.protocol_version_number), {"adoption": a, "agencies": []})
        group["agencies"].append(names.get(str(a.agency_id), str(a.agency_id)))
    for group in groups.values():
        group["agencies"].sort()
    return list(groups.values())


def _document_context(db: Session, actor: Actor, protocol: Protocol, version: ProtocolVersion) -> dict[str, Any]:
    versions = queries.visible_versions(db, actor, [protocol.id])[protocol.id]
    names = _names(db, actor)
    writer = service.writer_agency(db, actor=actor, partnership_id=protocol.partnership_id)
    summary = _summary_of(versions)
    adoptions = queries.adoptions_of(db, actor, protocol.id)
    return {
        "protocol": protocol,
        "partnership": queries.partnership_names(db, {protocol.partnership_id}).get(protocol.partnership_id, ""),
        "view": version_view(version, names),
        "versions": list(reversed(versions)),
        "published": summary["current"],
        "open_draft": summary["draft"],
        "can_write": writer is not None,
        "adoptions": _grouped(adoptions, names),
        "rendered_at": utcnow(),
        **VOCAB,
    }


@router.get("/protocols/new")
def protocol_new(request: Request, db: DB, actor: Write, partnership_id: str = "") -> Response:
    return render(
        request, "protocols/editor.html", _editor_context(db, actor, None, {"partnership_id": partnership_id})
    )


@router.get("/protocols/{protocol_id}")
def protocol_page(request: Request, protocol_id: uuid.UUID, db: DB, actor: Read) -> Response:
    protocol = queries.get_protocol(db, actor, protocol_id)
    versions = queries.visible_versions(db, actor, [protocol.id])[protocol.id]
    shown = _summary_of(versions)["shown"]
    if shown is None:
        raise AccordError(message="protocol not found", status_code=404, code="not_found")
    return render(request, "protocols/document.html", _document_context(db, actor, protocol, shown))


@router.get("/protocols/{protocol_id}/versions/{number:int}")
def protocol_version_page(request: Request, protocol_id: uuid.UUID, number: int, db: DB, actor: Read) -> Response:
    protocol = queries.get_protocol(db, actor, protocol_id)
    version = queries.get_version(db, actor, protocol_id, number)
    return render(request, "protocols/document.html", _document_context(db, actor, protocol, version))


@router.get("/protocols/{protocol_id}/history")
def protocol_history(
    request: Request,
    protocol_id: uuid.UUID,
    db: DB,
    actor: Read,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=100_000)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=100_000)] = None,
) -> Response:
    protocol = queries.get_protocol(db, actor, protocol_id)
    versions = queries.visible_versions(db, actor, [protocol.id])[protocol.id]
    by_number = {v.number: v for v in versions}
    numbers = sorted(by_number)
    lines: list[tuple[str, str]] = []
    to_n = to_version if to_version in by_number else (numbers[-1] if numbers else None)
    from_n = from_version if from_version in by_number else None
    if from_n is None and to_n is not None:
        earlier = [n for n in numbers if n < to_n]
        from_n = earlier[-1] if earlier else None
    if from_n is not None and to_n is not None:
        lines = content.diff(by_number[from_n], by_number[to_n], _names(db, actor))
    names = _names(db, actor)
    context = {
        "protocol": protocol,
        "partnership": queries.partnership_names(db, {protocol.partnership_id}).get(protocol.partnership_id, ""),
        "versions": list(reversed(versions)),
        "numbers": numbers,
        "from_n": from_n,
        "to_n": to_n,
        "lines": lines,
        "changed": any(op != " " for op, _ in lines),
        "title": versions[-1].title if versions else "",
        "agency_names": names,
    }
    return render(request, "protocols/history.html", context)


# --- the editor -----------------------------------------------------------------------------


def _who_value(who: dict[str, Any] | None) -> str:
    if not who:
        return ""
    if who.get("agency_kind"):
        return f"agency_kind:{who['agency_kind']}"
    return f"role:{who.get('role')}" if who.get("role") else ""


def _form_from_version(version: ProtocolVersion) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": version.title,
        "summary": version.summary,
        "incident_types": version.incident_types,
        "step_rows": len(version.steps) + BLANK_STEPS,
        "contact_rows": len(version.contacts) + BLANK_CONTACTS,
    }
    for i, step in enumerate(version.steps):
        decision = step.get("decision") or {}
        form |= {
            f"step-{i}-text": step.get("text", ""),
            f"step-{i}-actor": _who_value(step.get("actor")),
            f"step-{i}-question": decision.get("question", ""),
            f"step-{i}-decided_by": _who_value(decision.get("decided_by")),
            f"step-{i}-if_yes": decision.get("if_yes", ""),
            f"step-{i}-if_no": decision.get("if_no", ""),
        }
    for role in version.roles:
        form[f"role-{role['agency_kind']}"] = role["role"]
    for i, contact in enumerate(version.contacts):
        form |= {f"contact-{i}-{k}": str(contact.get(k, "")) for k in ("name", "agency_id", "phone", "role")}
    return form


def _editor_context(
    db: Session, actor: Actor, protocol: Protocol | None, form: dict[str, Any], errors: dict[str, str] | None = None
) -> dict[str, Any]:
    form.setdefault("step_rows", BLANK_STEPS + 2)
    form.setdefault("contact_rows", BLANK_CONTACTS)
    form.setdefault("incident_types", [])
    latest = protocol.latest if protocol is not None else None
    partnerships = []
    if protocol is None:
        from accord.agreements import queries as agreements

        partnerships = [
            (str(p.id), p.name)
            for p in agreements.list_partnerships(db, actor)
            if service.writer_agency(db, actor=actor, partnership_id=p.id) is not None
        ]
    return {
        "protocol": protocol,
        "latest": latest,
        "opens_new_version": latest is not None and latest.status == "published",
        "form": form,
        "errors": errors or {},
        "partnership_options": partnerships,
        "agency_options": [(str(a), n) for a, n in directory.agency_options(db, actor)],
        "who_options": WHO_OPTIONS,
        "step_rows": min(int(form["step_rows"]), MAX_STEPS + BLANK_STEPS),
        "contact_rows": min(int(form["contact_rows"]), MAX_CONTACTS + BLANK_CONTACTS),
        **VOCAB,
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def _rows(form: FormData, name: str, default: int, limit: int) -> int:
    try:
        return max(0, min(int(_text(form, name) or default), limit))
    except ValueError:
        return default


def _who(value: str) -> dict[str, str]:
    kind, _, key = value.partition(":")
    return {kind: key} if kind in ("agency_kind", "role") and key else {}


def _parse(form: FormData) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
    """The form as the API's body; what was sent (to show again); and, per list, which
    form row each item came from (blank rows are dropped), to put errors next to it."""
    sent: dict[str, Any] = {k: _text(form, k) for k in form if k != "csrf_token"}
    sent["incident_types"] = [v for v in form.getlist("incident_types") if isinstance(v, str)]
    step_rows = _rows(form, "step_rows", 0, MAX_STEPS + BLANK_STEPS * 20)
    contact_rows = _rows(form, "contact_rows", 0, MAX_CONTACTS + BLANK_CONTACTS * 20)
    sent["step_rows"], sent["contact_rows"] = step_rows, contact_rows
    rows: dict[str, list[str]] = {"steps": [], "roles": [], "contacts": []}
    steps = []
    for i in range(step_rows):
        fields = {
            k: _text(form, f"step-{i}-{k}") for k in ("text", "actor", "question", "decided_by", "if_yes", "if_no")
        }
        if not any(fields.values()):
            continue
        step: dict[str, Any] = {"text": fields["text"], "actor": _who(fields["actor"])}
        if fields["question"] or fields["decided_by"] or fields["if_yes"] or fields["if_no"]:
            step["decision"] = {
                "question": fields["question"],
                "decided_by": _who(fields["decided_by"]),
                "if_yes": fields["if_yes"],
                "if_no": fields["if_no"],
            }
        steps.append(step)
        rows["steps"].append(f"step-{i}")
    roles = []
    for kind in AGENCY_KINDS:
        text = _text(form, f"role-{kind}")
        if text:
            roles.append({"agency_kind": kind, "role": text})
            rows["roles"].append(f"role-{kind}")
    contacts = []
    for i in range(contact_rows):
        fields = {k: _text(form, f"contact-{i}-{k}") for k in ("name", "agency_id", "phone", "role")}
        if not any(fields.values()):
            continue
        contacts.append({k: v or None for k, v in fields.items()})
        rows["contacts"].append(f"contact-{i}")
    body = {
        "title": _text(form, "title"),
        "summary": _text(form, "summary"),
        "incident_types": sent["incident_types"],
        "steps": steps,
        "roles": roles,
        "contacts": contacts,
    }
    return body, sent, rows


FRIENDLY = {
    "missing": "required",
    "string_type": "required",
    "uuid_parsing": "choose one of the options offered",
    "uuid_type": "choose one of the options offered",
    "too_short": "add at least one",
}
SUBFIELDS = {"actor": "actor", "decided_by": "decided_by", "question": "question", "if_yes": "if_yes", "if_no": "if_no"}


def _form_key(path: list[str | int], rows: dict[str, list[str]]) -> str:
    """Where a problem at API ``path`` shows on the form."""
    if len(path) >= 2 and path[0] in rows and isinstance(path[1], int) and path[1] < len(rows[str(path[0])]):
        row = rows[str(path[0])][path[1]]
        if path[0] == "roles":
            return row
        rest = [str(p) for p in path[2:]]
        if path[0] == "steps":
            if rest[:1] == ["decision"]:
                return f"{row}-{rest[1] if len(rest) > 1 and rest[1] in SUBFIELDS else 'question'}"
            return f"{row}-{rest[0] if rest and rest[0] in ('text', 'actor') else 'text'}"
        return f"{row}-{rest[0] if rest else 'name'}"
    return str(path[0]) if path else "form"


def _reason(key: str, kind: str, message: str) -> str:
    if key.endswith(("-actor", "-decided_by")) and "exactly one" in message:
        return "choose who" + (" acts" if key.endswith("-actor") else " decides")
    if key.startswith("role-") and kind == "string_too_short":
        return "write at least 3 characters, or leave it empty"
    return FRIENDLY.get(kind) or message.removeprefix("Value error, ")


def _errors(exc: Exception, rows: dict[str, list[str]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors(include_url=False):
            key = _form_key(list(err["loc"]), rows)
            errors.setdefault(key, _reason(key, err["type"], str(err["msg"])))
    elif isinstance(exc, AccordError):
        if exc.status_code in (401, 403, 404):
            raise exc
        for problem in exc.problems:
            path: list[str | int] = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", problem.field)]
            errors.setdefault(_form_key(path, rows), problem.reason)
        if not exc.problems:
            errors["form"] = exc.message
    return errors


def _status(exc: Exception) -> int:
    return exc.status_code if isinstance(exc, AccordError) else 422


def _more(form: FormData, sent: dict[str, Any]) -> bool:
    """ "Add more steps/contacts" re-shows the form with blank rows, saving nothing."""
    wanted = _text(form, "more")
    if wanted == "steps":
        sent["step_rows"] = int(sent["step_rows"]) + MORE
    elif wanted == "contacts":
        sent["contact_rows"] = int(sent["contact_rows"]) + MORE
    return wanted in ("steps", "contacts")


@router.post("/protocols/new", dependencies=[Csrf])
async def protocol_create(request: Request, db: DB, actor: Write) -> Response:
    form = await request.form()
    body, sent, rows = _parse(form)
    if _more(form, sent):
        return render(request, "protocols/editor.html", _editor_context(db, actor, None, sent))
    try:
        protocol = service.create_protocol(
            db, actor=actor, data=ProtocolCreate(**body, partnership_id=_text(form, "partnership_id") or None)
        )
    except (ValidationError, AccordError) as exc:
        db.rollback()
        context = _editor_context(db, actor, None, sent, _errors(exc, rows)) | {"message": SUMMARY}
        return render(
            request, "protocols/editor.html", context, 422 if isinstance(exc, ValidationError) else exc.status_code
        )
    db.commit()
    flash(request, "success", "Draft saved as version 1. Review it with your partners, then publish it.")
    return redirect(request, f"/protocols/{protocol.id}")


@router.get("/protocols/{protocol_id}/edit")
def protocol_edit(request: Request, protocol_id: uuid.UUID, db: DB, actor: Write) -> Response:
    protocol = queries.get_protocol(db, actor, protocol_id)
    if service.writer_agency(db, actor=actor, partnership_id=protocol.partnership_id) is None:
        raise PermissionDenied(WRITE, reason="only the partnership's members write its protocols")
    context = _editor_context(db, actor, protocol, _form_from_version(protocol.latest))
    return render(request, "protocols/editor.html", context)


@router.post("/protocols/{protocol_id}/edit", dependencies=[Csrf])
async def protocol_save(request: Request, protocol_id: uuid.UUID, db: DB, actor: Write) -> Response:
    protocol = queries.get_protocol(db, actor, protocol_id)
    form = await request.form()
    body, sent, rows = _parse(form)
    if _more(form, sent):
        return render(request, "protocols/editor.html", _editor_context(db, actor, protocol, sent))
    try:
        protocol = service.edit_protocol(db, actor=actor, protocol_id=protocol_id, data=ProtocolEdit(**body))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        protocol = queries.get_protocol(db, actor, protocol_id)
        context = _editor_context(db, actor, protocol, sent, _errors(exc, rows)) | {"message": SUMMARY}
        return render(
            request, "protocols/editor.html", context, 422 if isinstance(exc, ValidationError) else exc.status_code
        )
    db.commit()
    flash(request, "success", f"Draft version {protocol.latest.number} saved. Publish it when the partners agree.")
    return redirect(request, f"/protocols/{protocol_id}/versions/{protocol.latest.number}")


@router.post("/protocols/{protocol_id}/publish", dependencies=[Csrf])
async def protocol_publish(request: Request, protocol_id: uuid.UUID, db: DB, actor: Write) -> Response:
    form = await request.form()
    try:
        data = PublishRequest.model_validate({"version": _text(form, "version")})
        protocol = service.publish_protocol(db, actor=actor, protocol_id=protocol_id, data=data)
    except (ValidationError, AccordError) as exc:
        db.rollback()
        if isinstance(exc, AccordError) and exc.status_code in (401, 403, 404):
            raise
        flash(request, "error", str(exc.problems[0].reason) if isinstance(exc, AccordError) else SUMMARY)
        return redirect(request, f"/protocols/{protocol_id}")
    db.commit()
    version = protocol.latest
    flash(request, "success", f"Version {version.number} published and frozen (SHA-256 {version.content_hash}).")
    return redirect(request, f"/protocols/{protocol_id}")


# --- the incident panel -----------------------------------------------------------------------


def _has_incident_page(request: Request) -> bool:
    paths: Any = getattr(request.app.state, "page_paths", frozenset())
    return any(p.startswith("/incidents/{") and p.count("/") == 2 for p in paths)


@router.get("/incidents/{incident_id}/protocols")
def incident_protocols_page(request: Request, incident_id: uuid.UUID, db: DB, actor: Read) -> Response:
    attached = queries.protocols_for_incident(db, actor, incident_id)
    incident = incidents.get_incident(db, actor, incident_id)
    names = _names(db, actor)
    mine = set()
    for agency_id in actor.agency_ids:
        try:
            mine.add(directory.get_agency(db, actor, agency_id).kind)
        except AccordError:
            continue
    context = {
        "incident": incident,
        "incident_type": INCIDENT_TYPES.get(incident.type, incident.type),
        "lead": names.get(str(incident.lead_agency_id), ""),
        "attached": [
            {
                "view": version_view(a.version, names),
                "adopted": [(x, names.get(str(x.agency_id), str(x.agency_id))) for x in a.adopted_through],
            }
            for a in attached
        ],
        "my_kinds": mine,
        "incident_page": _has_incident_page(request),
        **VOCAB,
    }
    return render(request, "protocols/incident.html", context)
