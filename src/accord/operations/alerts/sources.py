"""Where imported alerts come from: an uploaded document, a URL, or the entries of an Atom
or RSS feed (embedded alerts or links to them). No database: the documents are gathered
first (fetches bounded in size and time), then the service imports them.

Fetching: http and https only, also after redirects (at most five); no proxy settings,
``.netrc`` or cookies from the environment; at most 1 MiB read (the body is streamed and
reading stops at the limit) within 10 s. Targets on private networks and on this host are
allowed on purpose: an agency on a closed network feeds from its own servers. Link-local,
multicast and unspecified addresses are refused (cloud metadata services live there).
Every import is audited with its URL, and only users who may import alerts may fetch.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree

from accord.formats.cap import CAP_NS, CapProblem, parse_xml
from accord.operations.alerts.vocab import (
    FEED_DEADLINE_SECONDS,
    FETCH_TIMEOUT_SECONDS,
    MAX_DOCUMENT_BYTES,
    MAX_FEED_ENTRIES,
    MAX_REDIRECTS,
)

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS1_NS = "http://purl.org/rss/1.0/"
MAX_URL_LENGTH = 2000
ACCEPT = "application/cap+xml, application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9"


class FetchFailed(Exception):
    """A URL could not be fetched within the limits; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Fetcher = Callable[[str], bytes]


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"


