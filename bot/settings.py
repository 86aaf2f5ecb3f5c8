"""Settings read from the environment (names fixed by DESIGN.md)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str | None = None
    # Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset.
    embedded_pgdata: str = ".krishi/pgdata"
    db_pool_size: int = 10

    public_base_url: str = "http://127.0.0.1:8000"

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # Telegram sells digital goods for Telegram Stars only: "stars" sends Telegram
    # farmers a Stars invoice instead of a UPI / Razorpay link.
    telegram_payments: Literal["upi", "stars"] = "upi"
    # An operator setting: Stars asked per rupee of a course's price (rounded up,
    # at least 1). Review it when Telegram's Star price or the courses' prices change.
    telegram_stars_per_rupee: float = 0.6
    telegram_quiz_polls: bool = False
    # After a tap, the tapped message loses its buttons (an extra Bot API call per tap).
    clear_tapped_buttons: bool = True

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    # Twilio's Content API (quick replies, lists); a setting so the tests' fake serves it.
    twilio_content_base_url: str = "https://content.twilio.com"
    # Approved template for broadcasts outside the 24-hour window, in every language;
    # WHATSAPP_TEMPLATES (below) may name one per language instead.
    twilio_broadcast_content_sid: str | None = None
    # A YAML file, `kind: {language: ContentSid}`, of the approved WhatsApp templates
    # for proactive messages outside the 24-hour window (see bot/templates.py).
    whatsapp_templates: str | None = None
    # Menus on WhatsApp as tap-to-answer buttons and lists (Content API); off: numbers only.
    whatsapp_interactive: bool = True

    razorpay_key_id: str | None = None
    razorpay_key_secret: SecretStr | None = None
    razorpay_webhook_secret: SecretStr | None = None
    razorpay_api_base_url: str = "https://api.razorpay.com"

    upi_vpa: str | None = None
    upi_payee_name: str = "Krishi Learn"

    admin_api_token: SecretStr | None = None
    # GET /metrics wants `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers 404.
    metrics_token: SecretStr | None = None
    # /docs, /redoc and /openapi.json are served only when this is on.
    api_docs_public: bool = False
    # Signs the instructor console's cookies; set it when several processes serve
    # the console (unset: derived from the other secrets, see bot/console/auth.py).
    console_secret: SecretStr | None = None
    console_session_hours: int = 12

    # Sender limits. Telegram: 30 msg/s per bot, about 1 msg/s per chat with short
    # bursts allowed; WhatsApp via Twilio: 80 msg/s per sender number.
    telegram_rate_per_s: float = 30.0
    telegram_chat_rate_per_s: float = 1.0
    telegram_chat_burst: int = 3
    whatsapp_rate_per_s: float = 80.0
    sender_batch_size: int = 64
    sender_concurrency: int = 32
    sender_max_attempts: int = 8
    # How long a claimed outbound row is a sender's before another may take it over.
    sender_lease_s: float = 120.0
    provider_timeout_s: float = 10.0

    # `krishi serve` runs the sender and jobs beside the web app unless this is off
    # (then run `krishi worker` processes for them).
    run_sender: bool = True
    # Off: this process answers turns and runs jobs but sends nothing (replies stay
    # queued for the senders of other processes; the benchmarks use it).
    sender_enabled: bool = True
    # Turn-worker loops per process (`krishi serve` and `krishi worker`): two keep the
    # database busy while one of them runs Python.
    turn_workers: int = 2

    # Retention windows in days (bot/retention.py says why these lengths).
    retention_dedup_days: float = 3.0
    retention_messages_days: float = 90.0

    timezone: str = "Asia/Kolkata"
    # Bodies past these are refused (413) before they are read: webhooks, then all else.
    max_body_bytes: int = 256 * 1024
    max_api_body_bytes: int = 1024 * 1024
    log_json: bool = True

    @property
    def telegram_enabled(self) -> bool:
        # An empty credential is a missing one: the channel is off and its webhook refuses.
        return bool(
            self.telegram_bot_token
            and self.telegram_bot_token.get_secret_value()
            and self.telegram_webhook_secret
            and self.telegram_webhook_secret.get_secret_value()
        )

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and self.twilio_auth_token.get_secret_value()
            and self.twilio_whatsapp_from
        )

    @property
    def razorpay_enabled(self) -> bool:
        return bool(
            self.razorpay_key_id
            and self.razorpay_key_secret
            and self.razorpay_key_secret.get_secret_value()
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
