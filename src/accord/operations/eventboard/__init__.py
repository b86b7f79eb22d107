"""The joint command board of a planned event: shifts, posts, the units each agency assigns
to them, and a shared message board with read receipts (issue 5)."""
