"""argon2id password hashing (pwdlib) with a password policy that names its reason."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from accord.core.errors import InvalidInput

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the username does not exist, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("accord-dummy-password-for-timing")
MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # malformed stored hash: treat as a wrong password, never a 500
        return False


def check_policy(password: str, *, username: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, f"must be at least {MIN_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise InvalidInput(field, "must not contain the username")
    if len(set(password)) < 5:
        raise InvalidInput(field, "is too repetitive")
