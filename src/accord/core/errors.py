"""Domain errors that map to clear 4xx answers naming the field and the reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    field: str
    reason: str


@dataclass
class AccordError(Exception):
    """Base of every error the API turns into a JSON answer."""

    message: str
    problems: list[FieldProblem] = field(default_factory=list)
    status_code: int = 400
    code: str = "bad_request"

    def __str__(self) -> str:
        return self.message


class NotFound(AccordError):
    def __init__(self, what: str = "resource") -> None:
        super().__init__(message=f"{what} not found", status_code=404, code="not_found")


class InvalidInput(AccordError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(
            message=f"{field_name}: {reason}",
            problems=[FieldProblem(field_name, reason)],
            status_code=422,
            code="invalid",
        )


class InvalidInputs(AccordError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        summary = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
        super().__init__(message=summary, problems=problems, status_code=422, code="invalid")


class Conflict(AccordError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(
            message=f"{field_name}: {reason}",
            problems=[FieldProblem(field_name, reason)],
            status_code=409,
            code="conflict",
        )


class AuthenticationFailed(AccordError):
    def __init__(self, message: str = "authentication required", code: str = "unauthenticated") -> None:
        super().__init__(message=message, status_code=401, code=code)


class AccountLocked(AccordError):
    def __init__(self) -> None:
        super().__init__(
            message="account locked after repeated failed sign-ins; ask an administrator to release it",
            status_code=423,
            code="locked",
        )


class RateLimited(AccordError):
    def __init__(self) -> None:
        super().__init__(message="too many attempts; wait a minute and try again", status_code=429, code="rate_limited")


class PermissionDenied(AccordError):
    def __init__(self, permission: str, agency_id: object | None = None, reason: str | None = None) -> None:
        super().__init__(
            message=reason or f"permission {permission!r} is required",
            status_code=403,
            code="forbidden",
        )
        self.permission = permission
        self.agency_id = agency_id


class CsrfFailed(AccordError):
    def __init__(self) -> None:
        super().__init__(
            message="CSRF token missing or wrong; reload the page and try again", status_code=403, code="csrf"
        )


class AuditUnavailable(AccordError):
    """The audit trail could not record a change, so the change was refused (503)."""

    def __init__(self) -> None:
        super().__init__(
            message="the audit trail cannot record changes right now; nothing was saved. "
            "Platform administrators have been alerted",
            status_code=503,
            code="audit_unavailable",
        )
