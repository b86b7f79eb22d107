"""ASGI entry point for uvicorn (``accord.asgi:app``): what ``accord serve`` runs."""

import gc

from accord.app import GC_THRESHOLDS, create_app
from accord.config import get_settings
from accord.core.logging import configure_logging

configure_logging(get_settings().log_level)
app = create_app()
# Everything loaded so far (modules, compiled statements, templates) lives as long as the
# process: keep it out of the collector's passes altogether; then collect on the
# thresholds a server with many open live streams needs (GC_THRESHOLDS says why).
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
