"""The reference: a bare FastAPI JSON endpoint, served exactly like the service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/webhooks/telegram")
async def echo(request: Request) -> dict[str, Any]:
    update = await request.json()
    return {"ok": True, "update_id": update.get("update_id")}
