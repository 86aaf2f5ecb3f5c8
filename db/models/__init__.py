"""Every model, imported so that `Base.metadata` is complete for Alembic."""

from db.models.base import Base
from db.models.broadcasts import *  # noqa: F403
from db.models.console import *  # noqa: F403
from db.models.learn import *  # noqa: F403
from db.models.payments import *  # noqa: F403
from db.models.privacy import *  # noqa: F403
from db.models.quiz import *  # noqa: F403
from db.models.rewards import *  # noqa: F403
from db.models.search import *  # noqa: F403
from db.models.service import *  # noqa: F403

__all__ = ["Base"]
