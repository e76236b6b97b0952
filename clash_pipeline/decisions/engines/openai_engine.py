"""The `openai` engine: any OpenAI-compatible Chat Completions server, asked for structured output matching the
action schema. A refusal, an empty reply, a reply that is not the schema (or a body that is not JSON at all), a
timeout or an API error is recorded as such (the gates then reject it); it never raises into the worker. The API
key is never logged or stored."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import openai
import pydantic
from openai.types.chat import ChatCompletion

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.engines import EngineRequest, Proposal, register
from clash_pipeline.decisions.limits import ModelGate, ModelLimits, retry_after_s

MAX_RAW = 20_000  # characters of a malformed body kept for the archive
RESPONSE_FORMAT = {"type": "json_schema",
                   "json_schema": {"name": "trading_action", "schema": Action.model_json_schema(), "strict": False}}


@register("openai")
class OpenAIEngine:
    name = "openai"
    concurrent = True
    needs_model = True

    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout_s: float = 30.0,
                 max_retries: int = 2, max_in_flight: int = 32, requests_per_minute: int | None = None,
                 tokens_per_minute: int | None = None, model_limits: dict[str, dict] | None = None,
                 sleep: Callable[[float], None] = time.sleep, **_: object) -> None:
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY")
                                    or "not-set", timeout=timeout_s, max_retries=0)  # retries are ours (below)
        self.timeout_s, self.max_retries, self.sleep = timeout_s, max_retries, sleep
        self.limits = ModelLimits(max_in_flight, requests_per_minute, tokens_per_minute)
        self.model_limits = {model: ModelLimits(**limits) for model, limits in (model_limits or {}).items()}
        self.gates: dict[str, ModelGate] = {}
        self._lock = threading.Lock()

    def gate(self, model: str) -> ModelGate:
        """The bounds shared by every call to `model` at this engine's provider."""
        with self._lock:
            if model not in self.gates:
                self.gates[model] = ModelGate(self.model_limits.get(model, self.limits))
            return self.gates[model]

    def _create(self, model: str, request: EngineRequest) -> object:
        """One completion within the model's bounds, retried on 429 (after its Retry-After), timeouts,
        connection errors and 5xx; the last error is raised."""
        gate = self.gate(model)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                with gate.slot() as spend:
                    response = self.client.chat.completions.create(
                        model=model, messages=list(request.messages()), response_format=RESPONSE_FORMAT,
                        timeout=self.timeout_s)
                    usage = getattr(response, "usage", None)
                    spend(getattr(usage, "total_tokens", 0) or 0)
                    return response
            except openai.RateLimitError as error:
                if last:
                    raise
                wait = retry_after_s(getattr(error.response, "headers", None), 2.0 ** attempt)
                gate.pause(wait)  # every call to this model waits, not just this one
                self.sleep(wait)
            except (openai.APIConnectionError, openai.InternalServerError):  # includes APITimeoutError
                if last:
                    raise
                self.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def propose(self, request: EngineRequest) -> Proposal:
        started = time.perf_counter()

        def done(**fields: object) -> Proposal:
            return Proposal(latency_ms=(time.perf_counter() - started) * 1000, **fields)

        try:
            response = self._create(request.model or "gpt-4o-mini", request)
        except openai.APITimeoutError:
            return done(action=None, reply_status="error", error="timeout waiting for the model")
        except openai.APIError as error:
            status = getattr(error, "status_code", None)
            return done(action=None, reply_status="error",
                        error=f"{type(error).__name__}" + (f" (HTTP {status})" if status else ""))
        except ValueError as error:  # a 200 whose JSON body does not parse (json.JSONDecodeError)
            return done(action=None, reply_status="malformed", raw_reply=str(getattr(error, "doc", ""))[:MAX_RAW],
                        error=f"the reply body is not JSON: {error}")
        if not isinstance(response, ChatCompletion):  # a 200 that is not JSON at all (the client returns the text)
            return done(action=None, reply_status="malformed", raw_reply=str(response)[:MAX_RAW],
                        error="the reply body is not JSON (not a chat completion)")
        try:
            if "choices" not in response.model_fields_set:
                raise KeyError("choices")
            usage = response.usage
            tokens = {"tokens_in": usage.prompt_tokens, "tokens_out": usage.completion_tokens} if usage else {}
            message = response.choices[0].message if response.choices else None
        except (AttributeError, TypeError, IndexError, KeyError):  # JSON, but not the shape of a chat completion
            return done(action=None, reply_status="malformed", raw_reply=response.to_json(indent=None)[:MAX_RAW],
                        error="the reply is JSON but not a chat completion")
        if message is None:
            return done(action=None, reply_status="empty", error="no choices in the reply", **tokens)
        if getattr(message, "refusal", None):
            return done(action=None, reply_status="refused", raw_reply=message.refusal, error="the model refused",
                        **tokens)
        content = message.content or ""
        if not content.strip():
            return done(action=None, reply_status="empty", error="empty reply", **tokens)
        try:
            action = Action.model_validate_json(content)
        except pydantic.ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(map(str, first["loc"])) or "<reply>"
            return done(action=None, reply_status="malformed", raw_reply=content,
                        error=f"reply is not the action schema at {where}: {first['msg']}", **tokens)
        return done(action=action, reply_status="ok", raw_reply=content, **tokens)
