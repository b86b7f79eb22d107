"""Ed25519 signatures over audit checkpoints. The key comes from settings and never
appears in logs or API output; only its public half and a short key id are published."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from accord.config import Settings
from accord.core.crypto import key32_from_setting

LOG_ID = "accord-audit-v1"


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def public_b64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    trusted: dict[str, Ed25519PublicKey]  # key id -> public key (current and previous)

    @property
    def key_id(self) -> str:
        return key_id(self.private.public_key())

    def sign(self, statement: dict[str, Any]) -> str:
        return base64.b64encode(self.private.sign(message(statement))).decode()

    def verify(self, statement: dict[str, Any], key: str, signature: str) -> bool:
        public = self.trusted.get(key)
        if public is None:
            return False
        try:
            public.verify(base64.b64decode(signature), message(statement))
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def message(statement: dict[str, Any]) -> bytes:
    return json.dumps({"log": LOG_ID, **statement}, sort_keys=True, separators=(",", ":")).encode()


def signer_for(settings: Settings) -> Signer:
    if settings.audit_signing_key:
        seed = key32_from_setting(settings.audit_signing_key, "ACCORD_AUDIT_SIGNING_KEY")
    else:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"accord audit checkpoint key").derive(
            settings.secret_key.encode()
        )
    private = Ed25519PrivateKey.from_private_bytes(seed)
    trusted = {key_id(private.public_key()): private.public_key()}
    for item in filter(None, (k.strip() for k in settings.audit_previous_public_keys.split(","))):
        public = Ed25519PublicKey.from_public_bytes(key32_from_setting(item, "ACCORD_AUDIT_PREVIOUS_PUBLIC_KEYS"))
        trusted[key_id(public)] = public
    return Signer(private, trusted)
