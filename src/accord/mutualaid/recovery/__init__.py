"""Cost recovery of mutual-aid deployments (issue 6, part 3a; docs/adr/0022): time sheets,
the cost calculation under the signed clause's reimbursement terms, claims between the
providing and the requesting agency, and the settlement statement of two agencies."""
