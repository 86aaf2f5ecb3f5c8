"""Who is calling the API. The admin token comes from ADMIN_API_TOKEN; instructor
tokens are issued by the admin (POST /api/v1/instructors/{id}/tokens)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from db.queries import instructors as instructors_q

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller: the admin, or an instructor (with their user id)."""

    name: str
    role: str  # admin | instructor
    user_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Depends: a valid bearer token, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    admin = request.app.state.runtime.settings.admin_api_token
    if admin is not None and hmac.compare_digest(
        credentials.credentials.encode(), admin.get_secret_value().encode()
    ):
        return Actor(name="admin", role="admin")
    # Instructor tokens are stored as their SHA-256 only, issued by the admin.
    digest = hashlib.sha256(credentials.credentials.encode()).hexdigest()
    async with request.app.state.runtime.engine.connect() as conn:
        owner = await instructors_q.instructor_for_token(conn, digest)
    if owner is not None:
        return Actor(
            name=f"instructor:{owner.user_id}", role="instructor", user_id=str(owner.user_id)
        )
    raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})


async def admin_only(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    """Depends: the admin, or 403."""
    if not actor.is_admin:
        raise HTTPException(403, "admin only")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
AdminActor = Annotated[Actor, Depends(admin_only)]
