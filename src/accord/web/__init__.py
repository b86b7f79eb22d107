"""Shared web shell: templates, navigation, flash messages, CSRF, static assets."""
