"""The two ways to reach Chroma: an embedded ``PersistentClient`` on a directory, or an
``HttpClient`` on a Chroma server (``chroma run --path DIR --host H --port P``), which several
serving processes, on one machine or several, can share.

A server's address is checked before the client is made: chromadb's own client says only "could
not connect" when it fails. chromadb's client also waits without a timeout (``httpx.Client(timeout=
None)``): a server that is stopped rather than gone would hold a request until its deadline, so
each call here is given ``READ_TIMEOUT_S``. A server that stops later (restarted, killed, frozen)
makes chromadb raise httpx's errors raw: ``unreachable`` turns them into a StoreError.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.errors import ChromaError

from core.errors import StoreError

HEARTBEAT = "/api/v2/heartbeat"  # Chroma 1.x's API (chromadb.api.fastapi.FastAPI.heartbeat)
CONNECT_TIMEOUT_S = 5.0
# Every call here is one small read, or one write of at most 512 records: a second or two on a busy
# 2-core machine. 10 s is a frozen server, and leaves a request most of its 30 s deadline to say so.
READ_TIMEOUT_S = 10.0
_NAMED = "--chroma-url (or SCENEBRIDGE_CHROMA_URL)"


def persistent_client(path: Path) -> ClientAPI:
    # Default settings (telemetry is off through ANONYMIZED_TELEMETRY, see settings.py):
    # Chroma refuses a second client on one path with different settings.
    return chromadb.PersistentClient(path=str(path))


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """``http(s)://HOST[:PORT]`` -> (host, port, ssl); the port defaults as in any URL (80, 443)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        port = -1
    if (parts.scheme not in ("http", "https") or not parts.hostname or port == -1
            or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise StoreError(
            f"{_NAMED}: {url!r} is not a Chroma server address",
            hint="give the scheme, host and port only, e.g. http://127.0.0.1:8000 (where "
            "'chroma run --path DIR --port 8000' listens); unset it to use the store directory",
            param="chroma_url",
        )
    ssl = parts.scheme == "https"
    return parts.hostname, port or (443 if ssl else 80), ssl


def http_client(url: str) -> ClientAPI:
    """A client on the Chroma server at ``url``; a clean StoreError when there is none."""
    host, port, ssl = parse_chroma_url(url)
    address = f"{'https' if ssl else 'http'}://{host}:{port}"
    start = (f"start one: chroma run --path DIR --host {host} --port {port} (the chroma command comes "
             f"with scenebridge's environment), or fix {_NAMED}; unset it to use the store directory")
    try:
        answer = httpx.get(address + HEARTBEAT, timeout=CONNECT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise StoreError(f"cannot reach the Chroma server at {address} ({type(exc).__name__}: {exc})",
                         hint=start, param="chroma_url") from None
    if answer.status_code != 200 or "nanosecond heartbeat" not in answer.text:
        raise StoreError(f"{address} answers, but not as a Chroma 1.x server (GET {HEARTBEAT}: HTTP "
                         f"{answer.status_code})", hint=f"point {_NAMED} at 'chroma run' (chromadb "
                         f"{chromadb.__version__}'s server)", param="chroma_url")
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl)
    except (ChromaError, ValueError, httpx.HTTPError) as exc:
        raise StoreError(f"the Chroma server at {address} refused a client: {exc}", hint=start,
                         param="chroma_url") from None
    _bound_waits(client)
    return client


def _bound_waits(client: ClientAPI) -> None:
    """Give chromadb's HTTP session (``Client._server._session``, chromadb 1.x; no setting reaches
    it) a timeout. If a later chromadb moves it, nothing breaks: calls wait as chromadb's do, up to
    the request deadline, and tests/faults/test_chroma_faults.py says so."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)


def unreachable(url: str, exc: httpx.TransportError) -> StoreError:
    """A Chroma server that answered at start and no longer does (refused, reset, timed out). The
    client reconnects by itself at its next call: the fix is the server, not this process."""
    what = (f"the Chroma server at {url} did not answer within {READ_TIMEOUT_S:.0f} s (is it stopped or "
            f"overloaded?)" if isinstance(exc, httpx.TimeoutException)
            else f"cannot reach the Chroma server at {url} ({type(exc).__name__}: {exc})")
    return StoreError(what,
                      hint="check that its 'chroma run' is running, or start it again on the same --path and "
                      "port: the next request reconnects, with no restart of scenebridge",
                      param="chroma_url")
