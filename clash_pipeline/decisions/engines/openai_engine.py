"""The `openai` engine: any OpenAI-compatible Chat Completions server, asked for structured output matching the
action schema. A refusal, an empty reply, a reply that is not the schema (or a body that is not JSON at all), a
timeout or an API error is recorded as such (the gates then reject it); it never raises into the worker. The API
key is never logged or stored."""

from __future__ import annotations

import os
import time

import openai
import pydantic
from openai.types.chat import ChatCompletion

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.engines import EngineRequest, Proposal, register

MAX_RAW = 20_000  # characters of a malformed body kept for the archive
RESPONSE_FORMAT = {"type": "json_schema",
                   "json_schema": {"name": "trading_action", "schema": Action.model_json_schema(), "strict": False}}


@register("openai")
class OpenAIEngine:
    name = "openai"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout_s: float = 30.0,
                 max_retries: int = 2, **_: object) -> None:
        self.client = openai.OpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "not-set",
            timeout=timeout_s, max_retries=max_retries,
        )

    def propose(self, request: EngineRequest) -> Proposal:
        started = time.perf_counter()

        def done(**fields: object) -> Proposal:
            return Proposal(latency_ms=(time.perf_counter() - started) * 1000, **fields)

        try:
            response = self.client.chat.completions.create(
                model=request.model or "gpt-4o-mini", messages=list(request.messages()), response_format=RESPONSE_FORMAT,
            )
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
