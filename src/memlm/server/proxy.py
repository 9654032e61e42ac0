"""`POST /v1/chat/completions`: an OpenAI-compatible proxy that gives any chat client memory.

The request is a normal OpenAI chat request; the user id comes from the `X-Memlm-User`
header or the request's `user` field (and the session from `X-Memlm-Session`, default
"proxy"). The proxy recalls memory for the last user message, adds the context block to
the system prompt, forwards the chat to the server's LLM (`memlm serve --llm ...`),
returns the answer (streamed as server-sent events when `stream` is true) and writes the
turn to memory. An unmodified OpenAI client pointed at memlm gains memory.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from memlm import prompts
from memlm.engine import Memory
from memlm.llm.base import LLMError, Prompt
from memlm.server.errors import ERROR_RESPONSES, ApiError
from memlm.server.models import MAX_ID, MAX_TEXT, ErrorOut
from memlm.server.routes import Auth

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["openai"])
MAX_MESSAGES = 200
CONTEXT_TOKENS = 1000  # memory block added to the system prompt
DEFAULT_SESSION = "proxy"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = Field(None, max_length=MAX_TEXT)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls ... are accepted and not used
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = Field(None, max_length=MAX_TEXT)

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat request; fields memlm does not use (top_p, n, tools ...) are ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field("memlm", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(None, ge=1, le=32_768)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    user: str | None = Field(None, min_length=1, max_length=MAX_ID)


@router.post("/chat/completions", summary="OpenAI-compatible chat with memory (needs `memlm serve --llm`)",
             responses={200: {"description": "The completion; with \"stream\": true, server-sent events",
                              "content": {"application/json": {}, "text/event-stream": {}}},
                        **{code: {"model": ErrorOut, "description": desc} for code, desc in
                           ((400, "bad request, or no LLM configured on this server"), (502, "the LLM failed"))}})
async def chat_completions(body: ChatRequest, who: Auth,
                           x_memlm_user: Annotated[str | None, Header(min_length=1, max_length=MAX_ID)] = None,
                           x_memlm_session: Annotated[str | None, Header(min_length=1, max_length=MAX_ID)] = None):
    memory = await who.authenticate()
    llm = memory.llm
    if llm is None:
        raise ApiError(400, "this server has no LLM: start it with `memlm serve --llm local` (or --llm openai:MODEL, "
                            "or set MEMLM_LLM) to enable /v1/chat/completions", type="llm_not_configured")
    user = x_memlm_user or body.user
    if user is None:
        raise ApiError(400, "say whose memory: the X-Memlm-User header or the request's 'user' field")
    session = x_memlm_session or DEFAULT_SESSION
    messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                for m in body.messages if m.role != "tool"]
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user" and m["content"].strip()), None)
    if question is None:
        raise ApiError(400, "the request has no user message with text")
    context = await who.run(Memory.context, question, user_id=user, session_id=session,
                            budget_tokens=CONTEXT_TOKENS)
    prompt = Prompt.chat(prompts.with_memory(messages, context.text))
    max_tokens = body.max_completion_tokens or body.max_tokens or 512
    turn = Turn(memory, user, session, question, body.model)
    if body.stream:
        pieces = llm.stream(prompt, max_tokens=max_tokens, temperature=body.temperature)
        return StreamingResponse(turn.sse(pieces), media_type="text/event-stream",
                                 headers={"X-Memlm-Recalled": str(len(context.recalled))})
    try:
        answer = await who.state.run(llm.complete, prompt, max_tokens=max_tokens, temperature=body.temperature)
    except LLMError as exc:
        raise ApiError(502, f"the LLM failed: {exc}") from None
    await who.state.run(turn.remember, answer)
    return turn.completion(answer, len(context.recalled))


class Turn:
    """One exchange: builds the OpenAI-shaped answer and writes the turn to memory."""

    def __init__(self, memory: Memory, user: str, session: str, question: str, model: str) -> None:
        self.memory, self.user, self.session, self.question, self.model = memory, user, session, question, model
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def remember(self, answer: str) -> None:
        turn = [{"role": "user", "content": self.question}]
        if answer.strip():
            turn.append({"role": "assistant", "content": answer.strip()})
        self.memory.add(turn, user_id=self.user, session_id=self.session, occurred_at=time.time())

    def completion(self, answer: str, recalled: int) -> dict[str, Any]:
        count = self.memory.encoder.count_tokens
        usage = {"prompt_tokens": count(self.question), "completion_tokens": count(answer)}
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                             "finish_reason": "stop"}],
                "usage": {**usage, "total_tokens": sum(usage.values())}, "memlm": {"recalled": recalled}}

    def sse(self, pieces: Iterator[str]) -> Iterator[str]:
        """Server-sent events (run in the thread pool by Starlette); the turn is written at the end."""
        parts: list[str] = []
        try:
            yield self._chunk({"role": "assistant", "content": ""}, None)
            for piece in pieces:
                parts.append(piece)
                yield self._chunk({"content": piece}, None)
        except LLMError as exc:  # the status line is sent already: report in-band, as OpenAI does
            yield f"data: {json.dumps({'error': {'type': 'llm_error', 'message': str(exc)}})}\n\n"
            return
        self.remember("".join(parts))
        yield self._chunk({}, "stop")
        yield "data: [DONE]\n\n"

    def _chunk(self, delta: dict[str, str], finish: str | None) -> str:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"
