"""Pure rules of the agreement lifecycle: the canonical content that parties sign, the
state of a version at an instant, and the window in which each version is in force."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from accord.agreements.models import Agreement, AgreementVersion


def canonical_content(agreement: Agreement, version: AgreementVersion) -> str:
    """The exact text a signature covers: kind, title, text, parties, dates and clauses as
    sorted, whitespace-free JSON (stable across databases and Python versions)."""
    content: dict[str, Any] = {
        "agreement": str(agreement.id),
        "kind": agreement.kind,
        "version": version.number,
        "title": version.title,
        "text": version.text,
        "parties": sorted(str(p) for p in version.party_ids),
        "effective_at": version.effective_at.isoformat(),
        "expires_at": version.expires_at.isoformat() if version.expires_at else None,
        "clauses": [{"kind": c.kind, "terms": c.terms} for c in sorted(version.clauses, key=lambda c: c.position)],
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(agreement: Agreement, version: AgreementVersion) -> str:
    return hashlib.sha256(canonical_content(agreement, version).encode()).hexdigest()


def earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def in_force_window(agreement: Agreement, version: AgreementVersion) -> tuple[datetime, datetime | None] | None:
    """When a fully signed version is in force: from its effective date until the first of
    its expiry, the effective date of a later signed version (the old one stays in force
    until the new one is active), suspension and termination. None if never."""
    if version.status != "signed":
        return None
    later = [v.effective_at for v in agreement.versions if v.status == "signed" and v.number > version.number]
    end = earliest(version.expires_at, min(later) if later else None, agreement.suspended_at, agreement.terminated_at)
    if end is not None and end <= version.effective_at:
        return None
    return version.effective_at, end


def version_state(agreement: Agreement, version: AgreementVersion, now: datetime) -> str:
    """draft | proposed | withdrawn | signed (not yet effective) | active | superseded |
    expired | suspended | terminated."""
    if version.status != "signed":
        return version.status
    if agreement.terminated_at is not None and agreement.terminated_at <= now:
        return "terminated"
    if agreement.suspended_at is not None and agreement.suspended_at <= now:
        return "suspended"
    if now < version.effective_at:
        return "signed"
    if version.expires_at is not None and now >= version.expires_at:
        return "expired"
    window = in_force_window(agreement, version)
    if window is None or (window[1] is not None and now >= window[1]):
        return "superseded"
    return "active"


def agreement_state(agreement: Agreement, now: datetime) -> str:
    """The state of the agreement as a whole: that of its version in force, else of its newest."""
    states = [version_state(agreement, v, now) for v in agreement.versions]
    for wanted in ("active", "suspended", "terminated"):
        if wanted in states:
            return wanted
    return states[-1] if states else "draft"


def readable_lines(version: AgreementVersion, names: dict[str, str]) -> list[str]:
    """A version as numbered, human-readable lines (what a reviewer compares)."""
    lines = [f"Title: {version.title}", f"Effective: {version.effective_at.isoformat()}"]
    lines.append(f"Expires: {version.expires_at.isoformat() if version.expires_at else 'never'}")
    lines += [
        f"Party: {names.get(str(p), str(p))}"
        for p in sorted(version.party_ids, key=lambda p: names.get(str(p), str(p)))
    ]
    lines += ["Text:", *version.text.splitlines()]
    for clause in sorted(version.clauses, key=lambda c: c.position):
        lines.append(f"Clause {clause.position + 1} ({clause.kind}):")
        for key, value in sorted(clause.terms.items()):
            shown = [names.get(str(v), str(v)) for v in value] if isinstance(value, list) else value
            lines.append(f"  {key}: {', '.join(map(str, shown)) if isinstance(shown, list) else shown}")
    return lines


def diff(old: AgreementVersion, new: AgreementVersion, names: dict[str, str]) -> list[tuple[str, str]]:
    """(op, line) pairs: ' ' unchanged, '-' removed, '+' added — a readable version diff."""
    import difflib

    result: list[tuple[str, str]] = []
    for line in difflib.ndiff(readable_lines(old, names), readable_lines(new, names)):
        if line.startswith("? "):
            continue
        result.append((line[0], line[2:]))
    return result
