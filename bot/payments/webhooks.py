"""Payment gateway callbacks (POST /webhooks/razorpay)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
