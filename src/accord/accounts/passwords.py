"""argon2id password hashing (pwdlib) with a password policy that names its reason."""

from __future__ import annotations

import os

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from accord.core.errors import InvalidInput

# ACCORD_PASSWORD_HASHING=fast: the smallest argon2id parameters, for test suites that make
# hundreds of accounts (each standard hash costs about half a second of CPU). A production
# configuration with it is refused (Settings.production_problems). Every hash carries its
# own parameters, so either setting verifies hashes made under the other.
FAST = os.environ.get("ACCORD_PASSWORD_HASHING", "standard") == "fast"
_hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1) if FAST else Argon2Hasher(),))
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
