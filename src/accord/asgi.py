"""ASGI entry point for uvicorn (``accord.asgi:app``)."""

from accord.app import create_app
from accord.config import get_settings
from accord.core.logging import configure_logging

configure_logging(get_settings().log_level)
app = create_app()
