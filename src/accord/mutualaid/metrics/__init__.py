"""Mutual-aid metrics (issue 6, part 4): per agency and per partnership over a period,
requests opened, fill time, share filled, offers made and committed, and cost recovery."""
