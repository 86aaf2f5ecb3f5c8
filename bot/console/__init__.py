"""The instructor and admin console under /console: server-rendered pages with a little
htmx, signed in from the chat (`/console`) or with a token. See bot/console/routes.py."""

from bot.console.routes import router

__all__ = ["router"]
