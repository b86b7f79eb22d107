"""The ASGI application: middleware, error answers, routers, static assets."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord import __version__
from accord.accounts import api as accounts_api
from accord.accounts import pages as accounts_pages
from accord.accounts.auth import make_resolver
from accord.agreements import api as agreements_api
from accord.agreements import pages as agreements_pages
from accord.audit import api as audit_api
from accord.audit import pages as audit_pages
from accord.audit import service as audit_service
from accord.audit.service import record_event
from accord.authz.actor import ANONYMOUS, Actor
from accord.authz.deps import Public
from accord.config import Settings, get_settings
from accord.core import events
from accord.core.db import make_engine, make_session_factory
from accord.core.deps import DB
from accord.core.errors import AccordError, AuthenticationFailed, PermissionDenied
from accord.core.logging import get_logger, request_id_var
from accord.core.ratelimit import SlidingWindowLimiter
from accord.core.scheduler import Periodic
from accord.directory import api as directory_api
from accord.directory import pages as directory_pages
from accord.mutualaid import api as mutualaid_api
from accord.mutualaid import pages as mutualaid_pages
from accord.mutualaid.exchange import api as mutualaid_exchange_api
from accord.mutualaid.fund import api as fund_api
from accord.mutualaid.fund import pages as fund_pages
from accord.mutualaid.metrics import api as metrics_api
from accord.mutualaid.metrics import pages as metrics_pages
from accord.mutualaid.recovery import api as recovery_api
from accord.mutualaid.recovery import pages as recovery_pages
from accord.operations import api as operations_api
from accord.operations import pages as operations_pages
from accord.operations.alerts import api as alerts_api
from accord.operations.alerts import pages as alerts_pages
from accord.operations.deconfliction import api as deconfliction_api
from accord.operations.deconfliction import pages as deconfliction_pages
from accord.operations.eventboard import api as eventboard_api
from accord.operations.eventboard import pages as eventboard_pages
from accord.operations.protocols import api as protocols_api
from accord.operations.protocols import pages as protocols_pages
from accord.operations.stream import Dispatcher
from accord.operations.tasks import live_history_task
from accord.sharing import api as sharing_api
from accord.sharing import pages as sharing_pages
from accord.sharing.tasks import purge_task
from accord.vault import service as vault_service
from accord.web.templating import html_error

log = get_logger("accord.http")
# The collector's thresholds for a serving process (accord.asgi sets them; CPython's
# defaults are (700, 10, 10)). A server holding a thousand live streams has many long-lived
# objects: with the defaults, full collections came every few seconds and stalled every
# open stream for 100-200 ms. Young collections stay small (5,000 objects, a few ms) and
# full ones become rare. benchmarks/live_fanout.py measured the defaults, (100000, 50, 50)
# (a young collection of that size took 95 ms) and these.
GC_THRESHOLDS = (5_000, 10, 1000)
STATIC = Path(__file__).parent / "web" / "static"


class RequestContextMiddleware:
    """Request id, body-size limit, security headers and one JSON access-log line."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = {"code": 500}
        limit = body_limit(self.settings, scope)
        scope.setdefault("state", {})["body_limit"] = limit
        too_large = _error_json(413, "too_large", f"request body exceeds {limit} bytes", "body")
        received = {"n": 0}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["n"] += len(message.get("body", b""))
                if received["n"] > limit:
                    # FastAPI reports errors while reading a body as 400; the flag lets the
                    # error handler answer 413 instead.
                    scope.setdefault("state", {})["body_too_large"] = True
                    raise BodyTooLarge()
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", _csp(self.settings, scope.get("path") == "/docs").encode()),
                ]
                if self.settings.secure_cookies:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        declared = headers.get(b"content-length")
        try:
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                await too_large(scope, receive, send_wrapper)
            else:
                await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            await too_large(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)


class BodyTooLarge(Exception):
    pass


# Room for the multipart framing and the form's other fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


def body_limit(settings: Settings, scope: Scope) -> int:
    """Attachment uploads may carry a file up to ``max_attachment_bytes``; every other
    request is held to ``max_body_bytes``."""
    if scope.get("method") == "POST" and str(scope.get("path", "")).endswith("/attachments"):
        return max(settings.max_body_bytes, settings.max_attachment_bytes + MULTIPART_OVERHEAD)
    return settings.max_body_bytes


