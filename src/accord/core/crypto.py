"""Secrets at rest that are not passwords (e.g. TOTP seeds): AES-256-GCM under a key
derived from ``ACCORD_SECRET_KEY``, and token hashing for lookups."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())


def seal(secret_key: str, plaintext: str, purpose: bytes = b"accord-sealed-v1") -> str:
    nonce = os.urandom(12)
    ct = AESGCM(_derive(secret_key, purpose)).encrypt(nonce, plaintext.encode(), purpose)
    return base64.urlsafe_b64encode(nonce + ct).decode()


class SealBroken(ValueError):
    """The sealed value cannot be opened (wrong key, e.g. ACCORD_SECRET_KEY changed, or tampering)."""


def unseal(secret_key: str, sealed: str, purpose: bytes = b"accord-sealed-v1") -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_derive(secret_key, purpose)).decrypt(raw[:12], raw[12:], purpose).decode()
    except (InvalidTag, ValueError) as exc:
        raise SealBroken("sealed value cannot be opened with the current secret key") from exc


def token_hash(token: str) -> str:
    """High-entropy tokens are looked up by SHA-256; no salt needed, nothing reversible kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sign(secret_key: str, message: str) -> str:
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


class KeySettingInvalid(ValueError):
    """A key given in a setting that cannot be used (the message names the setting)."""


def key32_from_setting(value: str, setting: str) -> bytes:
    """The 32-byte key written as base64 in ``setting`` (checkpoint signing, master keys)."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeySettingInvalid(f"{setting} is not base64") from exc
    if len(raw) != 32:
        raise KeySettingInvalid(f"{setting} must hold 32 bytes, not {len(raw)}")
    return raw
