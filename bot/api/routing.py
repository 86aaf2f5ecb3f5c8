"""The route class of every /api/v1 router: its 422 can always be written out."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute


class _EscapedJSONResponse(JSONResponse):
    """JSON that can carry any str: a lone surrogate (JSON's \\u escapes can deliver one
    into a body) cannot be encoded as UTF-8 but can be written escaped."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


class ApiRoute(APIRoute):
    """A route whose validation errors are FastAPI's usual 422, written so that echoing
    the refused input back cannot fail. FastAPI's own handler encodes the echo as UTF-8,
    so a lone surrogate anywhere in the body turned the 422 into a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_or_refuse(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return _EscapedJSONResponse(
                    {"detail": jsonable_encoder(exc.errors())}, status_code=422
                )

        return handle_or_refuse
