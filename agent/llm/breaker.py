"""Fail fast when the model server is down or stalled: a circuit breaker, a backend that goes
through it, and a time budget shared by every model call of one request.

The breaker is fed by a probe (``GET …/v1/models``, the one ``/health`` reports) run in the
background, and by the calls themselves: a probe that fails, or ``failures`` calls in a row that
cannot reach the server or time out, open it. While it is open every call raises
``LLMUnavailable`` at once (the rankers fall back to candidate scores, explanations to the
evidence sentence) and calls already waiting are given up. What a probe opened, a probe that
answers again closes. What failed calls opened (a stalled engine behind an API that still lists
its models) is half-opened by an answering probe after ``retry_after_s``: one trial call goes
through, and closes it or opens it again. The probe makes that trial itself (a one-token
completion), so the breaker closes when the server is back even if no request comes.

``time_budget(seconds)`` bounds the model calls made inside it (a request, with its tasks): once
the time is spent a call raises ``LLMTimeout`` instead of waiting, so a slow model server costs a
request its explanations, never its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from agent.llm.backend import Completion, LLMBackend
from agent.llm.errors import LLMError, LLMTimeout, LLMUnavailable

log = logging.getLogger("scenebridge.llm")

_deadline: ContextVar[float | None] = ContextVar("scenebridge_llm_deadline", default=None)


@contextlib.contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Model calls started inside (and in tasks created inside) share ``seconds`` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left of the current budget (None: no budget)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class BreakerConfig(BaseModel):
    failures: int = Field(default=2, ge=1, description="Calls in a row that cannot reach the server or time "
                          "out before the breaker opens (a failed probe opens it at once).")
    probe_interval_s: float = Field(default=2.0, gt=0, description="Seconds between probes of the server.")
    probe_timeout_s: float = Field(default=2.0, gt=0, description="Longest a probe may take.")
    retry_after_s: float = Field(default=5.0, ge=0, description="Opened by failed calls while the probe "
                                 "answers (a stalled engine behind a live API): the least time before a "
                                 "call is tried again.")


@dataclass(frozen=True)
class Probe:
    """The last look at the model server."""

    ok: bool
    models: list[str] = field(default_factory=list)
    detail: str | None = None
    at: float = field(default_factory=time.time)  # wall clock, for "checked N s ago"


BreakerState = Literal["closed", "open", "half_open"]


async def list_models(base_url: str, timeout: float) -> list[str]:
    """``GET <base_url>/models``: the served model names; raises LLMUnavailable."""
    url = base_url.rstrip("/") + "/models"
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            reply = await http.get(url)
        reply.raise_for_status()
        return [m["id"] for m in reply.json().get("data", [])]
    except httpx.TimeoutException:
        raise LLMUnavailable(f"the model server at {base_url} did not answer within {timeout:g} s") from None
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LLMUnavailable(f"the model server at {base_url} does not list its models "
                             f"({type(exc).__name__}: {exc})") from None


async def one_token(base_url: str, models: list[str], timeout: float) -> None:
    """``POST <base_url>/completions`` of one token: the engine runs, not only its API; raises
    LLMUnavailable."""
    if not models:
        raise LLMUnavailable(f"the model server at {base_url} serves no model")
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            reply = await http.post(base_url.rstrip("/") + "/completions",
                                    json={"model": models[0], "prompt": "Hello", "max_tokens": 1})
        reply.raise_for_status()
    except httpx.TimeoutException:
        raise LLMUnavailable(f"the model server at {base_url} completed nothing within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise LLMUnavailable(f"the model server at {base_url} failed a one-token completion "
                             f"({type(exc).__name__}: {exc})") from None


class CircuitBreaker:
    """closed: calls go through. open: refused at once, and waiting ones given up. half_open: one
    trial call goes through (the others are refused meanwhile); it closes or reopens the breaker."""

    def __init__(self, base_url: str, config: BreakerConfig | None = None,
                 probe: Callable[[], Awaitable[list[str]]] | None = None,
                 trial: Callable[[list[str]], Awaitable[None]] | None = None):
        """``probe``: lists the served models (default: GET /models). ``trial``: the probe's own
        half-open trial, given those models (default, with the default probe: a one-token
        completion; with a given probe and no trial, only calls try the server again)."""
        self.base_url = base_url
        self.config = config or BreakerConfig()
        self._probe = probe or (lambda: list_models(base_url, self.config.probe_timeout_s))
        self._trial_call = trial or (None if probe else
                                     (lambda models: one_token(base_url, models, self.config.probe_timeout_s)))
        self.state: BreakerState = "closed"
        self.reason: str | None = None  # why it opened (kept while half-open)
        self.since = time.time()  # when the state last changed
        self.last_probe: Probe | None = None
        self._failures = 0
        self._opened_by_probe = False
        self._trial = False  # a half-open trial call is in flight
        self._opened = asyncio.Event()  # set while open: calls waiting on the server give up

    # -- the state ---------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def admit(self) -> Literal["call", "trial"] | None:
        """Whether a call may go now: "call", "trial" (the half-open one: report success, failure
        or, without a verdict, release), or None: refused."""
        if self.state == "closed":
            return "call"
        if self.state == "half_open" and not self._trial:
            self._trial = True
            return "trial"
        return None

    def refusal(self) -> LLMUnavailable:
        if self.state == "half_open":
            return LLMUnavailable(f"the model server is being tried again after failing ({self.reason}); "
                                  "calls wait for that trial")
        return LLMUnavailable(f"the model server is not answering ({self.reason}); "
                              "it is checked every few seconds and used again once it answers")

    def success(self) -> None:
        self._failures = 0
        self._trial = False
        if self.state == "half_open":
            self._move("closed")

    def failure(self, reason: str) -> None:
        self._failures += 1
        self._trial = False
        if self.state == "half_open" or (self.state == "closed" and self._failures >= self.config.failures):
            self.open(reason)

    def release(self) -> None:
        """A trial call that ended without a verdict (its request was cancelled)."""
        self._trial = False

    def open(self, reason: str, *, by_probe: bool = False) -> None:
        self.reason = reason
        if self.state != "open":
            self._opened_by_probe = by_probe
            self._move("open", reason)

    def _move(self, state: BreakerState, reason: str | None = None) -> None:
        log.warning("model server circuit %s -> %s%s", self.state, state, f": {reason}" if reason else "")
        self.state, self.since = state, time.time()
        self._trial = False
        if state == "open":
            self._opened.set()
        else:
            self._opened.clear()
            self._failures = 0
        if state == "closed":
            self.reason = None

    async def wait_open(self) -> None:
        await self._opened.wait()

    # -- the probe ---------------------------------------------------------------------------
    async def probe(self) -> Probe:
        """Look at the server once: a failure opens the breaker; an answer closes it if a probe had
        opened it, and half-opens it after ``retry_after_s`` if calls had (listing its models does
        not prove that the server completes)."""
        try:
            models = await asyncio.wait_for(self._probe(), self.config.probe_timeout_s)
        except (LLMUnavailable, TimeoutError) as exc:
            detail = getattr(exc, "message", None) or (f"the model server at {self.base_url} did not answer "
                                                       f"within {self.config.probe_timeout_s:g} s")
            self.last_probe = Probe(ok=False, detail=detail)
            self.open(detail, by_probe=True)
        else:
            self.last_probe = Probe(ok=True, models=models)
            if self.state == "open" and self._opened_by_probe:
                self._move("closed")
            elif self.state == "open" and time.time() - self.since >= self.config.retry_after_s:
                self._move("half_open")
            if self.state == "half_open" and self._trial_call is not None and self.admit() == "trial":
                await self._probe_trial(models)
        return self.last_probe

    async def _probe_trial(self, models: list[str]) -> None:
        try:
            await asyncio.wait_for(self._trial_call(models), self.config.probe_timeout_s)
        except (LLMUnavailable, LLMTimeout, TimeoutError) as exc:
            self.failure(getattr(exc, "message", None) or f"the model server at {self.base_url} answered no "
                         f"completion within {self.config.probe_timeout_s:g} s")
        except BaseException:
            self.release()
            raise
        else:
            self.success()

    async def watch(self) -> None:
        """Probe forever, every ``probe_interval_s`` (run as a background task; cancel to stop)."""
        while True:
            started = time.monotonic()
            try:
                await self.probe()
            except Exception:  # noqa: BLE001 - a bug in a probe must not end the watch
                log.exception("model server probe failed")
            await asyncio.sleep(max(0.0, self.config.probe_interval_s - (time.monotonic() - started)))


class GuardedBackend:
    """An LLM backend whose calls go through a circuit breaker and the request's time budget."""

    def __init__(self, inner: LLMBackend, breaker: CircuitBreaker):
        self.inner = inner
        self.breaker = breaker
        self.name = inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def config(self) -> Any:
        return getattr(self.inner, "config", None)

    async def complete(self, prompt: str, *, max_tokens: int, temperature: float = 0.0,
                       logprobs: int | None = None, allowed_token_ids: list[int] | None = None,
                       json_schema: dict[str, Any] | None = None, stop: list[str] | None = None) -> Completion:
        return await self._guard(lambda: self.inner.complete(
            prompt, max_tokens=max_tokens, temperature=temperature, logprobs=logprobs,
            allowed_token_ids=allowed_token_ids, json_schema=json_schema, stop=stop))

    async def token_ids(self, text: str) -> list[int]:
        return await self._guard(lambda: self.inner.token_ids(text))

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def _guard(self, call: Callable[[], Awaitable[Any]]) -> Any:
        breaker = self.breaker
        ticket = breaker.admit()
        if ticket is None:
            raise breaker.refusal()

        def no_verdict() -> None:
            if ticket == "trial":
                breaker.release()

        budget = time_left()
        if budget is not None and budget <= 0:
            no_verdict()
            raise LLMTimeout("no time was left for the model in this request",
                             hint="raise SCENEBRIDGE_REQUEST_TIMEOUT_S or ask for fewer explanations")
        task = asyncio.ensure_future(call())
        opened = asyncio.ensure_future(breaker.wait_open())
        try:
            done, _ = await asyncio.wait({task, opened}, timeout=budget, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # this request was cancelled (its client went away): no verdict
            no_verdict()
            raise
        finally:
            opened.cancel()
            if not task.done():
                task.cancel()
                task.add_done_callback(_consume)
        if task in done:
            try:
                result = task.result()
            except (LLMUnavailable, LLMTimeout) as exc:
                breaker.failure(exc.message)
                raise
            except LLMError:  # it answered, if not well: it is there
                breaker.success()
                raise
            except BaseException:
                no_verdict()
                raise
            breaker.success()
            return result
        no_verdict()
        if opened in done:
            raise breaker.refusal()
        raise LLMTimeout(f"the model took longer than this request's {budget:.1f} s left",
                         hint="raise SCENEBRIDGE_REQUEST_TIMEOUT_S or use a faster model server")


def _consume(task: asyncio.Future) -> None:
    """Read a given-up call's outcome, so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
