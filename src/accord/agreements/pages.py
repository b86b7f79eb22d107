"""HTML pages of partnerships and agreements: lists, partnership governance (members,
liaisons, bodies, decisions, disputes), drafting with a clause editor, the signing flow,
lifecycle commands, version diffs, and each version as a printable document and PDF."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from accord.agreements import clause_kinds, lifecycle, queries, service
from accord.agreements.models import Agreement, AgreementVersion, Clause, Partnership
from accord.agreements.schemas import (
    AgreementDraft,
    AgreementEdit,
    AgreementFilter,
    BodyCreate,
    DecisionCreate,
    DisputeCreate,
    DisputeResolve,
    MemberAdd,
    MemberUpdate,
    MutualAidTerms,
    OptOutRequest,
    OptOutTerms,
    PartnershipCreate,
    ProtocolTerms,
    SharingTerms,
    SignRequest,
    TerminateRequest,
)
from accord.agreements.vocab import (
    AGREEMENT_KINDS,
    BODY_KINDS,
    CLAUSE_TIERS,
    LABELS,
    PARTNERSHIP_KINDS,
    PURPOSES,
    RECORD_CATEGORIES,
    VOTE_OUTCOMES,
)
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.authz.roles import BUILTIN_ROLES
from accord.core.deps import DB
from accord.core.errors import AccordError, InvalidInput, NotFound, PermissionDenied
from accord.core.time import as_utc, utcnow
from accord.directory import queries as directory
from accord.directory.schemas import PersonFilter
from accord.web.forms import errors_of, form_dict
from accord.web.pdf import render_pdf
from accord.web.templating import flash, redirect, render, templates, verify_csrf

router = APIRouter(include_in_schema=False)

READ_PARTNERSHIP = "agreements:partnership:read"
MANAGE_PARTNERSHIP = "agreements:partnership:manage"
READ_AGREEMENT = "agreements:agreement:read"
DRAFT = "agreements:agreement:draft"
SIGN = "agreements:agreement:sign"
MANAGE = "agreements:agreement:manage"

ReadPartnerships = Annotated[Actor, Depends(Permission(READ_PARTNERSHIP))]
ManagePartnerships = Annotated[Actor, Depends(Permission(MANAGE_PARTNERSHIP))]
ReadAgreements = Annotated[Actor, Depends(Permission(READ_AGREEMENT))]
DraftAgreements = Annotated[Actor, Depends(Permission(DRAFT))]
SignAgreements = Annotated[Actor, Depends(Permission(SIGN))]
ManageAgreements = Annotated[Actor, Depends(Permission(MANAGE))]
Csrf = Depends(verify_csrf)

CLAUSE_KINDS = {
    "sharing": "Information sharing",
    "opt_out": "Opt-out",
    "mutual_aid": "Mutual aid",
    "protocol": "Protocol adoption",
}
CLAUSE_MODELS: dict[str, type[SharingTerms] | type[OptOutTerms] | type[MutualAidTerms] | type[ProtocolTerms]] = {
    "sharing": SharingTerms,
    "opt_out": OptOutTerms,
    "mutual_aid": MutualAidTerms,
    "protocol": ProtocolTerms,
}
ROLE_LABELS = {r.name: r.label for r in BUILTIN_ROLES if not r.platform}
COMMON_ZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
)
VOCAB = {
    "partnership_kinds": PARTNERSHIP_KINDS,
    "agreement_kinds": AGREEMENT_KINDS,
    "body_kinds": BODY_KINDS,
    "vote_outcomes": VOTE_OUTCOMES,
    "categories": RECORD_CATEGORIES,
    "purposes": PURPOSES,
    "labels": LABELS,
    "clause_kinds": CLAUSE_KINDS,
    "clause_tiers": CLAUSE_TIERS,
    "role_labels": ROLE_LABELS,
    "zones": COMMON_ZONES,
}
STATE_BADGES = {
    "active": "ok",
    "proposed": "warn",
    "draft": "muted",
    "signed": "role",
    "suspended": "danger",
    "terminated": "danger",
    "expired": "muted",
    "superseded": "muted",
    "withdrawn": "muted",
}
SUMMARY = "Please correct the highlighted fields."


# --- form helpers ------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    """A field's text, trimmed, with the CRLF line breaks browsers send made plain LF."""
    value = form.get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def _list(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


def _optional(form: FormData, name: str) -> str | None:
    return _text(form, name) or None


def _flag(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def _values(form: FormData) -> dict[str, Any]:
    """What was sent, to fill the form in again (lists for repeated names)."""
    values: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if len(items) > 1 else (items[0] if items else "")
    return values


FRIENDLY = {
    "literal_error": "choose one of the options offered",
    "enum": "choose one of the options offered",
    "uuid_parsing": "choose one of the options offered",
    "uuid_type": "choose one of the options offered",
    "missing": "required",
    "date_parsing": "enter a date, e.g. 2026-03-02",
    "date_from_datetime_parsing": "enter a date, e.g. 2026-03-02",
    "datetime_parsing": "enter a date and time, e.g. 2026-03-02T09:00",
    "datetime_from_date_parsing": "enter a date and time, e.g. 2026-03-02T09:00",
    "datetime_type": "enter a date and time, e.g. 2026-03-02T09:00",
    "int_parsing": "enter a whole number",
}


def _message(err: Any) -> str:
    """A validation error as a person reads it next to a form field."""
    if err["type"] == "extra_forbidden":
        return "unknown field"
    minimum = (err.get("ctx") or {}).get("min_length")
    if err["type"] == "too_short" and minimum is not None:
        return "choose at least one" if minimum == 1 else f"choose at least {minimum}"
    if err["type"] == "string_too_short" and minimum is not None:
        return f"enter at least {minimum} characters"
    return FRIENDLY.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")


def _problems(exc: Exception, fallback: str = "form") -> tuple[dict[str, str], str]:
    """Per-field messages: like ``web.forms.errors_of`` but a rule spanning several fields
    (no location) is shown next to ``fallback``. Refusals (401/403/404) are raised again."""
    if isinstance(exc, ValidationError):
        fields: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else fallback
            fields.setdefault(name, _message(err))
        return fields, SUMMARY
    fields, _ = errors_of(exc)
    return fields, _summary(exc)


def _summary(exc: Exception) -> str:
    """The refusal in words, without the API's field paths (the fields show their own)."""
    if isinstance(exc, AccordError) and exc.problems:
        text = "; ".join(dict.fromkeys(p.reason for p in exc.problems))
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    return str(exc)


def _clause_problems(exc: Exception) -> tuple[dict[str, str], str]:
    """Errors of one clause: the service names it ``clauses[i].providers[0]``; the form
    names the field ``providers``."""
    if isinstance(exc, AccordError) and exc.status_code not in (401, 403, 404):
        fields: dict[str, str] = {}
        for problem in exc.problems:
            if not problem.field.startswith("clauses["):
                return errors_of(exc)[0], _summary(exc)
            name = re.sub(r"^clauses\[\d+\]\.?", "", problem.field)
            fields.setdefault(re.split(r"[.\[]", name)[0] or "kind", problem.reason)
        return fields, SUMMARY
    return _problems(exc, fallback="reshare_allowed")  # the one rule spanning fields: AMBER+STRICT


def _status(exc: Exception) -> int:
    return exc.status_code if isinstance(exc, AccordError) else 422


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _moment(form: FormData, name: str) -> datetime | str | None:
    """A date-time field: ISO 8601 with an offset as given, or a local time in the form's
    time zone (``tz``). Without either it stays naive, and the schema says so."""
    raw = _text(form, name)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the schema explains what a date-time looks like
    zone = _text(form, "tz")
    if parsed.tzinfo is None and zone:
        if zone not in _known_zones():
            raise InvalidInput("tz", "unknown time zone; choose one from the list")
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed


def _local(moment: datetime | None) -> str:
    """A stored (UTC) moment as the value of a datetime-local input in UTC."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _names(db: DB, actor: Actor) -> dict[uuid.UUID, str]:
    return dict(directory.agency_options(db, actor))


def _chosen_first(options: list[tuple[uuid.UUID, str]], chosen: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """Agency options with the chosen ones on top (long lists scroll; the parties stay in view)."""
    return sorted(options, key=lambda option: option[0] not in chosen)


# --- partnerships ------------------------------------------------------------------------


@router.get("/partnerships")
def partnerships_page(request: Request, db: DB, actor: ReadPartnerships) -> Response:
    items = queries.list_partnerships(db, actor)
    context = {
        "partnerships": items,
        "agency_names": _names(db, actor),
        "can_create": actor.has(MANAGE_PARTNERSHIP),
        **VOCAB,
    }
    return render(request, "agreements/partnerships.html", context)


def _partnership_form(db: DB, actor: Actor, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"form": values, "errors": errors, "agency_options": directory.agency_options(db, actor), **VOCAB}


@router.get("/partnerships/new")
def partnership_new(request: Request, db: DB, actor: ManagePartnerships) -> Response:
    mine = [str(a) for a, _ in directory.agency_options(db, actor) if actor.has(MANAGE_PARTNERSHIP, a)]
    values = {"members": mine, "starts_on": utcnow().date().isoformat()}
    return render(request, "agreements/partnership_form.html", _partnership_form(db, actor, values, {}))


@router.post("/partnerships/new", dependencies=[Csrf])
async def partnership_create(request: Request, db: DB, actor: ManagePartnerships) -> Response:
    form = await request.form()
    payload = {
        "name": _text(form, "name"),
        "kind": _text(form, "kind"),
        "purpose": _text(form, "purpose"),
        "starts_on": _text(form, "starts_on"),
        "ends_on": _optional(form, "ends_on"),
        "members": _list(form, "members"),
    }
    try:
        partnership = service.create_partnership(db, actor=actor, data=PartnershipCreate(**payload))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = _problems(exc, fallback="ends_on")
        values = {**payload, "ends_on": payload["ends_on"] or ""}
        context = {**_partnership_form(db, actor, values, errors), "message": message}
        return render(request, "agreements/partnership_form.html", context, _status(exc))
    db.commit()
    flash(request, "success", f"{partnership.name} is formed. Add its governance bodies and liaisons here.")
    return redirect(request, f"/partnerships/{partnership.id}")


def _people_of(db: DB, actor: Actor, agency_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    people, _ = directory.list_people(db, actor, PersonFilter(agency_id=agency_id, limit=500))
    return [(p.id, f"{p.full_name}, {p.title}" if p.title else p.full_name) for p in people]


def _partnership_context(
    db: DB,
    actor: Actor,
    partnership_id: uuid.UUID,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    message: str = "",
) -> dict[str, Any]:
    partnership = queries.get_partnership(db, actor, partnership_id)
    names = _names(db, actor)
    current = [m for m in partnership.members if m.left_at is None]
    current_ids = {m.agency_id for m in current}
    people = {m.agency_id: _people_of(db, actor, m.agency_id) for m in current}
    person_names = {pid: label for options in people.values() for pid, label in options}
    bodies = queries.bodies_of(db, actor, partnership.id)
    for body in bodies:
        for raw in body.member_person_ids:
            person_id = uuid.UUID(str(raw))
            if person_id not in person_names:
                try:
                    person_names[person_id] = directory.get_person(db, actor, person_id).full_name
                except NotFound:
                    person_names[person_id] = "(no longer in the directory)"
    for member in partnership.members:
        if member.liaison_person_id and member.liaison_person_id not in person_names:
            try:
                person_names[member.liaison_person_id] = directory.get_person(
                    db, actor, member.liaison_person_id
                ).full_name
            except NotFound:
                person_names[member.liaison_person_id] = "(no longer in the directory)"
    agreements, _ = queries.list_agreements(db, actor, AgreementFilter(partnership_id=partnership.id, limit=100))
    values = values or {}
    chosen = values.get("member", {}).get("agency_id", "")
    try:
        member_people = _people_of(db, actor, uuid.UUID(chosen)) if chosen else []
    except ValueError:
        member_people = []
    now = utcnow()
    return {
        "partnership": partnership,
        "members": [
            {
                "member": m,
                "name": names.get(m.agency_id, str(m.agency_id)),
                "liaison": person_names.get(m.liaison_person_id) if m.liaison_person_id else None,
                "people": people.get(m.agency_id, []),
                "mine": actor.has(MANAGE_PARTNERSHIP, m.agency_id) and m.left_at is None,
            }
            for m in sorted(
                partnership.members, key=lambda m: (m.left_at is not None, names.get(m.agency_id, str(m.agency_id)))
            )
        ],
        "bodies": bodies,
        "body_members": {b.id: [person_names[uuid.UUID(str(p))] for p in b.member_person_ids] for b in bodies},
        "decisions": queries.decisions_of(db, [b.id for b in bodies]),
        "disputes": queries.disputes_of(db, actor, partnership.id),
        "agreements": [(a, lifecycle.agreement_state(a, now)) for a in agreements],
        "agency_names": names,
        "person_names": person_names,
        "people_by_agency": [(names.get(a, str(a)), people[a]) for a in sorted(people, key=lambda a: names.get(a, ""))],
        "candidates": [(a, n) for a, n in names.items() if a not in current_ids],
        "member_people": member_people,
        "can_manage": any(actor.has(MANAGE_PARTNERSHIP, a) for a in current_ids),
        "can_draft": any(actor.has(DRAFT, a) for a in current_ids),
        "dispute_agencies": [(a, names.get(a, str(a))) for a in current_ids if actor.has(MANAGE_PARTNERSHIP, a)],
        "errors": errors or {},
        "values": values,
        "message": message,
        "today": now.date().isoformat(),
        **VOCAB,
    }


@router.get("/partnerships/{partnership_id}")
def partnership_page(request: Request, partnership_id: uuid.UUID, db: DB, actor: ReadPartnerships) -> Response:
    return render(request, "agreements/partnership.html", _partnership_context(db, actor, partnership_id))


@router.get("/partnerships/{partnership_id}/people")
def partnership_people_options(
    request: Request, partnership_id: uuid.UUID, db: DB, actor: ManagePartnerships, agency_id: str = ""
) -> Response:
    """The people of one agency as <option>s (htmx fills the liaison list of the add-member form)."""
    queries.get_partnership(db, actor, partnership_id)
    try:
        people = _people_of(db, actor, uuid.UUID(agency_id)) if agency_id else []
    except ValueError:
        people = []
    return render(request, "agreements/_people_options.html", {"people": people})


def _partnership_failed(
    request: Request,
    db: DB,
    actor: Actor,
    partnership_id: uuid.UUID,
    key: str,
    form: FormData,
    exc: Exception,
    fallback: str = "form",
) -> Response:
    db.rollback()
    errors, message = _problems(exc, fallback)
    context = _partnership_context(
        db, actor, partnership_id, errors={key: errors}, values={key: _values(form)}, message=message
    )
    return render(request, "agreements/partnership.html", context, _status(exc))


@router.post("/partnerships/{partnership_id}/members", dependencies=[Csrf])
async def partnership_member_add(
    request: Request, partnership_id: uuid.UUID, db: DB, actor: ManagePartnerships
) -> Response:
    form = await request.form()
    payload = {"agency_id": _text(form, "agency_id"), "liaison_person_id": _optional(form, "liaison_person_id")}
    try:
        data = MemberAdd(**payload)
        service.add_member(db, actor=actor, partnership_id=partnership_id, data=data)
    except (ValidationError, AccordError) as exc:
        return _partnership_failed(request, db, actor, partnership_id, "member", form, exc)
    db.commit()
    name = _names(db, actor).get(data.agency_id, "The agency")
    flash(request, "success", f"{name} joined the partnership.")
    return redirect(request, f"/partnerships/{partnership_id}#members")


@router.post("/partnerships/{partnership_id}/members/{agency_id}/leave", dependencies=[Csrf])
def partnership_member_leave(
    request: Request, partnership_id: uuid.UUID, agency_id: uuid.UUID, db: DB, actor: ManagePartnerships
) -> Response:
    try:
        service.leave_partnership(db, actor=actor, partnership_id=partnership_id, agency_id=agency_id)
    except AccordError as exc:
        return _partnership_failed(request, db, actor, partnership_id, "leave", FormData(), exc)
    db.commit()
    name = _names(db, actor).get(agency_id, "The agency")
    flash(request, "success", f"{name} left the partnership; its membership history is kept.")
    try:
        queries.get_partnership(db, actor, partnership_id)
    except NotFound:
        return redirect(request, "/partnerships")
    return redirect(request, f"/partnerships/{partnership_id}#members")


@router.post("/partnerships/{partnership_id}/members/{agency_id}/liaison", dependencies=[Csrf])
async def partnership_liaison(
    request: Request, partnership_id: uuid.UUID, agency_id: uuid.UUID, db: DB, actor: ManagePartnerships
) -> Response:
    form = await request.form()
    try:
        data = MemberUpdate(liaison_person_id=_optional(form, "liaison_person_id"))
        service.set_liaison(db, actor=actor, partnership_id=partnership_id, agency_id=agency_id, data=data)
    except (ValidationError, AccordError) as exc:
        return _partnership_failed(request, db, actor, partnership_id, f"liaison:{agency_id}", form, exc)
    db.commit()
    flash(request, "success", "Liaison officer saved." if data.liaison_person_id else "Liaison officer cleared.")
    return redirect(request, f"/partnerships/{partnership_id}#members")


@router.post("/partnerships/{partnership_id}/bodies", dependencies=[Csrf])
async def partnership_body_create(
    request: Request, partnership_id: uuid.UUID, db: DB, actor: ManagePartnerships
) -> Response:
    form = await request.form()
    payload = {
        "kind": _text(form, "kind"),
        "name": _text(form, "name"),
        "member_person_ids": _list(form, "member_person_ids"),
    }
    try:
        body = service.create_body(db, actor=actor, partnership_id=partnership_id, data=BodyCreate(**payload))
    except (ValidationError, AccordError) as exc:
        return _partnership_failed(request, db, actor, partnership_id, "body", form, exc)
    db.commit()
    flash(request, "success", f"{body.name} is set up.")
    return redirect(request, f"/partnerships/{partnership_id}#governance")


@router.post("/governance-bodies/{body_id}/decisions", dependencies=[Csrf])
async def decision_record(request: Request, body_id: uuid.UUID, db: DB, actor: ManagePartnerships) -> Response:
    form = await request.form()
    body = queries.get_body(db, actor, body_id)
    partnership_id = body.partnership_id
    payload: dict[str, Any] = {
        "decided_on": _text(form, "decided_on"),
        "text": _text(form, "text"),
        "outcome": _text(form, "outcome"),
    }
    for count in ("votes_for", "votes_against", "abstentions"):
        if _text(form, count):
            payload[count] = _text(form, count)
    try:
        service.record_decision(db, actor=actor, body_id=body_id, data=DecisionCreate(**payload))
    except (ValidationError, AccordError) as exc:
        return _partnership_failed(request, db, actor, partnership_id, f"decision:{body_id}", form, exc)
    db.commit()
    flash(request, "success", "Decision recorded.")
    return redirect(request, f"/partnerships/{partnership_id}#body-{body_id}")


@router.post("/partnerships/{partnership_id}/disputes", dependencies=[Csrf])
async def dispute_raise(request: Request, partnership_id: uuid.UUID, db: DB, actor: ManagePartnerships) -> Response:
    form = await request.form()
    payload = {
        "raised_by_agency_id": _text(form, "raised_by_agency_id"),
        "subject": _text(form, "subject"),
        "description": _text(form, "description"),
    }
    try:
        service.raise_dispute(db, actor=actor, partnership_id=partnership_id, data=DisputeCreate(**payload))
    except (ValidationError, AccordError) as exc:
        return _partnership_failed(request, db, actor, partnership_id, "dispute", form, exc)
    db.commit()
    flash(request, "success", "Dispute opened. Members see it here until it is resolved.")
    return redirect(request, f"/partnerships/{partnership_id}#disputes")


@router.post("/disputes/{dispute_id}/resolve", dependencies=[Csrf])
async def dispute_resolve(request: Request, dispute_id: uuid.UUID, db: DB, actor: ManagePartnerships) -> Response:
    form = await request.form()
    dispute = queries.get_dispute(db, actor, dispute_id)
    partnership_id = dispute.partnership_id
    try:
        data = DisputeResolve(resolution=_text(form, "resolution"))
        service.resolve_dispute(db, actor=actor, dispute_id=dispute_id, data=data)
    except (ValidationError, AccordError) as exc:
        return _partnership_failed(request, db, actor, partnership_id, f"resolve:{dispute_id}", form, exc)
    db.commit()
    flash(request, "success", "Resolution recorded.")
    return redirect(request, f"/partnerships/{partnership_id}#disputes")


# --- agreements: list, new ----------------------------------------------------------------


@router.get("/agreements")
def agreements_page(request: Request, db: DB, actor: ReadAgreements) -> Response:
    rows, total = queries.list_agreements(db, actor, AgreementFilter(limit=200))
    now = utcnow()
    context = {
        "agreements": [(a, lifecycle.agreement_state(a, now)) for a in rows],
        "total": total,
        "agency_names": _names(db, actor),
        "can_draft": actor.has(DRAFT),
        "state_badges": STATE_BADGES,
        **VOCAB,
    }
    return render(request, "agreements/list.html", context)


def _agreement_form(db: DB, actor: Actor, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    chosen = []
    for value in values.get("parties") or []:
        try:
            chosen.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return {
        "form": values,
        "errors": errors,
        "agency_options": _chosen_first(directory.agency_options(db, actor), chosen),
        "partnership_options": [(p.id, p.name) for p in queries.list_partnerships(db, actor)],
        **VOCAB,
    }


@router.get("/agreements/new")
def agreement_new(request: Request, db: DB, actor: DraftAgreements, partnership_id: str = "") -> Response:
    mine = [str(a) for a, _ in directory.agency_options(db, actor) if actor.has(DRAFT, a)]
    values = {
        "parties": mine[:1],
        "partnership_id": partnership_id,
        "effective_at": _local(utcnow()),
        "tz": "UTC",
    }
    return render(request, "agreements/agreement_form.html", _agreement_form(db, actor, values, {}))


@router.post("/agreements/new", dependencies=[Csrf])
async def agreement_create(request: Request, db: DB, actor: DraftAgreements) -> Response:
    form = await request.form()
    try:
        payload = {
            "kind": _text(form, "kind"),
            "title": _text(form, "title"),
            "text": _text(form, "text"),
            "partnership_id": _optional(form, "partnership_id"),
            "parties": _list(form, "parties"),
            "effective_at": _moment(form, "effective_at"),
            "expires_at": _moment(form, "expires_at"),
        }
        agreement = service.draft_agreement(db, actor=actor, data=AgreementDraft(**payload))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = _problems(exc)
        values = {**_values(form), "parties": _list(form, "parties")}
        context = {**_agreement_form(db, actor, values, errors), "message": message}
        return render(request, "agreements/agreement_form.html", context, _status(exc))
    db.commit()
    flash(request, "success", "Draft saved. Add its clauses, then propose it for signature.")
    return redirect(request, f"/agreements/{agreement.id}/draft")


# --- agreements: the document page and its commands ---------------------------------------


def _clause_view(clause: Clause, names: dict[uuid.UUID, str], db: Session | None = None) -> dict[str, Any]:
    """A clause with agency names and vocabulary labels, for reading as a document (a
    kind another module defines describes itself through ``clause_kinds``)."""
    terms = dict(clause.terms)
    if db is not None and clause.kind in clause_kinds_described():
        terms["description"] = clause_kinds.describe(db, clause.kind, clause.terms)
    if clause.kind == "sharing":
        terms["provider_names"] = [names.get(uuid.UUID(p), p) for p in terms["providers"]]
        terms["recipient_names"] = [names.get(uuid.UUID(r), r) for r in terms["recipients"]]
        terms["category_labels"] = [RECORD_CATEGORIES.get(c, c) for c in terms["categories"]]
        terms["purpose_labels"] = [PURPOSES.get(p, p) for p in terms["purposes"]]
        terms["role_labels"] = [ROLE_LABELS.get(r, r) for r in terms.get("recipient_roles") or []]
    return {"id": clause.id, "position": clause.position, "kind": clause.kind, "terms": terms}


def clause_kinds_described() -> frozenset[str]:
    return frozenset(k for k in CLAUSE_KINDS if clause_kinds.clause_kind(k) is not None)


def _in_force(agreement: Agreement, now: datetime) -> AgreementVersion | None:
    for version in reversed(agreement.versions):
        if lifecycle.version_state(agreement, version, now) in ("active", "signed", "suspended"):
            return version
    return None


def _acts_for(actor: Actor, permission: str, agencies: list[uuid.UUID]) -> bool:
    return any(actor.has(permission, a) for a in agencies)


def _agreement_context(db: DB, actor: Actor, agreement_id: uuid.UUID) -> dict[str, Any]:
    agreement = queries.get_agreement(db, actor, agreement_id)
    now = utcnow()
    latest = agreement.versions[-1]
    signed_by = {s.agency_id for s in latest.signatures}
    can_sign = (
        [a for a in latest.party_ids if a not in signed_by and actor.has(SIGN, a)]
        if latest.status == "proposed"
        else []
    )
    names = _names(db, actor)
    changes: list[tuple[str, str]] = []
    if len(agreement.versions) > 1:
        by_str = {str(a): n for a, n in names.items()}
        changes = [c for c in lifecycle.diff(agreement.versions[-2], latest, by_str) if c[0] != " "]
    in_force = _in_force(agreement, now)
    live = agreement.terminated_at is None
    signed = [v for v in agreement.versions if v.status == "signed"]
    opted = {o.agency_id for o in agreement.opt_outs}
    opt_out_options = (
        [(a, names.get(a, str(a))) for a in in_force.party_ids if a not in opted and actor.has(MANAGE, a)]
        if in_force is not None and live
        else []
    )
    partnership = _partnership_of(db, actor, agreement)
    return {
        "parties": sorted(latest.party_ids, key=lambda p: names.get(p, str(p))),
        "changes": changes,
        "agreement": agreement,
        "partnership": partnership,
        "clauses": [_clause_view(c, names, db) for c in latest.clauses],
        "sign_options": [(a, names.get(a, str(a))) for a in can_sign],
        "state": lifecycle.agreement_state(agreement, now),
        "versions": [(v, lifecycle.version_state(agreement, v, now)) for v in reversed(agreement.versions)],
        "latest": latest,
        "latest_state": lifecycle.version_state(agreement, latest, now),
        "can_sign": can_sign,
        "can_propose": latest.status == "draft" and _acts_for(actor, DRAFT, latest.party_ids),
        "can_edit": latest.status == "draft" and _acts_for(actor, DRAFT, latest.party_ids),
        "can_amend": latest.status == "signed" and live and _acts_for(actor, DRAFT, latest.party_ids),
        "can_suspend": live
        and agreement.suspended_at is None
        and in_force is not None
        and _acts_for(actor, MANAGE, in_force.party_ids),
        "can_resume": live
        and agreement.suspended_at is not None
        and bool(signed)
        and _acts_for(actor, MANAGE, signed[-1].party_ids),
        "can_terminate": live and _acts_for(actor, MANAGE, latest.party_ids),
        "opt_out_options": opt_out_options,
        "agency_names": names,
        "state_badges": STATE_BADGES,
        "errors": {},
        "values": {},
        **VOCAB,
    }


def _partnership_of(db: DB, actor: Actor, agreement: Agreement) -> Partnership | None:
    """The agreement's partnership, if the caller may see it (a party may have left it)."""
    if agreement.partnership_id is None:
        return None
    try:
        return queries.get_partnership(db, actor, agreement.partnership_id)
    except NotFound:
        return None


@router.get("/agreements/{agreement_id}")
def agreement_page(request: Request, agreement_id: uuid.UUID, db: DB, actor: ReadAgreements) -> Response:
    return render(request, "agreements/detail.html", _agreement_context(db, actor, agreement_id))


def _agreement_failed(
    request: Request, db: DB, actor: Actor, agreement_id: uuid.UUID, key: str, form: FormData, exc: Exception
) -> Response:
    db.rollback()
    errors, message = _problems(exc)
    context = {
        **_agreement_context(db, actor, agreement_id),
        "errors": {key: errors},
        "values": {key: _values(form)},
        "message": message,
    }
    return render(request, "agreements/detail.html", context, _status(exc))


@router.post("/agreements/{agreement_id}/sign", dependencies=[Csrf])
async def agreement_sign(request: Request, agreement_id: uuid.UUID, db: DB, actor: SignAgreements) -> Response:
    form = await request.form()
    try:
        service.sign(db, actor=actor, agreement_id=agreement_id, data=SignRequest(**await form_dict(request)))
    except (ValidationError, AccordError) as exc:
        return _agreement_failed(request, db, actor, agreement_id, "sign", form, exc)
    db.commit()
    flash(request, "success", "Signed. The signature covers the text and clauses shown here, by their SHA-256.")
    return redirect(request, f"/agreements/{agreement_id}")


@router.post("/agreements/{agreement_id}/propose", dependencies=[Csrf])
def agreement_propose(request: Request, agreement_id: uuid.UUID, db: DB, actor: DraftAgreements) -> Response:
    try:
        service.propose(db, actor=actor, agreement_id=agreement_id)
    except AccordError as exc:
        return _agreement_failed(request, db, actor, agreement_id, "propose", FormData(), exc)
    db.commit()
    flash(request, "success", "Proposed for signature: the text is now frozen.")
    return redirect(request, f"/agreements/{agreement_id}")


@router.post("/agreements/{agreement_id}/amend", dependencies=[Csrf])
def agreement_amend(request: Request, agreement_id: uuid.UUID, db: DB, actor: DraftAgreements) -> Response:
    try:
        agreement = service.amend(db, actor=actor, agreement_id=agreement_id)
    except AccordError as exc:
        return _agreement_failed(request, db, actor, agreement_id, "amend", FormData(), exc)
    db.commit()
    number = agreement.versions[-1].number
    flash(request, "success", f"Version {number} opened as a draft; the signed version stays in force until it is.")
    return redirect(request, f"/agreements/{agreement_id}/draft")


@router.post("/agreements/{agreement_id}/suspend", dependencies=[Csrf])
def agreement_suspend(request: Request, agreement_id: uuid.UUID, db: DB, actor: ManageAgreements) -> Response:
    try:
        service.suspend(db, actor=actor, agreement_id=agreement_id)
    except AccordError as exc:
        return _agreement_failed(request, db, actor, agreement_id, "suspend", FormData(), exc)
    db.commit()
    flash(request, "success", "Suspended: no data moves under this agreement until it is resumed.")
    return redirect(request, f"/agreements/{agreement_id}")


@router.post("/agreements/{agreement_id}/resume", dependencies=[Csrf])
def agreement_resume(request: Request, agreement_id: uuid.UUID, db: DB, actor: ManageAgreements) -> Response:
    try:
        service.resume(db, actor=actor, agreement_id=agreement_id)
    except AccordError as exc:
        return _agreement_failed(request, db, actor, agreement_id, "resume", FormData(), exc)
    db.commit()
    flash(request, "success", "Resumed: the signed clauses apply again.")
    return redirect(request, f"/agreements/{agreement_id}")


@router.post("/agreements/{agreement_id}/terminate", dependencies=[Csrf])
async def agreement_terminate(request: Request, agreement_id: uuid.UUID, db: DB, actor: ManageAgreements) -> Response:
    form = await request.form()
    try:
        data = TerminateRequest(reason=_text(form, "reason"))
        service.terminate(db, actor=actor, agreement_id=agreement_id, reason=data.reason)
    except (ValidationError, AccordError) as exc:
        return _agreement_failed(request, db, actor, agreement_id, "terminate", form, exc)
    db.commit()
    flash(request, "success", "Terminated: every grant of this agreement has ended.")
    return redirect(request, f"/agreements/{agreement_id}")


@router.post("/agreements/{agreement_id}/opt-out", dependencies=[Csrf])
async def agreement_opt_out(request: Request, agreement_id: uuid.UUID, db: DB, actor: ManageAgreements) -> Response:
    form = await request.form()
    try:
        data = OptOutRequest(agency_id=_text(form, "agency_id"))
        agreement = service.opt_out(db, actor=actor, agreement_id=agreement_id, agency_id=data.agency_id)
    except (ValidationError, AccordError) as exc:
        return _agreement_failed(request, db, actor, agreement_id, "opt_out", form, exc)
    db.commit()
    leaving = next(o for o in agreement.opt_outs if o.agency_id == data.agency_id)
    when = as_utc(leaving.effective_at).strftime("%d %b %Y %H:%M UTC")
    flash(request, "success", f"Opt-out recorded. Your agency's grants under this agreement end {when}.")
    return redirect(request, f"/agreements/{agreement_id}")


# --- drafting: the draft and its clause editor ---------------------------------------------


def _draft_context(db: DB, actor: Actor, agreement_id: uuid.UUID) -> dict[str, Any]:
    context = _agreement_context(db, actor, agreement_id)
    latest: AgreementVersion = context["latest"]
    if latest.status != "draft":
        raise AccordError(
            message=f"Version {latest.number} is {latest.status}; only a draft can be edited.",
            status_code=409,
            code="conflict",
        )
    if not context["can_edit"]:
        raise PermissionDenied(DRAFT)
    names: dict[uuid.UUID, str] = context["agency_names"]
    return {
        **context,
        "form": {
            "title": latest.title,
            "text": latest.text,
            "parties": [str(p) for p in latest.party_ids],
            "effective_at": _local(latest.effective_at),
            "expires_at": _local(latest.expires_at),
            "tz": "UTC",
        },
        "agency_options": _chosen_first(list(names.items()), latest.party_ids),
    }


@router.get("/agreements/{agreement_id}/draft")
def agreement_draft_page(request: Request, agreement_id: uuid.UUID, db: DB, actor: DraftAgreements) -> Response:
    agreement = queries.get_agreement(db, actor, agreement_id)
    if agreement.versions[-1].status != "draft":
        flash(request, "info", "This version is no longer a draft. Amend the agreement to change it.")
        return redirect(request, f"/agreements/{agreement_id}")
    return render(request, "agreements/draft.html", _draft_context(db, actor, agreement_id))


@router.post("/agreements/{agreement_id}/draft", dependencies=[Csrf])
async def agreement_draft_save(request: Request, agreement_id: uuid.UUID, db: DB, actor: DraftAgreements) -> Response:
    form = await request.form()
    try:
        payload = {
            "title": _text(form, "title"),
            "text": _text(form, "text"),
            "parties": _list(form, "parties"),
            "effective_at": _moment(form, "effective_at"),
            "expires_at": _moment(form, "expires_at"),
        }
        service.edit_draft(db, actor=actor, agreement_id=agreement_id, data=AgreementEdit(**payload))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = _problems(exc)
        context = _draft_context(db, actor, agreement_id)
        context.update(form={**_values(form), "parties": _list(form, "parties")}, errors=errors, message=message)
        return render(request, "agreements/draft.html", context, _status(exc))
    db.commit()
    flash(request, "success", "Draft saved.")
    return redirect(request, f"/agreements/{agreement_id}/draft")


def _clause_payload(kind: str, form: FormData) -> dict[str, Any]:
    if kind == "sharing":
        return {
            "kind": kind,
            "providers": _list(form, "providers"),
            "recipients": _list(form, "recipients"),
            "recipient_roles": _list(form, "recipient_roles"),
            "categories": _list(form, "categories"),
            "max_tier": _text(form, "max_tier"),
            "purposes": _list(form, "purposes"),
            "labels": _list(form, "labels"),
            "retention_days": _optional(form, "retention_days"),
            "aggregates_only": _flag(form, "aggregates_only"),
            "reshare_allowed": _flag(form, "reshare_allowed"),
        }
    if kind == "opt_out":
        return {"kind": kind, "notice_days": _text(form, "notice_days")}
    if kind == "protocol":
        return {"kind": kind, "protocol_version_id": _text(form, "protocol_version_id")}
    return {
        "kind": kind,
        "activation_threshold": _text(form, "activation_threshold"),
        "reimbursement_terms": _text(form, "reimbursement_terms"),
        "liability": _text(form, "liability"),
        "insurance": _text(form, "insurance"),
    }


def _clause_kind(kind: str) -> str:
    if kind not in CLAUSE_MODELS:
        raise InvalidInput("kind", f"unknown clause kind; one of {', '.join(CLAUSE_MODELS)}")
    return kind


def _clause_form_context(
    db: DB, actor: Actor, agreement_id: uuid.UUID, kind: str, values: dict[str, Any], clause: Clause | None
) -> dict[str, Any]:
    context = _draft_context(db, actor, agreement_id)
    latest: AgreementVersion = context["latest"]
    names: dict[uuid.UUID, str] = context["agency_names"]
    return {
        **context,
        "kind": kind,
        "clause": clause,
        "number": (clause.position if clause else len(latest.clauses)) + 1,
        "form": values,
        "errors": {},
        "party_options": sorted(((str(p), names.get(p, str(p))) for p in latest.party_ids), key=lambda o: o[1]),
        "kind_choices": clause_kinds.choices(db, actor, kind),
    }


def _clause_values(clause: Clause) -> dict[str, Any]:
    values = {k: v for k, v in clause.terms.items() if v is not None}
    for flag in ("aggregates_only", "reshare_allowed"):
        values[flag] = bool(values.get(flag))
    return values


def _clause_sent(form: FormData) -> dict[str, Any]:
    values = _values(form)
    for many in ("providers", "recipients", "recipient_roles", "categories", "purposes", "labels"):
        values[many] = _list(form, many)
    for flag in ("aggregates_only", "reshare_allowed"):
        values[flag] = _flag(form, flag)
    return values


@router.get("/agreements/{agreement_id}/clauses/new")
def clause_new(
    request: Request, agreement_id: uuid.UUID, db: DB, actor: DraftAgreements, kind: str = "sharing"
) -> Response:
    kind = _clause_kind(kind)
    defaults: dict[str, Any] = {"sharing": {"max_tier": "AMBER"}, "opt_out": {"notice_days": "30"}}.get(kind, {})
    context = _clause_form_context(db, actor, agreement_id, kind, defaults, None)
    return render(request, "agreements/clause_form.html", context)


def _clause_failed(
    request: Request,
    db: DB,
    actor: Actor,
    agreement_id: uuid.UUID,
    kind: str,
    form: FormData,
    exc: Exception,
    clause_id: uuid.UUID | None,
) -> Response:
    db.rollback()
    errors, message = _clause_problems(exc)
    clause = None
    if clause_id is not None:
        latest = queries.get_agreement(db, actor, agreement_id).versions[-1]
        clause = next((c for c in latest.clauses if c.id == clause_id), None)
    context = _clause_form_context(db, actor, agreement_id, kind, _clause_sent(form), clause)
    context.update(errors=errors, message=message)
    return render(request, "agreements/clause_form.html", context, _status(exc))


@router.post("/agreements/{agreement_id}/clauses", dependencies=[Csrf])
async def clause_add(request: Request, agreement_id: uuid.UUID, db: DB, actor: DraftAgreements) -> Response:
    form = await request.form()
    kind = _clause_kind(_text(form, "kind"))
    try:
        terms = CLAUSE_MODELS[kind](**_clause_payload(kind, form))
        clause = service.add_clause(db, actor=actor, agreement_id=agreement_id, terms=terms)
    except (ValidationError, AccordError) as exc:
        return _clause_failed(request, db, actor, agreement_id, kind, form, exc, None)
    db.commit()
    flash(request, "success", f"Clause {clause.position + 1} ({CLAUSE_KINDS[kind].lower()}) added.")
    return redirect(request, f"/agreements/{agreement_id}/draft#clause-{clause.position + 1}")


def _draft_clause(db: DB, actor: Actor, agreement_id: uuid.UUID, clause_id: uuid.UUID) -> Clause:
    latest = queries.get_agreement(db, actor, agreement_id).versions[-1]
    clause = next((c for c in latest.clauses if c.id == clause_id), None)
    if clause is None:
        raise NotFound("clause")
    return clause


@router.get("/agreements/{agreement_id}/clauses/{clause_id}")
def clause_edit(
    request: Request, agreement_id: uuid.UUID, clause_id: uuid.UUID, db: DB, actor: DraftAgreements
) -> Response:
    clause = _draft_clause(db, actor, agreement_id, clause_id)
    context = _clause_form_context(db, actor, agreement_id, clause.kind, _clause_values(clause), clause)
    return render(request, "agreements/clause_form.html", context)


@router.post("/agreements/{agreement_id}/clauses/{clause_id}", dependencies=[Csrf])
async def clause_save(
    request: Request, agreement_id: uuid.UUID, clause_id: uuid.UUID, db: DB, actor: DraftAgreements
) -> Response:
    form = await request.form()
    kind = _clause_kind(_text(form, "kind"))
    try:
        terms = CLAUSE_MODELS[kind](**_clause_payload(kind, form))
        clause = service.update_clause(db, actor=actor, agreement_id=agreement_id, clause_id=clause_id, terms=terms)
    except (ValidationError, AccordError) as exc:
        return _clause_failed(request, db, actor, agreement_id, kind, form, exc, clause_id)
    db.commit()
    flash(request, "success", f"Clause {clause.position + 1} saved.")
    return redirect(request, f"/agreements/{agreement_id}/draft#clause-{clause.position + 1}")


@router.post("/agreements/{agreement_id}/clauses/{clause_id}/delete", dependencies=[Csrf])
def clause_remove(
    request: Request, agreement_id: uuid.UUID, clause_id: uuid.UUID, db: DB, actor: DraftAgreements
) -> Response:
    service.remove_clause(db, actor=actor, agreement_id=agreement_id, clause_id=clause_id)
    db.commit()
    flash(request, "success", "Clause removed; the clauses after it moved up.")
    return redirect(request, f"/agreements/{agreement_id}/draft#clauses")


# --- versions: diff, document, PDF ---------------------------------------------------------


@router.get("/agreements/{agreement_id}/diff")
def agreement_diff(
    request: Request,
    agreement_id: uuid.UUID,
    db: DB,
    actor: ReadAgreements,
    from_version: Annotated[int | None, Query(alias="from")] = None,
    to_version: Annotated[int | None, Query(alias="to")] = None,
) -> Response:
    agreement = queries.get_agreement(db, actor, agreement_id)
    versions = {v.number: v for v in agreement.versions}
    newest = agreement.versions[-1].number
    to_n = to_version if to_version in versions else newest
    from_n = from_version if from_version in versions else max(1, to_n - 1)
    names = {str(a): n for a, n in _names(db, actor).items()}
    lines = lifecycle.diff(versions[from_n], versions[to_n], names)
    context = {
        "agreement": agreement,
        "latest": agreement.versions[-1],
        "from_n": from_n,
        "to_n": to_n,
        "numbers": sorted(versions),
        "lines": lines,
        "changed": any(op != " " for op, _ in lines),
    }
    return render(request, "agreements/diff.html", context)


def document_context(db: DB, actor: Actor, agreement_id: uuid.UUID, number: int) -> dict[str, Any]:
    """Everything the printable document of one version shows (404 for an agreement the
    caller may not see, exactly as for one that does not exist, and for a missing version)."""
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = next((v for v in agreement.versions if v.number == number), None)
    if version is None:
        raise NotFound("agreement version")
    names = _names(db, actor)
    now = utcnow()
    signatures = {s.agency_id: s for s in version.signatures}
    partnership = _partnership_of(db, actor, agreement)
    return {
        "agreement": agreement,
        "version": version,
        "version_count": len(agreement.versions),
        "state": lifecycle.version_state(agreement, version, now),
        "partnership": partnership,
        "parties": [
            {"id": p, "name": names.get(p, str(p)), "signature": signatures.get(p)}
            for p in sorted(version.party_ids, key=lambda p: names.get(p, str(p)))
        ],
        "drafted_by": names.get(agreement.drafted_by_agency_id, str(agreement.drafted_by_agency_id)),
        "clauses": [_clause_view(c, names, db) for c in version.clauses],
        "opt_outs": [(names.get(o.agency_id, str(o.agency_id)), o) for o in agreement.opt_outs],
        "rendered_at": now,
        "state_badges": STATE_BADGES,
        **VOCAB,
    }


def _filename(version: AgreementVersion) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", version.title.lower()).strip("-")[:60] or "agreement"
    return f"{slug}-v{version.number}.pdf"


def document_pdf(db: DB, actor: Actor, agreement_id: uuid.UUID, number: int) -> tuple[bytes, str]:
    """The PDF of one version and a file name for it."""
    context = document_context(db, actor, agreement_id, number)
    html = templates.get_template("agreements/document.html").render({**context, "for_pdf": True})
    return render_pdf(html), _filename(context["version"])


def pdf_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@router.get("/agreements/{agreement_id}/versions/{number:int}.pdf")
def version_pdf(request: Request, agreement_id: uuid.UUID, number: int, db: DB, actor: ReadAgreements) -> Response:
    return pdf_response(*document_pdf(db, actor, agreement_id, number))


@router.get("/agreements/{agreement_id}/versions/{number:int}")
def version_document(request: Request, agreement_id: uuid.UUID, number: int, db: DB, actor: ReadAgreements) -> Response:
    context = {**document_context(db, actor, agreement_id, number), "for_pdf": False}
    return render(request, "agreements/document.html", context)
