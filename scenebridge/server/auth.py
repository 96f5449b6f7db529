"""The optional API key: with ``SCENEBRIDGE_API_KEY`` set (and not empty), every request must
carry ``Authorization: Bearer <key>`` (compared in constant time), the schema (``/openapi.json``,
``/docs``) included; only ``/health`` stays open. Without a key, listening beyond loopback is
warned about at start."""

from __future__ import annotations

import hmac
import ipaddress

from pydantic import SecretStr

from scenebridge.server.config import usable_key
from scenebridge.server.errors import APIError, send_error

OPEN_PATHS = frozenset({"/health"})


class Unauthorized(APIError):
    def __init__(self, message: str):
        super().__init__(401, message, type="authentication_error", code="invalid_api_key",
                         headers={"WWW-Authenticate": "Bearer"})


def check_key(header: str | None, key: SecretStr) -> None:
    if not header:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    expected = key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise Unauthorized("wrong API key")


class ApiKeyAuth:
    """ASGI middleware, outside the others: a request without the key is refused before its
    body is read. An empty key is no key (as ``ServerConfig`` reads it)."""

    def __init__(self, app, key: SecretStr | None, open_paths: frozenset[str] = OPEN_PATHS):
        self.app, self.key, self.open_paths = app, usable_key(key), open_paths

    async def __call__(self, scope, receive, send):
        if self.key is not None and scope["type"] == "http" and scope["path"] not in self.open_paths:
            headers = dict(scope.get("headers", []))
            header = headers.get(b"authorization")
            try:
                check_key(header.decode("latin-1") if header else None, self.key)
            except Unauthorized as exc:
                return await send_error(send, exc)
        return await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[] ")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def exposure_warning(host: str, key: SecretStr | None) -> str | None:
    """What to tell the person starting a server that anyone on the network may call, else None."""
    if usable_key(key) is not None or is_loopback(host):
        return None
    return (f"WARNING: listening on {host} without an API key: anyone who can reach this machine can use "
            "the API (and the model server behind it). Set SCENEBRIDGE_API_KEY, or listen on 127.0.0.1.")