def _csp(settings: Settings, inline_script: bool = False) -> str:
    """Scripts only from our own origin; Swagger UI's page alone needs its inline bootstrap."""
    img = "'self' data:"
    script = "'self' 'unsafe-inline'" if inline_script else "'self'"
    if settings.basemap_url:
        img += " " + "/".join(settings.basemap_url.split("/")[:3])
    return (
        f"default-src 'self'; img-src {img}; style-src 'self' 'unsafe-inline'; script-src {script}; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )


def _error_json(
    status: int, code: str, message: str, field: str | None = None, fields: list[dict[str, str]] | None = None
) -> JSONResponse:
    body_fields = fields if fields is not None else ([{"field": field, "reason": message}] if field else [])
    return JSONResponse(
        {"error": {"code": code, "message": message, "fields": body_fields, "request_id": request_id_var.get()}},
        status_code=status,
    )


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/openapi.json"))


def _record_denial(request: Request, exc: PermissionDenied) -> None:
    """Denials are audited in their own transaction: the request's own work is rolled back."""
    actor = getattr(request.state, "actor", None)
    actor = actor if isinstance(actor, Actor) else ANONYMOUS
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as db:
        record_event(
            db,
            actor=actor,
            action="authz.denied",
            outcome="denied",
            agency_id=exc.agency_id if isinstance(exc.agency_id, uuid.UUID) else None,
            details={"permission": exc.permission, "method": request.method, "path": request.url.path},
        )
        db.commit()


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AccordError)
    async def accord_error(request: Request, exc: AccordError) -> Response:
        if isinstance(exc, PermissionDenied):
            _record_denial(request, exc)
        if _wants_html(request):
            if isinstance(exc, AuthenticationFailed):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={target}", status_code=303)
            titles = {403: "Not permitted", 404: "Not found", 409: "Conflict", 429: "Slow down"}
            return html_error(request, exc.status_code, titles.get(exc.status_code, "Cannot do that"), exc.message)
        fields = [{"field": p.field, "reason": p.reason} for p in exc.problems]
        return _error_json(exc.status_code, exc.code, exc.message, fields=fields)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            reason = str(err.get("msg", "invalid"))
            if err.get("type") == "extra_forbidden":
                reason = "unknown field"
            fields.append({"field": ".".join(loc) or "body", "reason": reason})
        message = "; ".join(f"{f['field']}: {f['reason']}" for f in fields[:5])
        if _wants_html(request):
            return html_error(request, 422, "Check what you entered", message)
        return _error_json(422, "invalid", message, fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if getattr(request.state, "body_too_large", False):
            limit = getattr(request.state, "body_limit", request.app.state.settings.max_body_bytes)
            return _error_json(413, "too_large", f"request body exceeds {limit} bytes", "body")
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        if _wants_html(request):
            return html_error(request, exc.status_code, "Not found" if exc.status_code == 404 else "Error", message)
        return _error_json(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return _error_json(500, "internal", "internal error; the request id identifies it in the server log")


def iter_api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every endpoint of the app: its own and those of the routers it includes."""
    for route in app.router.routes:
        if isinstance(route, APIRoute):
            yield route
    for router in app.state.routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route


def _lifespan(settings: Settings, session_factory: sessionmaker[Session]) -> Any:
    """Scheduled jobs run inside each server process (they tolerate running in several)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs: list[Periodic] = []
        if settings.purge_interval_minutes and settings.env != "test":
            minutes = settings.purge_interval_minutes
            jobs.append(Periodic("retention-purge", minutes * 60, lambda: purge_task(session_factory)))
        if settings.env != "test":
            hours = settings.live_history_hours
            jobs.append(Periodic("live-history", 600, lambda: live_history_task(session_factory, keep_hours=hours)))
        for job in jobs:
            job.start()
        broker = events.get_broker()
        if isinstance(broker, events.NatsBroker):  # connect (and create the stream) before serving
            await run_in_threadpool(broker.start)
        yield
        for job in jobs:
            job.stop()
        await app.state.live_dispatcher.stop()
        events.get_broker().close()

    return lifespan


def create_app(settings: Settings | None = None, session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    settings = settings or get_settings()
    audit_service.configure(settings)
    vault_service.configure(settings)
    events.configure(settings)
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    app = FastAPI(
        lifespan=_lifespan(settings, session_factory),
        title="Accord API",
        version=__version__,
        description="Agreements-driven collaboration for public-safety agencies. "
        "Authenticate with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.resolve_actor = make_resolver(settings, session_factory)
    app.state.login_limiter = SlidingWindowLimiter(settings.login_rate_per_minute, 60)
    app.state.live_dispatcher = Dispatcher(session_factory)
    install_error_handlers(app)

    @app.get("/healthz", tags=["platform"])
    def healthz(db: DB, _: Annotated[Actor, Depends(Public("load balancers and monitors"))]) -> dict[str, Any]:
        """Liveness and database reachability."""
        try:
            db.execute(text("SELECT 1"))
        except Exception:
            logging.getLogger("accord.health").exception("database check failed")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)  # type: ignore[return-value]
        return {"status": "ok", "database": "ok", "version": __version__}

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: Annotated[Actor, Depends(Public("API description"))]) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(_: Annotated[Actor, Depends(Public("API documentation"))]) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Accord API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    routers = (
        accounts_api.router,
        directory_api.router,
        agreements_api.router,
        sharing_api.router,
        operations_api.router,
        operations_api.map_router,
        operations_api.live_router,
        audit_api.router,
        accounts_pages.router,
        directory_pages.router,
        agreements_pages.router,
        sharing_pages.router,
        audit_pages.router,
        operations_pages.router,
        mutualaid_api.router,
        recovery_api.router,
        recovery_pages.router,
        mutualaid_exchange_api.router,
        mutualaid_pages.router,
        alerts_api.router,
        alerts_api.public_router,
        alerts_pages.router,
        protocols_api.router,
        protocols_pages.router,
        deconfliction_api.router,
        deconfliction_pages.router,
        eventboard_api.router,
        eventboard_pages.router,
        fund_api.router,
        fund_pages.router,
        metrics_api.router,
        metrics_pages.router,
    )
    for router in routers:
        app.include_router(router)
    app.state.routers = routers
    app.state.page_paths = frozenset(r.path for r in iter_api_routes(app) if "GET" in (r.methods or ()))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestContextMiddleware, settings=settings)
    return app
