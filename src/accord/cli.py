"""The ``accord`` command: serve, migrate, seed, manage users, import the directory."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Annotated

import pyotp
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from accord.config import Settings, get_settings

app = typer.Typer(help="Accord: agreements-driven collaboration for public-safety agencies.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts (run on the server by its operator).", no_args_is_help=True)
seed_app = typer.Typer(help="Demo data.", no_args_is_help=True)
directory_app = typer.Typer(help="Agency directory.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption at rest: the master key and the data keys it wraps.", no_args_is_help=True)
records_app = typer.Typer(help="Records: retention and purge.", no_args_is_help=True)
alerts_app = typer.Typer(help="CAP 1.2 alerts: import outside alerts as incident reports.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(seed_app, name="seed")
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(records_app, name="records")
app.add_typer(alerts_app, name="alerts")
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    from accord.audit.service import configure
    from accord.core.crypto import KeySettingInvalid
    from accord.core.db import make_engine, make_session_factory
    from accord.vault import service as vault

    try:
        configure(settings)  # checkpoints written by this command are signed with its key
        vault.configure(settings)  # and data keys wrapped with its master key
    except KeySettingInvalid as exc:  # a key setting that cannot be used, named
        raise fail(str(exc)) from None

    return make_session_factory(make_engine(settings.database_url))()


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest version."""
    from accord.migrate import upgrade

    settings = get_settings()
    try:
        upgrade(settings.database_url)
    except Exception as exc:  # connection refused, bad URL: say so plainly
        where = settings.database_url.split("@")[-1]
        raise fail(f"could not upgrade {where}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    console.print("[green]Database is up to date.[/]")


@seed_app.command("demo")
def seed_demo_command() -> None:
    """Load the Harrow Valley demo region (agencies, people, one login per role) without serving."""
    _seed_and_print(get_settings())


@seed_app.command("totp", hidden=True)
def seed_totp(username: str = "admin") -> None:
    """Print the current code of the demo administrator's authenticator (demo only)."""
    from accord.seed import DEMO_TOTP_SECRET, DEMO_TOTP_USER

    if get_settings().is_production or username != DEMO_TOTP_USER:
        raise fail("only the demo administrator's published authenticator can be shown, and never in production")
    console.print(pyotp.TOTP(DEMO_TOTP_SECRET).now())


def _seed_and_print(settings: Settings) -> None:
    from accord.migrate import upgrade
    from accord.seed import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo

    if settings.is_production:
        raise fail("refusing to load demo accounts into a production installation (ACCORD_ENV=production)")
    upgrade(settings.database_url)
    with _session(settings) as db:
        logins = seed_demo(db, settings)
        db.commit()
    table = Table(title="Demo logins (password for all: " + DEMO_PASSWORD + ")")
    for column in ("username", "role", "person", "agency", "second factor"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.username, login.role, login.name, login.agency, "TOTP" if login.mfa else "—")
    console.print(table)
    console.print(
        f"The [bold]admin[/] account uses two-step verification: add the key [bold]{DEMO_TOTP_SECRET}[/] to an "
        "authenticator app, or run [bold].venv/bin/accord seed totp[/] for the current code."
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (ACCORD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (ACCORD_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes.")] = 1,
) -> None:
    """Serve the web application and API."""
    import uvicorn

    from accord.core.logging import configure_logging

    settings = get_settings()
    problems = settings.production_problems()
    if settings.is_production and problems:
        for problem in problems:
            err.print(f"[bold red]refusing to start in production:[/] {problem}")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    bind_host = host or settings.host
    bind_port = port or settings.port
    console.print(f"Accord is serving on [bold]http://{bind_host}:{bind_port}[/] (Ctrl+C to stop)")
    uvicorn.run(
        "accord.asgi:app", host=bind_host, port=bind_port, workers=workers, log_config=None, proxy_headers=False
    )


@app.command()
def demo() -> None:
    """Upgrade the embedded database, load the demo region, print the logins and serve."""
    settings = get_settings()
    _seed_and_print(settings)
    serve(host=None, port=None, workers=1)


def _find_user_or_fail(db, username: str):  # type: ignore[no-untyped-def]
    from accord.accounts.service import find_user

    user = find_user(db, username)
    if user is None:
        raise fail(f"no user named {username!r}")
    return user


@users_app.command("create")
def users_create(
    username: str,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[str, typer.Option(help="Role name, e.g. agency_admin, analyst, platform_admin.")],
    agency: Annotated[str | None, typer.Option(help="Agency short name (not for platform roles).")] = None,
    email: Annotated[str, typer.Option()] = "",
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this environment variable instead of prompting.")
    ] = None,
) -> None:
    """Create a user with one role (the password is prompted for, never an argument)."""
    from accord.accounts.service import create_user_unchecked
    from accord.core.errors import AccordError
    from accord.directory.models import Agency
    from accord.seed import system_actor

    settings = get_settings()
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise fail(f"environment variable {password_env} is empty or not set")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session(settings) as db:
        agency_id = None
        if agency:
            agency_id = db.scalar(select(Agency.id).where(Agency.short_name == agency.upper()))
            if agency_id is None:
                raise fail(f"--agency: no agency with short name {agency!r}")
        try:
            user = create_user_unchecked(
                db,
                actor=system_actor(_operator()),
                username=username,
                display_name=name,
                email=email,
                password=password,
                agency_id=agency_id,
                role=role,
            )
        except AccordError as exc:
            raise fail(exc.message) from None
        db.commit()
        console.print(
            f"[green]Created[/] {user.username} ({role}). MFA enrolment happens at first sign-in where required."
        )


@users_app.command("reset-mfa")
def users_reset_mfa(username: str) -> None:
    """Remove a user's authenticator and recovery codes and end their sessions (lost phone)."""
    from accord.accounts.service import reset_mfa
    from accord.seed import system_actor

    settings = get_settings()
    with _session(settings) as db:
        user = _find_user_or_fail(db, username)
        reset_mfa(db, actor=system_actor(_operator()), user_id=user.id)
        db.commit()
    console.print(f"[green]Two-step verification reset[/] for {username}; they enrol again at next sign-in.")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Release a lockout after repeated failed sign-ins."""
    from accord.accounts.service import unlock_user
    from accord.seed import system_actor

    settings = get_settings()
    with _session(settings) as db:
        user = _find_user_or_fail(db, username)
        unlock_user(db, actor=system_actor(_operator()), user_id=user.id)
        db.commit()
    console.print(f"[green]Unlocked[/] {username}.")


@directory_app.command("import")
def directory_import(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection, one agency per Feature.")],
) -> None:
    """Import agencies and jurisdictions. Good features are kept; bad ones are listed with
    the field and the reason, and the command then exits with status 1."""
    from accord.core.errors import AccordError
    from accord.directory.service import import_feature_collection
    from accord.seed import system_actor

    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        collection = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: not valid JSON ({exc})") from None
    total = (
        len(collection.get("features", []))
        if isinstance(collection, dict) and isinstance(collection.get("features"), list)
        else 0
    )
    settings = get_settings()
    with (
        _session(settings) as db,
        Progress(
            TextColumn("[bold]Importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        task = progress.add_task("import", total=total or None)
        try:
            report = import_feature_collection(
                db,
                actor=system_actor(_operator()),
                collection=collection,
                progress=lambda done: progress.update(task, completed=done),
            )
        except AccordError as exc:
            raise fail(f"{file}: {exc.message}") from None
        db.commit()
    console.print(f"[green]{report.created} created[/], {report.updated} updated, [red]{report.failed} failed[/]")
    if report.problems:
        table = Table(title="Features not imported")
        for column in ("feature", "name", "field", "reason"):
            table.add_column(column)
        for p in report.problems:
            table.add_row(str(p.feature), p.name, p.field, p.reason)
        err.print(table)
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    jobs: Annotated[
        int, typer.Option(min=1, max=64, help="Processes walking ranges of the log at once (default: one per CPU).")
    ] = os.cpu_count() or 1,
) -> None:
    """Recompute the hash chain and every signed checkpoint; exit 1 naming the first bad entry."""
    from accord.audit.verify import verify_and_report

    settings = get_settings()
    with _session(settings) as db:
        verdict = verify_and_report(db, actor=None, username=_operator(), jobs=jobs)
        db.commit()
    if verdict.first_problem is not None:
        problem = verdict.first_problem
        raise fail(f"audit chain broken ({problem.kind}): {problem.message}")
    console.print(
        f"audit chain intact: {verdict.events} events, {verdict.checkpoints} signed checkpoints, "
        f"root {verdict.root_hash}"
    )


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the log as it stands now (if it grew since the last one)."""
    from accord.audit.service import checkpoint_now

    settings = get_settings()
    with _session(settings) as db:
        checkpoint = checkpoint_now(db)
        db.commit()
    if checkpoint is None:
        console.print("nothing new since the last checkpoint")
    else:
        console.print(f"checkpoint at {checkpoint.tree_size} events, root {checkpoint.root_hash}")


@keys_app.command("generate")
def keys_generate(
    path: Annotated[Path, typer.Argument(help="File to create (mode 0600); it must not exist.")],
) -> None:
    """Write a new random master key to a file, readable by its owner only. The key is
    never printed: point ACCORD_MASTER_KEY_FILE at the file."""
    from accord.vault.keyring import master_key_id, new_master_key

    key = new_master_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise fail(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    import base64

    console.print(f"master key {master_key_id(base64.b64decode(key))} written to {path}")


def _keyring_or_fail(settings: Settings):  # type: ignore[no-untyped-def]
    from accord.core.crypto import KeySettingInvalid
    from accord.vault.keyring import keyring_for

    try:
        return keyring_for(settings)
    except KeySettingInvalid as exc:
        raise fail(str(exc)) from None


@keys_app.command("status")
def keys_status() -> None:
    """Which master key is current, and how many data keys each master key wraps."""
    from accord.vault import service as vault

    settings = get_settings()
    ring = _keyring_or_fail(settings)
    with _session(settings) as db:
        census = vault.census(db)
    table = Table(title=f"Data keys by master key (current: {ring.current_id})")
    for column in ("master key", "data keys", "held by this server"):
        table.add_column(column)
    for key_id, count in sorted(census.items()):
        current = " (current)" if key_id == ring.current_id else ""
        table.add_row(key_id + current, str(count), "yes" if ring.holds(key_id) else "NO")
    console.print(table)


@keys_app.command("rotate-master")
def keys_rotate_master(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Data keys rewrapped per transaction.")] = 500,
) -> None:
    """Rewrap every data key under the current master key, in short transactions while
    the servers keep running (docs/adr/0011). Run it after making the new key current and
    listing the old one in ACCORD_PREVIOUS_MASTER_KEYS; drop the old key afterwards."""
    from accord.vault import service as vault
    from accord.vault.keyring import KeyUnavailable

    settings = get_settings()
    ring = _keyring_or_fail(settings)
    total = 0
    bar = Progress(TextColumn("rewrapping"), BarColumn(), MofNCompleteColumn(), console=err)
    with _session(settings) as db, bar as progress:
        stale = sum(n for key_id, n in vault.census(db).items() if key_id != ring.current_id)
        task = progress.add_task("rewrap", total=stale)
        while True:
            try:
                done = vault.rewrap_batch(db, actor=None, username=_operator(), limit=batch)
            except KeyUnavailable as exc:
                db.rollback()
                raise fail(str(exc)) from None
            db.commit()
            total += done.count
            progress.advance(task, done.count)
            if done.done or done.count == 0:
                break
    console.print(f"{total} data keys rewrapped; every data key is now under master key {ring.current_id}")


@records_app.command("purge")
def records_purge() -> None:
    """Delete records past their agency's retention period (never those on legal hold),
    with their versions, attachments and data keys; one audit event per record."""
    from accord.sharing.retention import purge_expired
    from accord.vault import service as vault

    settings = get_settings()
    purged = keys = 0
    held = 0
    with _session(settings) as db:
        while True:
            result = purge_expired(db, actor=None, username=_operator())
            db.commit()
            if result.keys_destroyed:
                vault.scrub(db)
            purged, keys, held = purged + result.purged, keys + result.keys_destroyed, result.held
            if result.purged == 0:
                break
    console.print(f"{purged} records purged, {keys} data keys destroyed, {held} expired records kept on legal hold")


@alerts_app.command("import")
def alerts_import(
    source: Annotated[str, typer.Argument(help="A CAP 1.2 file or Atom/RSS feed, or the http(s) URL of one.")],
    agency: Annotated[str, typer.Option(help="Short name of the importing agency, which leads the reports.")],
) -> None:
    """Import CAP alerts as incident reports of an agency. Prints one line per alert; exits
    with status 1 if any alert was refused (element and reason listed)."""
    from accord.authz.actor import Actor, MembershipGrant
    from accord.core.errors import AccordError
    from accord.directory.models import Agency
    from accord.operations.alerts import service as alerts

    is_url = source.lower().startswith(("http://", "https://"))
    path = Path(source)
    if not is_url and not path.is_file():
        raise fail(f"{source}: no such file (give a file or an http(s) URL)")
    settings = get_settings()
    with _session(settings) as db:
        agency_id = db.scalar(select(Agency.id).where(Agency.short_name == agency))
        if agency_id is None:
            raise fail(f"--agency {agency}: no agency has this short name")
        grant = MembershipGrant(agency_id, "operator", frozenset({alerts.IMPORT}))
        actor = Actor(
            user_id=None, username=_operator(), display_name=_operator(), memberships=(grant,), auth_method="system"
        )
        try:
            report = alerts.import_alerts(
                db,
                actor=actor,
                agency_id=agency_id,
                data=None if is_url else path.read_bytes(),
                url=source if is_url else None,
            )
        except AccordError as exc:
            raise fail(f"{source}: {exc.message}") from None
        db.commit()
    table = Table(title=f"{source} ({report.kind})")
    for column in ("entry", "result", "alert", "report", "why"):
        table.add_column(column)
    for r in report.results:
        why = "; ".join(f"{p.path}: {p.reason}" for p in r.problems) or "; ".join(r.notes)
        table.add_row(
            r.entry, r.outcome, f"{r.msg_type or ''} {r.identifier or ''}".strip(), r.incident_number or "", why
        )
    console.print(table)
    console.print(", ".join(f"{n} {outcome}" for outcome, n in report.counts.items() if n))
    if report.counts.get("refused"):
        raise typer.Exit(1)
