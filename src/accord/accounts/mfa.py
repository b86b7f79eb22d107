"""TOTP (RFC 6238) helpers: provisioning, QR codes, verification without replay."""

from __future__ import annotations

import secrets

import pyotp
import segno

ISSUER = "Accord"
DIGITS = 6
INTERVAL = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code (no image request, nothing leaves the server)."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#0b1f33", light="#ffffff")
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1)


def matching_counter(secret: str, code: str, now: float, last_counter: int | None) -> int | None:
    """The time-step the code belongs to (±1 step of clock skew), or None. A code whose
    step is not newer than ``last_counter`` is refused, so a code works only once."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != DIGITS:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // INTERVAL)
    for counter in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(counter), code):
            if last_counter is not None and counter <= last_counter:
                return None
            return counter
    return None


def new_recovery_codes(count: int = 10) -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(2)) for _ in range(count)]


def normalise_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "")
