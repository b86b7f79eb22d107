"""The master keys of this process: the current one wraps new data keys, previous ones
still unwrap keys a rotation has not reached yet. Key material never leaves this module
as text: it is not logged, not shown, and a key is named only by its 16-hex-digit id."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from accord.config import Settings
from accord.core.crypto import KeySettingInvalid, key32_from_setting
from accord.core.errors import AccordError

DERIVED = "derived"
_WRAP_INFO = b"accord data key wrap v1"


class MasterKeyInvalid(KeySettingInvalid):
    """A configured master key that cannot be used (the message names the setting)."""


class KeyUnavailable(AccordError):
    """A data key cannot be unwrapped: wrapped under a master key this process does not
    hold (a rotation's old key removed too early), or altered. Answered 503: the data is
    intact, the server is misconfigured."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, status_code=503, code="key_unavailable")


def master_key_id(key: bytes) -> str:
    return hashlib.sha256(b"accord master key id\x00" + key).hexdigest()[:16]


def _derived(settings: Settings) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"accord master key").derive(
        settings.secret_key.encode()
    )


@dataclass(frozen=True, repr=False)
class Keyring:
    current: bytes
    previous: tuple[bytes, ...] = ()
    _by_id: dict[str, bytes] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for key in (self.current, *self.previous):
            self._by_id.setdefault(master_key_id(key), key)

    def __repr__(self) -> str:  # never print key material, even by accident
        return f"Keyring(current={self.current_id}, previous={len(self.previous)})"

    @property
    def current_id(self) -> str:
        return master_key_id(self.current)

    def holds(self, key_id: str) -> bool:
        return key_id in self._by_id

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        return self.current_id, nonce + AESGCM(self._kek(self.current)).encrypt(nonce, data_key, _WRAP_INFO + context)

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        master = self._by_id.get(key_id)
        if master is None:
            raise KeyUnavailable(f"data key wrapped under master key {key_id}, which this server does not hold")
        try:
            return AESGCM(self._kek(master)).decrypt(wrapped[:12], wrapped[12:], _WRAP_INFO + context)
        except InvalidTag as exc:
            raise KeyUnavailable("a data key does not unwrap: it was altered or moved to another row") from exc

    @staticmethod
    def _kek(master: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_INFO).derive(master)


def keyring_for(settings: Settings) -> Keyring:
    """Current key: ACCORD_MASTER_KEY, else the first line of ACCORD_MASTER_KEY_FILE (its
    further lines are previous keys), else derived from ACCORD_SECRET_KEY."""
    previous: list[bytes] = []
    if settings.master_key:
        current = key32_from_setting(settings.master_key, "ACCORD_MASTER_KEY")
    elif settings.master_key_file is not None:
        try:
            text = settings.master_key_file.read_text()
        except OSError as exc:
            raise MasterKeyInvalid(f"ACCORD_MASTER_KEY_FILE cannot be read: {exc.strerror}") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        if not lines:
            raise MasterKeyInvalid("ACCORD_MASTER_KEY_FILE holds no key")
        current = key32_from_setting(lines[0], "ACCORD_MASTER_KEY_FILE")
        previous += [key32_from_setting(ln, "ACCORD_MASTER_KEY_FILE") for ln in lines[1:]]
    else:
        current = _derived(settings)
    for item in filter(None, (k.strip() for k in settings.previous_master_keys.split(","))):
        previous.append(
            _derived(settings) if item == DERIVED else key32_from_setting(item, "ACCORD_PREVIOUS_MASTER_KEYS")
        )
    return Keyring(current, tuple(k for k in previous if k != current))


def new_master_key() -> str:
    """A fresh master key, base64 (for `accord keys generate`, which writes it to a file)."""
    return base64.b64encode(os.urandom(32)).decode()
