"""The test suite. Accounts are made with the smallest argon2id parameters (hundreds of
accounts at half a second of CPU each would take minutes of the suite's budget); servers the
tests start inherit the setting. See accord.accounts.passwords."""

import os

os.environ.setdefault("ACCORD_PASSWORD_HASHING", "fast")