def check_url(url: str, *, redirect: bool = False) -> None:
    """Refuse a URL Accord will not fetch (scheme, credentials, address), naming why."""
    what = "a redirect to" if redirect else "the URL"
    if len(url) > MAX_URL_LENGTH:
        raise FetchFailed(f"{what} is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchFailed(f"{what} '{url}' is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise FetchFailed(f"{what} has {shown}; only http and https URLs are fetched")
    if not parts.hostname:
        raise FetchFailed(f"{what} names no host")
    if parts.username is not None or parts.password is not None:
        raise FetchFailed(f"{what} carries a user name or password; give the URL without them")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchFailed(f"the host '{parts.hostname}' cannot be resolved ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        address = mapped or address
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise FetchFailed(
                f"the host '{parts.hostname}' resolves to {address}, a link-local, multicast or unspecified "
                "address; Accord never fetches from those (cloud metadata services live there)"
            )


def fetch(
    url: str,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    max_redirects: int = MAX_REDIRECTS,
) -> bytes:
    """GET ``url`` within the limits and return its body; raise :class:`FetchFailed`."""
    deadline = time.monotonic() + timeout
    current = url
    headers = {"Accept": ACCEPT, "Accept-Encoding": "identity", "User-Agent": "Accord CAP importer"}
    with httpx.Client(follow_redirects=False, trust_env=False, headers=headers) as client:
        for hop in range(max_redirects + 1):
            check_url(current, redirect=hop > 0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchFailed(f"no complete answer within {timeout:g} s")
            try:
                with client.stream("GET", current, timeout=httpx.Timeout(remaining)) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise FetchFailed(f"the server answered HTTP {response.status_code} without a Location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise FetchFailed(f"the server answered HTTP {response.status_code} for {current}")
                    encoding = response.headers.get("content-encoding", "identity").strip().lower()
                    if encoding not in ("", "identity"):
                        raise FetchFailed(
                            f"the answer is compressed ({encoding}); Accord asks for and reads plain bodies"
                        )
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchFailed(f"the answer is {declared} bytes; at most {_size(max_bytes)} is read")
                    return _read(response, max_bytes, deadline, timeout)
            except httpx.TimeoutException:
                raise FetchFailed(f"no complete answer within {timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise FetchFailed(f"could not fetch {current}: {exc.__class__.__name__} ({exc})") from None
    raise FetchFailed(f"more than {max_redirects} redirects")


def _read(response: httpx.Response, max_bytes: int, deadline: float, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed(f"the answer is larger than {_size(max_bytes)}; reading stopped there")
        if time.monotonic() > deadline:
            raise FetchFailed(f"no complete answer within {timeout:g} s; reading stopped")
        chunks.append(chunk)
    return b"".join(chunks)


# --- documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One CAP alert to import (``data``), or the problems that kept it from being had."""

    label: str  # "alert", "url", "entry 3"
    data: bytes | None
    source_url: str | None = None
    problems: tuple[CapProblem, ...] = ()


@dataclass(frozen=True)
class Gathered:
    kind: str  # "alert" (one document) or "feed"
    documents: list[Document]


def _read_problems(data: bytes) -> tuple[Any, list[CapProblem]]:
    if len(data) > MAX_DOCUMENT_BYTES:
        return None, [
            CapProblem("/", f"the document is {len(data)} bytes; at most {_size(MAX_DOCUMENT_BYTES)} is accepted")
        ]
    if not data.strip():
        return None, [CapProblem("/", "the document is empty")]
    root, problems = parse_xml(data)
    readable = []
    for problem in problems:
        if "Excessive depth" in problem.reason:
            readable.append(
                CapProblem(problem.path, "elements are nested more than 256 deep; the document was not read")
            )
        elif "Huge input lookup" in problem.reason or "huge text node" in problem.reason:
            readable.append(CapProblem(problem.path, "a text node is too large; the document was not read"))
        else:
            readable.append(problem)
    return root, readable


def _local(element: Any) -> tuple[str | None, str]:
    qname = etree.QName(element)
    return qname.namespace, qname.localname


def gather(*, data: bytes | None = None, url: str | None = None, fetcher: Fetcher = fetch) -> Gathered:
    """The alerts to import from an uploaded document or a URL: one alert, or each entry
    of a feed (its embedded alert, or the alert its link points to)."""
    if url is not None:
        try:
            data = fetcher(url)
        except FetchFailed as exc:
            return Gathered("alert", [Document("url", None, url, (CapProblem("url", exc.reason),))])
    assert data is not None
    root, problems = _read_problems(data)
    if root is None:
        return Gathered("alert", [Document("alert", None, url, tuple(problems))])
    namespace, local = _local(root)
    if local == "alert":
        return Gathered("alert", [Document("alert", data, url)])
    if namespace == ATOM_NS and local == "feed":
        entries, path = root.findall(f"{{{ATOM_NS}}}entry"), "/feed/entry"
    elif namespace is None and local == "rss":
        entries, path = root.findall("channel/item"), "/rss/channel/item"
    elif local == "RDF":
        entries, path = root.findall(f"{{{RSS1_NS}}}item"), "/RDF/item"
    else:
        reason = f"the document is neither a CAP 1.2 <alert> nor an Atom or RSS feed of alerts (it is a <{local}>)"
        return Gathered("alert", [Document("alert", None, url, (CapProblem(f"/{local}", reason),))])
    base = url or _self_link(root, namespace)
    documents: list[Document] = []
    started = time.monotonic()
    for number, entry in enumerate(entries[:MAX_FEED_ENTRIES], start=1):
        label, entry_path = f"entry {number}", f"{path}[{number}]"
        embedded = next(iter(entry.iter(f"{{{CAP_NS}}}alert")), None)
        if embedded is None:
            embedded = next((e for e in entry.iter() if isinstance(e.tag, str) and _local(e)[1] == "alert"), None)
        if embedded is not None:
            documents.append(Document(label, etree.tostring(embedded, with_tail=False), url))
            continue
        link = _link_of(entry, namespace)
        if link is None:
            reason = "the entry neither embeds a CAP alert nor links to one"
            documents.append(Document(label, None, url, (CapProblem(entry_path, reason),)))
            continue
        target = urljoin(base, link) if base else link
        if not urlsplit(target).scheme:
            reason = f"the entry links to '{link}', a relative URL, and the uploaded feed names no URL of its own"
            documents.append(Document(label, None, None, (CapProblem(entry_path, reason),)))
            continue
        if time.monotonic() - started > FEED_DEADLINE_SECONDS:
            reason = f"not fetched: the feed's linked alerts took longer than {FEED_DEADLINE_SECONDS:g} s in all"
            documents.append(Document(label, None, target, (CapProblem(entry_path, reason),)))
            continue
        try:
            documents.append(Document(label, fetcher(target), target))
        except FetchFailed as exc:
            documents.append(Document(label, None, target, (CapProblem(entry_path, exc.reason),)))
    if len(entries) > MAX_FEED_ENTRIES:
        reason = f"the feed has {len(entries)} entries; only the first {MAX_FEED_ENTRIES} are imported"
        problem = CapProblem(f"{path}[{MAX_FEED_ENTRIES + 1}]", reason)
        documents.append(Document(f"entries {MAX_FEED_ENTRIES + 1}-{len(entries)}", None, url, (problem,)))
    return Gathered("feed", documents)


def _self_link(root: Any, namespace: str | None) -> str | None:
    """An uploaded Atom feed's own absolute URL (``<link rel="self">``): its relative links
    resolve against it."""
    if namespace != ATOM_NS:
        return None
    for link in root.findall(f"{{{ATOM_NS}}}link"):
        href = (link.get("href") or "").strip()
        if link.get("rel") == "self" and urlsplit(href).scheme in ("http", "https"):
            return href
    return None


def _link_of(entry: Any, namespace: str | None) -> str | None:
    """The URL of the CAP alert an entry points to: a link typed as CAP first, then an
    alternate link, then any link (Atom); an enclosure, then the link, then a permalink guid (RSS)."""
    if namespace == ATOM_NS:
        links = [e for e in entry.findall(f"{{{ATOM_NS}}}link") if (e.get("href") or "").strip()]
        typed = [e for e in links if "cap" in (e.get("type") or "").lower()]
        alternate = [e for e in links if (e.get("rel") or "alternate") == "alternate"]
        for found in (typed or alternate or links)[:1]:
            return str(found.get("href")).strip()
        content = entry.find(f"{{{ATOM_NS}}}content")
        source = content.get("src") if content is not None else None
        return source.strip() if source else None
    for enclosure in entry.findall("enclosure"):
        if "cap" in (enclosure.get("type") or "").lower() and (enclosure.get("url") or "").strip():
            return str(enclosure.get("url")).strip()
    for tag in ("link", f"{{{RSS1_NS}}}link"):
        element = entry.find(tag)
        if element is not None and (element.text or "").strip():
            return str(element.text).strip()
    guid = entry.find("guid")
    if guid is not None and guid.get("isPermaLink", "true") == "true" and (guid.text or "").strip():
        return str(guid.text).strip()
    return None
