"""Every log line goes through the one redacting formatter (issue 15)."""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import logs
from db.engine import make_engine

FARMER_FORMS = [
    "+919812345678",
    "whatsapp:+919812345678",
    "919812345678",
    "9812345678",
    "+91 98123 45678",
    "+91-98123-45678",
    "+91 9812345678",
    "98123 45678",
    "98123-45678",
    "0 98123 45678",
    "09812345678",
    "981 234 5678",
    "9812 345 678",
    "91 98123 45678",
]


@pytest.mark.parametrize("number", FARMER_FORMS)
def test_every_form_farmers_use_is_redacted(number: str) -> None:
    redacted = logs.redact(f"from {number}: namaste")
    assert "98123" not in redacted.replace(" ", "").replace("-", "")
    assert redacted.endswith("5678: namaste") and "******" in redacted


@pytest.mark.parametrize(
    "harmless",
    [
        "update 1733300000 took 12 ms",  # a Unix time does not start with 6-9
        "2026-12-04 19:20:41",
        "order 12345678901234",  # too long to be a mobile number
        "score 3 of 5, 60%",
        "127.0.0.1:8000",
    ],
)
def test_other_numbers_stay(harmless: str) -> None:
    assert logs.redact(harmless) == harmless


def test_neighbouring_digits_do_not_hide_the_number() -> None:
    assert "98123" not in logs.redact("+91 98123 45678 2 more")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Each test starts from uvicorn's loggers at INFO (an e2e test's server may have
    left them at WARNING) and leaves them as they were."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (
            logging.getLogger(name).handlers[:],
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in names
    }
    for name in names[1:]:
        logging.getLogger(name).setLevel(logging.INFO)
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def _lines(err: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_uvicorns_loggers_go_through_the_redacting_formatter(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn gives its loggers handlers of their own when it starts; as in a test
    # harness or an embedding app, they exist before we configure.
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"raw": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
            "loggers": {
                "uvicorn.error": {"handlers": ["raw"], "propagate": False},
                "uvicorn.access": {"handlers": ["raw"], "propagate": False},
            },
        }
    )
    logs.configure(json_lines=True)
    logging.getLogger("uvicorn.error").error("Exception in ASGI app: text=+91 98123 45678")
    logging.getLogger("uvicorn.access").info('1.2.3.4 - "GET /x?to=9812345678" 200')
    lines = _lines(capsys.readouterr().err)
    assert [line["logger"] for line in lines] == ["uvicorn.error", "uvicorn.access"]
    assert all("98123" not in str(line["msg"]).replace(" ", "") for line in lines)


@pytest.mark.parametrize("json_lines", [True, False])
def test_uvicorn_log_config_formats_with_ours(
    restored_logging: None, capsys: pytest.CaptureFixture[str], json_lines: bool
) -> None:
    """What `krishi serve` hands uvicorn, which applies it in every web process."""
    logging.config.dictConfig(logs.uvicorn_log_config(json_lines))
    logging.getLogger("uvicorn.error").warning("farmer 0 98123 45678 timed out")
    err = capsys.readouterr().err
    assert "98123" not in err and "5678" in err
    if json_lines:
        assert _lines(err)[0]["logger"] == "uvicorn.error"


async def test_the_engine_hides_bound_parameters(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await _fail_with_a_farmer_in_the_parameters(conn)
    finally:
        await engine.dispose()


async def _fail_with_a_farmer_in_the_parameters(conn: AsyncConnection) -> None:
    # An error about the statement, not the value: without hide_parameters SQLAlchemy
    # appends "[parameters: ('Ramesh from Nashik, …',)]" to it, and so to the log.
    with pytest.raises(DBAPIError) as failed:
        await conn.execute(
            text("SELECT 1 / 0 WHERE CAST(:answer AS text) IS NOT NULL"),
            {"answer": "Ramesh from Nashik, 98123 45678"},
        )
    assert "division by zero" in str(failed.value)
    assert "Ramesh" not in str(failed.value) and "98123" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
