"""A fast fake Bot API for benchmarks: answers every call at once.

A bare ASGI app rather than FastAPI: on two shared cores every millisecond the
fake spends is one the service under test does not get.
"""

from __future__ import annotations

import itertools
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson

from bench.common import read_body

_ids = itertools.count(1)
# chat id → wall-clock time the first message to it arrived (for reply latency).
ARRIVALS: dict[str, float] = {}
ME = {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B", "username": "b"}}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    now = time.time()
    body = await read_body(receive)
    path: str = scope["path"]
    answer: Any
    if path == "/arrivals":
        answer = ARRIVALS
    elif path.endswith("/getMe"):
        answer = ME
    else:
        text = body.decode(errors="replace")
        params = orjson.loads(text) if text.startswith("{") else dict(parse_qsl(text))
        ARRIVALS.setdefault(str(params.get("chat_id", "")), now)
        answer = {"ok": True, "result": {"message_id": next(_ids), "date": int(now),
                                         "chat": {"id": 1, "type": "private"}, "text": ""}}  # fmt: skip
    await send(
        {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"application/json")]}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": orjson.dumps(answer)})
