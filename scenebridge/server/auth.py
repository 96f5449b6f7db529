"""The optional API key: with ``SCENEBRIDGE_API_KEY`` set, every ``/v1/`` request must carry
``Authorization: Bearer <key>`` (compared in constant time); ``/health`` stays open."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from scenebridge.server.errors import APIError, send_error


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
    body is read."""

    def __init__(self, app, key: SecretStr | None, prefix: str = "/v1/"):
        self.app, self.key, self.prefix = app, key, prefix

    async def __call__(self, scope, receive, send):
        if self.key is not None and scope["type"] == "http" and scope["path"].startswith(self.prefix):
            headers = dict(scope.get("headers", []))
            header = headers.get(b"authorization")
            try:
                check_key(header.decode("latin-1") if header else None, self.key)
            except Unauthorized as exc:
                return await send_error(send, exc)
        return await self.app(scope, receive, send)
