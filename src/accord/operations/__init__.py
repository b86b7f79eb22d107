"""Joint operations: incidents under unified command, their participants and activity logs."""
