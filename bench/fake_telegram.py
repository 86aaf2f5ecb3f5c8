"""A fast fake Bot API for benchmarks: answers every call at once."""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()
_ids = itertools.count(1)
# chat id → wall-clock time the first message to it arrived (for reply latency).
ARRIVALS: dict[str, float] = {}


@app.get("/arrivals")
async def arrivals() -> dict[str, float]:
    return ARRIVALS


@app.post("/bot{token}/{method}")
async def call(token: str, method: str, request: Request) -> dict[str, Any]:
    now = time.time()
    form = await request.form()
    chat = str(form.get("chat_id", ""))
    ARRIVALS.setdefault(chat, now)
    if method == "getMe":
        return {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B", "username": "b"}}
    return {
        "ok": True,
        "result": {"message_id": next(_ids), "date": int(time.time()),
                   "chat": {"id": 1, "type": "private"}, "text": ""},
    }  # fmt: skip
