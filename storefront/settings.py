"""The storefront's settings, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from telemetry.web import metrics_token


class SettingsError(ValueError):
    """A configuration value in the environment is invalid."""


@dataclass(frozen=True)
class StorefrontSettings:
    """Where the storefront finds the catalog and the assistant.

    Attributes:
        data_dir: The shop's data directory.
        database_url: The shop database (product photos).
        graph_path: The product graph.
        chat_url: Public base URL of the Rasa server (the widget's script and routes).
        image_roots: Folders product photos may be served from (``file://`` URIs of
            the catalog outside them are never served).
        host: Interface to listen on.
        port: Port to listen on.
        metrics_token: ``METRICS_TOKEN``: Prometheus' bearer token for ``/metrics``
            (``None``: loopback callers only).
    """

    data_dir: Path
    database_url: str
    graph_path: Path
    chat_url: str
    image_roots: tuple[Path, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    metrics_token: str | None = None


def load_settings(env: dict[str, str] | None = None) -> StorefrontSettings:
    """Build the settings from ``env`` (default: ``os.environ``).

    Raises:
        SettingsError: A value is malformed.
    """
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("SHOP_DATA_DIR", "data")).resolve()
    chat_url = env.get("CHAT_PUBLIC_URL") or f"http://127.0.0.1:{env.get('RASA_PORT', '5005')}"
    if not chat_url.startswith(("http://", "https://")):
        raise SettingsError(f"CHAT_PUBLIC_URL must be an http(s) URL, got {chat_url!r}")
    roots = [data_dir]
    if env.get("DATASETS"):
        roots.append(Path(env["DATASETS"]).resolve())
    try:
        port = int(env.get("STOREFRONT_PORT", "8080"))
    except ValueError as exc:
        raise SettingsError("STOREFRONT_PORT must be an integer") from exc
    return StorefrontSettings(
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'shop.db'}",
        graph_path=Path(env.get("GRAPH_PATH") or data_dir / "graph.ttl"),
        chat_url=chat_url.rstrip("/"),
        image_roots=tuple(roots),
        host=env.get("STOREFRONT_HOST", "127.0.0.1"),
        port=port,
        metrics_token=metrics_token(env, error=SettingsError),
    )


@lru_cache(maxsize=1)
def settings() -> StorefrontSettings:
    """The process-wide settings."""
    return load_settings()
