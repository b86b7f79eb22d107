"""Records shared under the agreements: tiers (TLP 2.0), sensitive labels and masks, and
every surface that reads them through ``authz.scope``."""
