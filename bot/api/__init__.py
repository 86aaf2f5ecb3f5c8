"""The instructor and admin HTTP API under /api/v1 (bearer tokens; OpenAPI at /docs)."""

from __future__ import annotations

from fastapi import APIRouter

from bot.api import analytics, broadcasts, courses, grading, instructors, privacy, purchases

router = APIRouter(prefix="/api/v1")
router.include_router(purchases.router)
for _feature in (instructors, courses, broadcasts, grading, analytics, privacy):
    router.include_router(_feature.router)
