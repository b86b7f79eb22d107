"""Pre-agreed protocols: written jointly by a partnership's members, versioned, adopted by
agencies through agreement clauses, and attached to incidents of matching type."""

# The agreements module refuses a protocol clause, and compiles no adoption, unless this
# package registered its hooks: import them with the package (accord.models imports it).
from accord.operations.protocols import adoption as _adoption  # noqa: F401
