"""HTML → PDF with WeasyPrint, for documents any module prints (agreements, briefings,
settlement statements). Rendering never touches the network: the only resources a
document may load are Accord's own static files (and inline ``data:`` URLs)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

STATIC = Path(__file__).parent / "static"
# Documents are rendered against this origin; "/static/..." links resolve onto it.
BASE_URL = "https://accord.invalid/"
_ORIGIN = urlsplit(BASE_URL)


def static_file(url: str) -> Path | None:
    """The file under ``static/`` that ``url`` names on the document origin, else None."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (_ORIGIN.scheme, _ORIGIN.netloc):
        return None
    path = unquote(parts.path)
    if not path.startswith("/static/"):
        return None
    root = STATIC.resolve()
    target = (root / path.removeprefix("/static/")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """Serves Accord's static files and data: URLs; refuses everything else."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            target = static_file(url)
            if target is None:
                raise ValueError(f"refused to fetch {url!r}: documents load only Accord's own static files")
            mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, target.read_bytes(), {"Content-Type": mime})

    return StaticOnlyFetcher(timeout=1, allow_redirects=False)


def render_pdf(html: str) -> bytes:
    """The PDF of a complete HTML document (styles inline or under ``/static/``)."""
    import weasyprint  # imported here: it loads Pango at import time

    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher(), media_type="print")
    pdf: bytes = document.write_pdf()
    return pdf
