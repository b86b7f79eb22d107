"""User accounts: passwords (argon2id), TOTP MFA with recovery codes, lockout,
server-side sessions and hashed API tokens."""
