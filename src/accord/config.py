"""Settings from the environment (prefix ``ACCORD_``).

Defaults are safe for the embedded demo; production mode refuses demo secrets so an
operator cannot ship the demo configuration by accident.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "accord-demo-secret-key-do-not-use-in-production"
DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    env: Literal["demo", "production", "test"] = "demo"
    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'accord.db'}"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = DEMO_SECRET_KEY
    # MFA is mandatory in production whatever this says; the demo may relax it.
    mfa_required: bool = False
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=72)
    api_token_hours: int = Field(default=8, ge=1, le=24 * 365)
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_window_minutes: int = Field(default=15, ge=1)
    login_rate_per_minute: int = Field(default=30, ge=1)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Attachment uploads (POST .../attachments) may be this large; other requests are not.
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    cookie_secure: bool | None = None
    log_level: str = "INFO"
    basemap_url: str = ""
    # Ed25519 key that signs audit checkpoints: 32 bytes, base64. Empty: derived from
    # ACCORD_SECRET_KEY. To rotate, set a new key and list the old public key(s) here,
    # comma-separated, so checkpoints signed before still verify.
    audit_signing_key: str = ""
    audit_previous_public_keys: str = ""
    # AES-256 master key that wraps the agencies' data keys (records at AMBER+STRICT and
    # RED): 32 bytes, base64, here or on the first line of master_key_file. Empty: derived
    # from ACCORD_SECRET_KEY. To rotate (docs/adr/0011), make the new key current, list the
    # old one in previous_master_keys (base64, comma-separated; "derived" names the key
    # derived from the secret), run `accord keys rotate-master`, then drop the old key.
    master_key: str = ""
    master_key_file: Path | None = None
    previous_master_keys: str = ""
    # How often `accord serve` runs the retention purge (minutes); 0 leaves it to the CLI.
    purge_interval_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    # NATS JetStream for live events shared by several `accord serve` workers or hosts
    # (ADR 14); unset: the in-process broker.
    nats_url: str | None = None
    # The JetStream stream and subject; installations sharing one NATS server each need
    # their own.
    nats_stream: str = Field(default="ACCORD_EVENTS", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    nats_subject: str = Field(default="accord.events", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,7}$")
    # How long the outbox keeps live events for reconnecting clients (hours).
    live_history_hours: int = Field(default=48, ge=1, le=24 * 30)
    # CAP alerts (issue 5): the installation's part of every published alert's <sender>
    # ("<agency>@<cap_sender>"), and how many requests a minute one address may make to
    # the public alert feed and documents.
    cap_sender: str = Field(default="accord.invalid", pattern=r"^[^\s,<&@]+$", max_length=100)
    public_rate_per_minute: int = Field(default=120, ge=1)
    # Mutual-aid matching (ADR 21): travel speed per resource type in km/h, overriding the
    # type's own (JSON: {"swift_water_rescue_team": 55}), and how much longer roads are than
    # the great circle.
    travel_speeds: dict[str, float] = Field(default_factory=dict)
    # argon2id parameters: "fast" is for test suites only (read by accounts.passwords).
    password_hashing: Literal["standard", "fast"] = "standard"
    road_factor: float = Field(default=1.3, ge=1.0, le=3.0)

    @field_validator("travel_speeds")
    @classmethod
    def _speeds(cls, value: dict[str, float]) -> dict[str, float]:
        for key, speed in value.items():
            if not 0 < speed <= 1000:
                raise ValueError(f"travel speed of {key!r} must be between 0 and 1000 km/h")
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def mfa_enforced(self) -> bool:
        return self.is_production or self.mfa_required

    @property
    def secure_cookies(self) -> bool:
        return self.is_production if self.cookie_secure is None else self.cookie_secure

    def production_problems(self) -> list[str]:
        """Reasons this configuration must not serve real agencies (empty when fine)."""
        problems: list[str] = []
        if self.secret_key == DEMO_SECRET_KEY:
            problems.append("ACCORD_SECRET_KEY is the demo key; set a random secret of 32+ characters")
        elif len(self.secret_key) < 32:
            problems.append("ACCORD_SECRET_KEY is shorter than 32 characters")
        if self.cookie_secure is False:
            problems.append("ACCORD_COOKIE_SECURE=false sends session cookies over plain HTTP")
        if self.password_hashing != "standard":
            problems.append("ACCORD_PASSWORD_HASHING=fast weakens stored passwords; it is for test suites only")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
