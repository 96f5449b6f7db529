"""Every error leaves the server in OpenAI's shape, ``{"error": {"message", "type", "param",
"code"}}``, translated here once: the server's own refusals (APIError), request validation,
domain errors (ScenebridgeError and its kinds) and, as a 500 without details, anything else
(logged with its traceback and an id the client sees)."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.llm import LLMError, LLMTimeout, LLMUnavailable
from core.errors import DataError, NotFoundError, ParamError, ScenebridgeError, StoreError
from scenebridge.server.protocol import ErrorInfo, ErrorResponse

log = logging.getLogger("scenebridge.server")

# NotFoundError names a kind; the request parameter that carries it.
PARAM_OF_KIND = {"user": "user_id", "scene": "target_scene", "model": "model", "item": "likes"}


class APIError(Exception):
    """A refusal by the HTTP layer itself (auth, limits, busy, unknown model)."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers


class InvalidContentLength(APIError):
    def __init__(self):
        super().__init__(400, "the Content-Length header is not a valid length: it must be the body's size in "
                         "bytes, digits only (or leave it out and let the client set it)",
                         code="invalid_content_length")


def error_response(status: int, message: str, type: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(message=message, type=type, param=param, code=code))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def error_payload(exc: Exception) -> tuple[int, ErrorInfo]:
    """Status and body for an exception (used by the handlers and inside a stream)."""
    if isinstance(exc, APIError):
        return exc.status, ErrorInfo(message=exc.message, type=exc.type, param=exc.param, code=exc.code)
    if isinstance(exc, NotFoundError):
        return 404, ErrorInfo(message=str(exc), type="not_found_error",
                              param=PARAM_OF_KIND.get(exc.param, exc.param),
                              code=f"{exc.kind.replace(' ', '_')}_not_found")
    if isinstance(exc, LLMUnavailable):
        return 503, ErrorInfo(message=str(exc), type="service_unavailable", code="model_server_unavailable")
    if isinstance(exc, LLMTimeout):
        return 504, ErrorInfo(message=str(exc), type="timeout", code="model_server_timeout")
    if isinstance(exc, LLMError):
        return 502, ErrorInfo(message=str(exc), type="bad_gateway", code="model_server_error")
    if isinstance(exc, StoreError):
        return 503, ErrorInfo(message=str(exc), type="service_unavailable", code="store_unavailable")
    if isinstance(exc, DataError | ScenebridgeError):
        return 400, ErrorInfo(message=str(exc), type="invalid_request_error", param=exc.param,
                              code="invalid_value")
    error_id = uuid.uuid4().hex[:12]
    log.error("unhandled error %s", error_id, exc_info=exc)
    return 500, ErrorInfo(message=f"internal server error (id {error_id}); the server log has the details",
                          type="server_error", code="internal_error")


# How to fix a value of the wrong type, by pydantic's code (the others say it themselves).
FIXES = {"bool_type": "true or false, without quotes"}


def _validation(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
    if first.get("type") == "json_invalid":
        detail = first.get("ctx", {}).get("error", "")
        return error_response(400, f"the request body is not valid JSON{': ' + detail if detail else ''}",
                              "invalid_request_error", code="invalid_json")
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    cause = (first.get("ctx") or {}).get("error")
    param = cause.param if isinstance(cause, ParamError) else (".".join(loc) or None)
    message = str(cause) if isinstance(cause, ParamError) else first.get("msg", "invalid value")
    if first.get("type") == "missing" and not loc:
        message, code = "the request needs a JSON body", "missing_body"
    elif first.get("type") in ("model_attributes_type", "dict_type", "model_type") and not loc:
        message, code = "the request body must be a JSON object", "invalid_body"
    else:
        code = first.get("type")
        message = f"{message} ({FIXES[code]})" if code in FIXES else message
        message = f"{param}: {message}" if param else message
        if first.get("type") == "extra_forbidden":
            message = f"unknown parameter {param!r}"
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return error_response(400, message, "invalid_request_error", param=param, code=code)


def _not_utf8(cause: UnicodeDecodeError) -> JSONResponse:
    byte = cause.object[cause.start:cause.start + 1].hex()
    return error_response(400, f"the request body is not valid UTF-8 JSON (byte 0x{byte} at position "
                          f"{cause.start}): send JSON encoded as UTF-8", "invalid_request_error", code="invalid_json")


def malformed_http(detail: str) -> tuple[int, ErrorInfo]:
    """The answer to a request the HTTP parser refused before the app saw it (uvicorn's 400)."""
    if "content-length" in detail.lower():
        return error_payload(InvalidContentLength())
    message = f"the request is not valid HTTP/1.1 ({detail or 'unreadable'}): check its request line and headers"
    return 400, ErrorInfo(message=message, type="invalid_request_error", code="invalid_http_request")


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI read the body and could not decode it
            return _not_utf8(exc.__cause__)
        message = {404: f"no such endpoint: {request.method} {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, "invalid_request_error" if exc.status_code < 500
                              else "server_error", code=f"http_{exc.status_code}",
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(APIError)
    @app.exception_handler(ScenebridgeError)
    async def _known(request: Request, exc: Exception) -> JSONResponse:
        status, info = error_payload(exc)
        return error_response(status, info.message, info.type, info.param, info.code,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unknown(request: Request, exc: Exception) -> JSONResponse:
        status, info = error_payload(exc)
        return error_response(status, info.message, info.type, info.param, info.code)


async def send_error(send, exc: Exception) -> None:
    """An error response from a raw ASGI middleware (outside FastAPI's exception handlers)."""
    status, info = error_payload(exc)
    body = ErrorResponse(error=info).model_dump_json().encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (getattr(exc, "headers", None) or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
