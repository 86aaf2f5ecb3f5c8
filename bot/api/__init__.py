"""The instructor and admin HTTP API under /api/v1 (bearer tokens; OpenAPI at /docs)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
