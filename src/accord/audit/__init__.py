"""The audit trail: an append-only event table written in the same transaction as the
change or read it records. Ordered by ``seq`` and carrying canonical fields so it can
become a hash chain without a data migration."""
