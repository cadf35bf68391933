"""Where the operational commands find the shop's stores: read from the environment
once, as the servers read theirs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from privacy import Stores, tracker_url
from vision.media import open_media


@dataclass(frozen=True)
class OpsSettings:
    """The stores and the retention period.

    Attributes:
        data_dir: ``SHOP_DATA_DIR`` (``data``).
        stores: ``DATABASE_URL``, the tracker store (``TRACKER_*``, as
            ``bot/endpoints*.yml``), ``CHANNEL_DB_URL``, ``HANDOFF_DB_URL``, ``MEDIA_DIR``
            or ``MEDIA_DB_URL``.
        retention_days: ``RETENTION_DAYS`` (365): ``purge`` deletes what is older.
        exports_dir: ``EXPORTS_DIR`` (``<data>/exports``): where exports are written.
    """

    data_dir: Path
    stores: Stores
    retention_days: float = 365.0
    exports_dir: Path = Path("data/exports")


def load_settings(env: dict[str, str] | None = None) -> OpsSettings:
    """Read :class:`OpsSettings` from ``env`` (default: ``os.environ``).

    Raises:
        ValueError: ``RETENTION_DAYS`` is not a number of days from 1 to 36500.
    """
    env = dict(os.environ if env is None else env)
    data = Path(env.get("SHOP_DATA_DIR", "data"))
    days = float(env.get("RETENTION_DAYS", "365"))
    if not 1 <= days <= 36500:
        raise ValueError("RETENTION_DAYS must be between 1 and 36500")
    return OpsSettings(
        data_dir=data,
        stores=Stores(
            shop=env.get("DATABASE_URL") or f"sqlite:///{data / 'shop.db'}",
            tracker=tracker_url(env, data_dir=data),
            channels=env.get("CHANNEL_DB_URL") or f"sqlite:///{data / 'channels.db'}",
            handoff=env.get("HANDOFF_DB_URL") or f"sqlite:///{data / 'handoff.db'}",
            media=open_media(Path(env.get("MEDIA_DIR") or data / "media"),
                             url=env.get("MEDIA_DB_URL") or None)),
        retention_days=days,
        exports_dir=Path(env.get("EXPORTS_DIR") or data / "exports"))


@lru_cache(maxsize=1)
def settings() -> OpsSettings:
    """The process's settings."""
    return load_settings()
