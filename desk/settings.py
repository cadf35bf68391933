"""The agent desk's settings, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from handoff.errors import InvalidHours
from handoff.hours import BusinessHours
from telemetry.web import metrics_token


class SettingsError(ValueError):
    """A configuration value in the environment is invalid."""


@dataclass(frozen=True)
class DeskSettings:
    """Configuration of the agent desk.

    Attributes:
        db_url: The handoff queue's database (``HANDOFF_DB_URL``); the desk's own
            tables (accounts, sessions, canned responses) live there too.
        bot_url: The Rasa server (its ``/webhooks/internal/`` routes).
        push_token: The Rasa server's internal token (``CHANNEL_PUSH_TOKEN``).
        desk_token: The token the Rasa server uses to wake the desk (``DESK_TOKEN``).
        session_hours: A sign-in lasts at most this long.
        idle_minutes: ... and ends after this long without a request.
        secure_cookies: Send cookies over HTTPS only (set behind TLS).
        assignment: ``manual`` (agents claim) or ``auto`` (the desk assigns).
        hours: The team's business hours (``HANDOFF_HOURS``, ``HANDOFF_TIMEZONE``).
        wait_timeout: Seconds before a waiting customer is told nobody took it.
        queue_update_seconds: Least time between two queue updates to a customer.
        login_failures: Failed sign-ins per account and per address per 15 minutes.
        media_dir: Customers' photos (the channels' media store).
        media_db_url: ``MEDIA_DB_URL``: the database holding them instead (scaled mode).
        metrics_token: ``METRICS_TOKEN``: Prometheus' bearer token for ``/metrics``
            (``None``: loopback callers only).
    """

    db_url: str
    bot_url: str = "http://127.0.0.1:5005"
    push_token: str | None = None
    desk_token: str | None = None
    session_hours: float = 8.0
    idle_minutes: float = 60.0
    secure_cookies: bool = False
    assignment: str = "manual"
    hours: BusinessHours = BusinessHours.always()
    wait_timeout: int = 600
    default_wait: int = 120
    queue_update_seconds: int = 30
    login_failures: int = 5
    media_dir: Path = Path("data/media")
    media_db_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8090
    metrics_token: str | None = None


def load_settings(env: dict[str, str] | None = None) -> DeskSettings:
    """Read :class:`DeskSettings` from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("SHOP_DATA_DIR", "data"))
    try:
        hours = BusinessHours.from_text(env.get("HANDOFF_HOURS", ""),
                                        timezone=env.get("HANDOFF_TIMEZONE", "UTC"))
    except InvalidHours as exc:
        raise SettingsError(f"HANDOFF_HOURS / HANDOFF_TIMEZONE: {exc}") from exc
    assignment = env.get("DESK_ASSIGNMENT", "manual")
    if assignment not in ("manual", "auto"):
        raise SettingsError("DESK_ASSIGNMENT must be manual or auto")

    def number(name: str, default: float, low: float, high: float) -> float:
        try:
            value = float(env.get(name, default))
        except ValueError:
            raise SettingsError(f"{name} must be a number") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}")
        return value

    return DeskSettings(
        db_url=env.get("HANDOFF_DB_URL") or f"sqlite:///{data_dir / 'handoff.db'}",
        bot_url=(env.get("DESK_BOT_URL")
                 or f"http://127.0.0.1:{env.get('RASA_PORT', '5005')}").rstrip("/"),
        push_token=env.get("CHANNEL_PUSH_TOKEN") or None,
        desk_token=env.get("DESK_TOKEN") or None,
        session_hours=number("DESK_SESSION_HOURS", 8, 0.01, 24 * 30),
        idle_minutes=number("DESK_IDLE_MINUTES", 60, 1, 24 * 60),
        secure_cookies=env.get("DESK_SECURE_COOKIES", "0") in ("1", "true", "yes"),
        assignment=assignment,
        hours=hours,
        wait_timeout=int(number("HANDOFF_WAIT_TIMEOUT", 600, 10, 7 * 86400)),
        default_wait=int(number("HANDOFF_DEFAULT_WAIT", 120, 1, 86400)),
        queue_update_seconds=int(number("DESK_QUEUE_UPDATE_SECONDS", 30, 1, 3600)),
        login_failures=int(number("DESK_LOGIN_FAILURES", 5, 1, 1000)),
        media_dir=Path(env.get("MEDIA_DIR") or data_dir / "media"),
        media_db_url=env.get("MEDIA_DB_URL") or None,
        host=env.get("DESK_HOST", "127.0.0.1"),
        port=int(number("DESK_PORT", 8090, 1, 65535)),
        metrics_token=metrics_token(env, error=SettingsError),
    )


@lru_cache(maxsize=1)
def settings() -> DeskSettings:
    """The process-wide settings, read on first use."""
    return load_settings()
