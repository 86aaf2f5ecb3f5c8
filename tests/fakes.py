"""Fake providers on real local HTTP servers: a Telegram Bot API, Twilio's
Messages API and Razorpay. They record what they were sent, and can be told to
fail (429 with retry_after, 5xx, slow answers) or to enforce a rate limit."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


def bound_socket() -> socket.socket:
    # The protocol must be named: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # whose proto is IPPROTO_TCP, and a socket made with proto 0 passes that 0 on to every
    # connection it accepts. With Nagle on, each response uvicorn writes in two parts waits
    # for the client's delayed ACK: about 40 ms a request instead of 2.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serve(app: Any, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Run an ASGI app on a real loopback port; yields its base URL."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Recorded:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Fault:
    status: int
    body: dict[str, Any]
    delay: float = 0.0


async def _params(request: Request) -> dict[str, Any]:
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        loaded = json.loads(raw or b"{}")
        return loaded if isinstance(loaded, dict) else {}
    if "multipart" in kind:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return dict(parse_qsl(raw.decode()))


@dataclass
class FakeProvider:
    """What every fake shares: a record of calls, scripted faults, an optional rate limit."""

    calls: list[Recorded] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    rate_limit_per_s: float | None = None
    rate_violations: int = 0
    _window: deque[float] = field(default_factory=deque)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _over_rate(self, now: float) -> bool:
        if self.rate_limit_per_s is None:
            return False
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.rate_limit_per_s:
            self.rate_violations += 1
            return True
        self._window.append(now)
        return False

    def _record(self, method: str, params: dict[str, Any]) -> None:
        self.calls.append(Recorded(method, params, time.monotonic()))
        self._changed.set()

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Recorded]:
        """Wait until `predicate(calls)` holds; returns the calls."""
        deadline = time.monotonic() + timeout

        def holds() -> bool:
            # Replies arrive a moment after the webhook answered: a predicate that reads
            # the last message before any came has simply not come true yet.
            try:
                return bool(predicate(self.calls))
            except IndexError:
                return False

        while not holds():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"provider got {len(self.calls)} calls: {self.calls[-5:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
        return self.calls


class FakeTelegram(FakeProvider):
    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__()
        self.token = token
        self._message_ids = itertools.count(1000)
        self.app = FastAPI()
        self.app.post("/bot{token}/{method}")(self._handle)

    def sent_to(self, chat_id: int | str) -> list[Recorded]:
        return [
            c for c in self.calls
            if c.method in ("sendMessage", "sendPhoto", "sendVideo", "sendInvoice", "sendPoll")
            and str(c.params.get("chat_id")) == str(chat_id)
        ]  # fmt: skip

    def texts_to(self, chat_id: int | str) -> list[str]:
        return [
            str(c.params.get("text") or c.params.get("caption") or "")
            for c in self.sent_to(chat_id)
        ]

    def called(self, method: str) -> list[Recorded]:
        """Every call of one Bot API method (setMyCommands, editMessageReplyMarkup…)."""
        return [c for c in self.calls if c.method == method]

    async def _handle(self, token: str, method: str, request: Request) -> Response:
        if token != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        params = await _params(request)
        if method == "getMe":
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "id": 123456,
                        "is_bot": True,
                        "first_name": "Krishi",
                        "username": "krishi_bot",
                    },
                }
            )
        if self._over_rate(time.monotonic()):
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                429,
            )
        if self.faults:
            fault = self.faults.popleft()
            self._record(f"!{method}", params)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return JSONResponse(fault.body, fault.status)
        self._record(method, params)
        chat_id = params.get("chat_id", 0)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {
                "id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else 0,
                "type": "private",
            },
            "text": params.get("text", ""),
        }
        # Settings and answers (setMyCommands, setChatMenuButton, answerCallbackQuery…)
        # return True; sends and edits return the message.
        simple = method.startswith(("set", "delete", "answer"))
        return JSONResponse({"ok": True, "result": True if simple else message})

    @staticmethod
    def retry_after(seconds: int = 1) -> Fault:
        return Fault(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": seconds},
            },
        )

    @staticmethod
    def server_error(status: int = 500) -> Fault:
        return Fault(
            status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
        )

    @staticmethod
    def blocked() -> Fault:
        return Fault(
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )


class FakeTwilio(FakeProvider):
    """Twilio's Messages API and Content API (quick replies, lists), and the status
    callbacks Twilio would send back about a message."""

    def __init__(self, account_sid: str = "AC" + "0" * 32) -> None:
        super().__init__()
        self.account_sid = account_sid
        self._sids = itertools.count(1)
        self._content_sids = itertools.count(1)
        # ContentSid → the content as created (its "types"), for rendering sends.
        self.contents: dict[str, dict[str, Any]] = {}
        self.contents_fail = False  # the Content API answers 500 while set
        self.app = FastAPI()
        self.app.post("/2010-04-01/Accounts/{sid}/Messages.json")(self._create)
        self.app.post("/v1/Content")(self._create_content)

    def sent_to(self, number: str) -> list[Recorded]:
        return [
            c
            for c in self.calls
            if c.method == "Messages" and c.params.get("To") == f"whatsapp:{number}"
        ]

    def texts_to(self, number: str) -> list[str]:
        return [self.text_of(c) for c in self.sent_to(number)]

    def content_of(self, call: Recorded) -> tuple[str, dict[str, Any]] | None:
        """(content type, definition) of a ContentSid send made by a content we served."""
        content = self.contents.get(str(call.params.get("ContentSid", "")))
        if content is None:
            return None
        kind, definition = next((k, v) for k, v in content["types"].items() if v)
        return kind, definition

    def text_of(self, call: Recorded) -> str:
        """What the farmer reads: the Body, or a content's body with its variables filled."""
        if "ContentSid" not in call.params:
            return str(call.params.get("Body", ""))
        variables = json.loads(call.params.get("ContentVariables") or "{}")
        content = self.content_of(call)
        body = content[1].get("body", "") if content else "{{1}}"
        for name, value in variables.items():
            body = body.replace("{{" + name + "}}", str(value))
        return str(body)

    def choices_of(self, call: Recorded) -> list[tuple[str, str]]:
        """(title, id) of each button or list item of an interactive send."""
        content = self.content_of(call)
        if content is None:
            return []
        kind, definition = content
        if kind == "twilio/quick-reply":
            return [(a["title"], a["id"]) for a in definition["actions"]]
        if kind == "twilio/list-picker":
            return [(i["item"], i["id"]) for i in definition["items"]]
        return []

    def sid_of(self, call: Recorded) -> str:
        return str(call.params["_sid"])

    async def _create_content(self, request: Request) -> Response:
        params = await _params(request)
        self._record("Content", params)
        if self.contents_fail:
            return JSONResponse({"code": 20500, "message": "Internal error", "status": 500}, 500)
        types = {k: v for k, v in (params.get("types") or {}).items() if v}
        if len(types) != 1:
            return JSONResponse({"code": 20001, "message": "one type", "status": 400}, 400)
        sid = f"HX{next(self._content_sids):032x}"
        self.contents[sid] = {**params, "types": types, "sid": sid}
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "friendly_name": params.get("friendly_name"),
                "language": params.get("language"),
                "variables": params.get("variables"),
                "types": types,
                "url": f"https://content.twilio.com/v1/Content/{sid}",
                "date_created": "2026-12-04T19:00:00Z",
                "date_updated": "2026-12-04T19:00:00Z",
                "links": {},
            },
            201,
        )

    async def _create(self, sid: str, request: Request) -> Response:
        params = await _params(request)
        if self._over_rate(time.monotonic()):
            return JSONResponse({"code": 20429, "message": "Too Many Requests", "status": 429}, 429)
        if self.faults:
            fault = self.faults.popleft()
            self._record("!Messages", params)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return JSONResponse(fault.body, fault.status)
        message_sid = f"SM{next(self._sids):032d}"
        self._record("Messages", {**params, "_sid": message_sid})
        return JSONResponse(
            {
                "sid": message_sid,
                "account_sid": sid,
                "status": "queued",
                "from": params.get("From"),
                "to": params.get("To"),
                "body": params.get("Body"),
                "date_created": "Tue, 24 Nov 2026 10:00:00 +0000",
                "num_segments": "1",
                "direction": "outbound-api",
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
            201,
        )

    async def send_status(
        self, call: Recorded, status: str, *, auth_token: str, error_code: str | None = None
    ) -> int:
        """Twilio calls the message's StatusCallback, signed, as it would; returns the
        HTTP status our service answered."""
        import httpx
        from twilio.request_validator import RequestValidator

        url = str(call.params["StatusCallback"])
        form = {
            "MessageSid": self.sid_of(call),
            "SmsSid": self.sid_of(call),
            "AccountSid": self.account_sid,
            "From": str(call.params.get("From", "")),
            "To": str(call.params.get("To", "")),
            "MessageStatus": status,
            "SmsStatus": status,
            "ChannelPrefix": "whatsapp",
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            form["ErrorCode"] = error_code
        signature = RequestValidator(auth_token).compute_signature(url, form)
        async with httpx.AsyncClient() as client:
            response = await client.post(url, data=form, headers={"X-Twilio-Signature": signature})
        return response.status_code

    @staticmethod
    def error(status: int, code: int, message: str = "error") -> Fault:
        return Fault(status, {"code": code, "message": message, "status": status})


class FakeRazorpay(FakeProvider):
    """Razorpay's Payment Links API (create, fetch), and the webhook bodies it sends.

    `calls` records each request as Razorpay received it: the amount in paise,
    reference_id, upi_link, expire_by and notes of every link created.
    """

    def __init__(self, key_id: str = "rzp_test_krishi", key_secret: str = "rzp-key-secret") -> None:
        super().__init__()
        self.key_id = key_id
        self.key_secret = key_secret
        self.links: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.app = FastAPI()
        self.app.post("/v1/payment_links")(self._create)
        self.app.get("/v1/payment_links/{link_id}")(self._fetch)

    def _authorized(self, request: Request) -> bool:
        import base64

        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    @staticmethod
    def _error(status: int, description: str) -> Response:
        code = "BAD_REQUEST_ERROR" if status < 500 else "SERVER_ERROR"
        return JSONResponse({"error": {"code": code, "description": description}}, status)

    async def _create(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "The api key provided is invalid")
        params = await _params(request)
        if self.faults:
            fault = self.faults.popleft()
            self._record("!payment_links.create", params)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return JSONResponse(fault.body, fault.status)
        self._record("payment_links.create", params)
        link_id = f"plink_{next(self._ids):014d}"
        link = {
            "id": link_id,
            "entity": "payment_link",
            "amount": params["amount"],
            "amount_paid": 0,
            "currency": params.get("currency", "INR"),
            "accept_partial": params.get("accept_partial", False),
            "reference_id": params.get("reference_id"),
            "description": params.get("description"),
            "expire_by": params.get("expire_by"),
            "upi_link": params.get("upi_link", False),
            "notes": params.get("notes") or [],
            "short_url": f"https://rzp.io/i/{link_id[-8:]}",
            "status": "created",
            "payments": None,
            "created_at": int(time.time()),
        }
        self.links[link_id] = link
        return JSONResponse(link)

    async def _fetch(self, link_id: str, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "The api key provided is invalid")
        self._record("payment_links.fetch", {"id": link_id})
        link = self.links.get(link_id)
        if link is None:
            return self._error(400, "The id provided does not exist")
        return JSONResponse(link)

    def created(self) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == "payment_links.create"]

    def link_for(self, purchase_id: object) -> dict[str, Any]:
        return next(v for v in self.links.values() if v["reference_id"] == str(purchase_id))

    # --- What Razorpay would say --------------------------------------------
    def payment(
        self,
        link: dict[str, Any],
        *,
        amount: int | None = None,
        currency: str | None = None,
        method: str = "upi",
        payment_id: str | None = None,
    ) -> dict[str, Any]:
        """A captured payment of the link (its notes carry over, as Razorpay's do)."""
        return {
            "id": payment_id or f"pay_{next(self._ids):014d}",
            "entity": "payment",
            "amount": link["amount"] if amount is None else amount,
            "currency": currency or link["currency"],
            "status": "captured",
            "method": method,
            "order_id": f"order_{link['id'][-8:]}",
            "amount_refunded": 0,
            "notes": link["notes"],
            "captured": True,
            "created_at": int(time.time()),
        }

    def pay(self, link: dict[str, Any], payment: dict[str, Any]) -> None:
        """The farmer paid: the link as a later fetch shows it."""
        link.update(
            status="paid",
            amount_paid=payment["amount"],
            payments=[
                {
                    "payment_id": payment["id"],
                    "amount": payment["amount"],
                    "method": payment["method"],
                    "status": "captured",
                    "created_at": payment["created_at"],
                }
            ],
        )

    @staticmethod
    def event(name: str, **entities: dict[str, Any]) -> dict[str, Any]:
        return {
            "entity": "event",
            "account_id": "acc_krishi",
            "event": name,
            "contains": list(entities),
            "payload": {kind: {"entity": entity} for kind, entity in entities.items()},
            "created_at": int(time.time()),
        }

    def link_paid(self, link: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any]:
        paid_link = {**link, "status": "paid", "amount_paid": payment["amount"]}
        order = {"id": payment["order_id"], "entity": "order", "amount": link["amount"],
                 "status": "paid", "notes": link["notes"]}  # fmt: skip
        return self.event("payment_link.paid", payment_link=paid_link, order=order, payment=payment)

    def captured(self, payment: dict[str, Any]) -> dict[str, Any]:
        return self.event("payment.captured", payment=payment)

    def link_closed(self, link: dict[str, Any], status: str = "expired") -> dict[str, Any]:
        return self.event(f"payment_link.{status}", payment_link={**link, "status": status})

    def refunded(self, payment: dict[str, Any], amount: int | None = None) -> dict[str, Any]:
        refund_amount = payment["amount"] if amount is None else amount
        refund = {
            "id": f"rfnd_{next(self._ids):014d}",
            "entity": "refund",
            "amount": refund_amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": [],
            "status": "processed",
        }
        refunded_payment = {**payment, "amount_refunded": refund_amount, "status": "refunded"}
        return self.event("refund.processed", refund=refund, payment=refunded_payment)
