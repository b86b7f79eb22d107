"""ASGI entry point for uvicorn (``accord.asgi:app``)."""

from accord.app import create_app
from accord.core.logging import configure_logging
from accord.config import get_settings

configure_logging(get_settings().log_level)
app = create_app()
