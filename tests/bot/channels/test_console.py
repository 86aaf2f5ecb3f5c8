"""The terminal channel: `krishi chat` answers through the same router, handlers and
database, and prints each reply as numbered text. Its commands come from the plug-in."""

from __future__ import annotations

import builtins
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.channels import console
from bot.cli import app
from bot.i18n import _, use_language
from bot.runtime import Runtime
from bot.settings import Settings
from bot.turns import TurnWorkers


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


def test_each_channel_adds_its_own_commands() -> None:
    shown = CliRunner().invoke(app, ["--help"]).output
    assert "chat" in shown and "telegram" in shown
    telegram = CliRunner().invoke(app, ["telegram", "--help"]).output
    assert "set-webhook" in telegram and "setup" in telegram


async def test_a_conversation_in_the_terminal(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed: Iterator[str] = iter(["help", "", "/quit"])
    monkeypatch.setattr(builtins, "input", lambda _prompt="": next(typed))
    rt = Runtime.open(Settings(), fresh_database_url)
    try:
        answer_now = TurnWorkers(rt.engine, rt.settings, wake_sender=None).answer_now
        await console.chat(rt, answer_now, "mr", "asha")
    finally:
        await rt.close()
    printed = capsys.readouterr().out
    # The greeting in the chosen language, options as numbers, then /help typed bare:
    # commands need no slash here, and the help says so.
    assert "1. " in printed
    assert tr("mr", "/help: show this help") in printed
    hint = tr("mr", "On {channel} you can type the word without the slash, or a menu number.")
    assert hint.format(channel="Console") in printed
