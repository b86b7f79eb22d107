"""Navigation for every module of Accord. An entry shows only when its page exists in
this installation (modules not built yet stay hidden) and the user holds its permission."""

from __future__ import annotations

from dataclasses import dataclass

from accord.authz.actor import Actor


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: str
    section: str = "main"


NAV: tuple[NavItem, ...] = (
    NavItem("Overview", "/", "accounts:self:manage"),
    NavItem("Directory", "/directory", "directory:agency:read"),
    NavItem("Region map", "/map", "directory:agency:read"),
    NavItem("Partnerships", "/partnerships", "agreements:partnership:read"),
    NavItem("Agreements", "/agreements", "agreements:agreement:read"),
    NavItem("Records", "/records", "sharing:record:read"),
    NavItem("Trends", "/records/aggregates", "sharing:aggregate:read"),
    NavItem("Operations", "/incidents", "operations:incident:read"),
    NavItem("Protocols", "/protocols", "operations:protocol:read"),
    NavItem("Mutual aid", "/mutual-aid", "mutualaid:request:read"),
    NavItem("Alerts", "/fusion", "fusion:alert:read"),
    NavItem("Dashboard", "/awareness", "awareness:dashboard:read"),
    NavItem("Training", "/learning", "learning:exercise:read"),
    NavItem("Users", "/admin/users", "accounts:user:read", "admin"),
    NavItem("Retention", "/records/retention", "sharing:retention:manage", "admin"),
    NavItem("Audit", "/audit", "audit:event:read", "admin"),
)


def visible_nav(actor: Actor, available_paths: frozenset[str], section: str) -> list[NavItem]:
    return [
        item for item in NAV if item.section == section and item.href in available_paths and actor.has(item.permission)
    ]
