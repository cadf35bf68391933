"""Settings of the Rasa process (channels), read from the environment once.

Every channel reads its limits, secrets and paths here and nowhere else
(``docs/configuration.md`` lists them).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from telemetry.web import metrics_token

MAX_LIMIT = 10**9  # a limit this high is off


class SettingsError(ValueError):
    """A configuration value in the environment is invalid."""


@dataclass(frozen=True)
class WeChatSettings:
    """A WeChat Official Account (``bot/channels/wechat.py``); off without a token.

    Attributes:
        token: The Token set in the account's server configuration (signs every
            request); ``None``: the channel answers 404.
        app_id: The account's AppID (checked inside every encrypted message).
        app_secret: The AppSecret (fetches the ``access_token``).
        aes_key: The EncodingAESKey (43 characters; compatible and safe mode).
        require_aes: Refuse plaintext messages (safe mode only).
        api_base: The platform's API (the tests point it at a fake).
        reply_within: Seconds to wait for the assistant before answering
            ``success`` and sending the answer with ``message/custom/send``.
        max_skew: Requests signed with a timestamp further off are refused (replays).
        max_xml_bytes: Largest request body.
        buttons: ``numbers`` (numbered choices in the text) or ``msgmenu``.
        cards: ``news`` (one article per product) or ``image`` (photo + caption).
        max_cards: Products sent as cards per answer (the text lists them all).
        product_url: Link of a product's article, ``{sku}`` replaced (``None``: none).
        handoff: ``desk`` (the shop's agent desk) or ``wechat`` (WeChat's own
            customer-service system, ``transfer_customer_service``).
        api_timeout: Seconds per platform API call.
    """

    token: str | None = None
    app_id: str = ""
    app_secret: str = ""
    aes_key: str | None = None
    require_aes: bool = False
    api_base: str = "https://api.weixin.qq.com"
    reply_within: float = 4.0
    max_skew: int = 300
    max_xml_bytes: int = 64 * 1024
    buttons: str = "numbers"
    cards: str = "news"
    max_cards: int = 3
    product_url: str | None = None
    handoff: str = "desk"
    api_timeout: float = 5.0


@dataclass(frozen=True)
class MessengerSettings:
    """A Facebook Page on Messenger (``bot/channels/messenger.py``); off without an
    app secret.

    Attributes:
        app_secret: The Meta app's secret (signs every delivery); ``None``: off (404).
        verify_token: The token typed into the app's webhook settings.
        page_token: The page access token (Send API).
        app_id: The app's id (thread control: whose the thread is).
        api_base: The Graph API (the tests point it at a fake).
        api_version: Graph API version.
        cdn_hosts: Hosts (and their subdomains) photos are fetched from.
        test_cdn_origin: One ``scheme://host:port`` fetched as it is (tests only).
        handoff: ``desk`` or ``page_inbox`` (thread control to the Page Inbox).
        max_body_bytes: Largest delivery.
        api_timeout: Seconds per Graph API call and per photo download.
    """

    app_secret: str | None = None
    verify_token: str | None = None
    page_token: str | None = None
    app_id: str = ""
    api_base: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    cdn_hosts: tuple[str, ...] = ("fbcdn.net", "fbsbx.com")
    test_cdn_origin: str | None = None
    handoff: str = "desk"
    max_body_bytes: int = 1024 * 1024
    api_timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        """Whether the channel is configured."""
        return bool(self.app_secret and self.page_token)


@dataclass(frozen=True)
class WhatsAppSettings:
    """A WhatsApp Business phone number on the Cloud API (``bot/channels/whatsapp.py``);
    off without an app secret.

    Attributes:
        app_secret: The Meta app's secret (signs every delivery); ``None``: off (404).
        verify_token: The token typed into the app's webhook settings.
        access_token: A system user's access token (``Authorization: Bearer``).
        phone_number_id: The business phone number's id (``/<id>/messages``).
        api_base: The Graph API (the tests point it at a fake).
        api_version: Graph API version.
        media_hosts: Hosts (and their subdomains) media files are downloaded from.
        test_media_origin: One ``scheme://host:port`` fetched as it is (tests only).
        template: The approved template sent outside the 24-hour window (a person's
            reply as its one body parameter); empty: nothing is sent outside it.
        template_languages: The template's language code per customer language.
        max_body_bytes: Largest delivery.
        api_timeout: Seconds per API call and per media download.
    """

    app_secret: str | None = None
    verify_token: str | None = None
    access_token: str | None = None
    phone_number_id: str = ""
    api_base: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    media_hosts: tuple[str, ...] = ("fbsbx.com", "fbcdn.net", "whatsapp.net")
    test_media_origin: str | None = None
    template: str = ""
    template_languages: tuple[tuple[str, str], ...] = (("en", "en_US"), ("zh", "zh_CN"))
    max_body_bytes: int = 1024 * 1024
    api_timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        """Whether the channel is configured."""
        return bool(self.app_secret and self.access_token and self.phone_number_id)


@dataclass(frozen=True)
class ChannelSettings:
    """Limits and secrets shared by every customer-facing channel.

    Attributes:
        max_body_bytes: Largest request body of a chat message.
        max_message_chars: Longer messages are cut to this many characters.
        max_id_chars: Longest sender (conversation) id.
        max_metadata_depth: Deepest nesting of objects and lists in a body.
        max_metadata_items: Most keys and list items in a body, all levels together.
        media_dir: Content-addressed folder of uploaded photos.
        media_db_url: ``MEDIA_DB_URL``: a database holding the photos instead of
            ``media_dir``, shared by every server (scaled mode); ``None``: the folder.
        upload_max_bytes: Largest photo accepted.
        upload_max_pixels: Most pixels of a photo (checked before decoding).
        customer_id_secret: Secret the shop signs customer ids with; ``None``:
            customer ids are never trusted.
        channel_secret: Key that signs widget sessions, binds uploaded photos to
            their conversation and pseudonymises client addresses (random per
            process when unset; ``make run`` keeps one in ``secrets.env``).
        messages_per_sender: Messages a minute one conversation may send.
        messages_per_ip: Messages a minute one client address may send.
        messages_per_customer: Messages a minute one signed-in customer may send.
        uploads_per_ip: Photo uploads a minute one client address may make.
        uploads_per_sender: Photo uploads a day one conversation may make.
        api_port: Port of the loopback-only listener that serves Rasa's HTTP API
            (when the API is enabled); the customer-facing port never serves it.
        api_host: Interface of that listener.
        channel_db_url: SQL database of the channels' conversation messages
            (:mod:`bot.channels.history`).
        widget_origins: Origins (scheme://host[:port]) whose pages may use the
            web widget; every other origin is refused.
        widget_session_days: How long a widget session token stays valid.
        widget_script: The built widget script served at ``/webhooks/widget/widget.js``.
        push_token: Bearer token of the internal push route (``None``: the route is off).
        database_url: The shop's database (a customer's data: export and erasure).
        tracker_url: Rasa's tracker store as a SQLAlchemy URL (``TRACKER_*``).
        metrics_token: ``METRICS_TOKEN``: Prometheus' bearer token for ``/metrics``
            (``None``: loopback callers only).
        handoff_db_url: SQL database of the handoff queue (shared with the action
            server and the agent desk).
        desk_url: The agent desk's base URL, told at once of customer messages to a
            person (``None``: the desk finds them within a second by itself).
        desk_token: Bearer token for the desk's internal routes.
        redis_url: Redis shared by every process of a scaled shop (rate limits);
            ``None``: each process counts in its own memory.
    """

    max_body_bytes: int = 256 * 1024
    max_message_chars: int = 1000
    max_id_chars: int = 128
    max_metadata_depth: int = 8
    max_metadata_items: int = 256
    media_dir: Path = Path("data/media")
    media_db_url: str | None = None
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_pixels: int = 40_000_000
    customer_id_secret: str | None = None
    channel_secret: str = ""
    messages_per_sender: int = 30
    messages_per_ip: int = 120
    messages_per_customer: int = 60
    uploads_per_ip: int = 20
    uploads_per_sender: int = 30
    api_port: int = 5006
    api_host: str = "127.0.0.1"
    channel_db_url: str = "sqlite:///data/channels.db"
    widget_origins: tuple[str, ...] = ("http://localhost:8080", "http://127.0.0.1:8080")
    widget_session_days: int = 30
    widget_script: Path = Path("widget/dist/widget.js")
    push_token: str | None = None
    database_url: str = "sqlite:///data/shop.db"
    tracker_url: str = "sqlite:///data/rasa_tracker.db"
    metrics_token: str | None = None
    handoff_db_url: str = "sqlite:///data/handoff.db"
    desk_url: str | None = None
    desk_token: str | None = None
    redis_url: str | None = None
    wechat: WeChatSettings = WeChatSettings()
    messenger: MessengerSettings = MessengerSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def load_settings(env: dict[str, str] | None = None) -> ChannelSettings:
    """Build :class:`ChannelSettings` from ``env`` (default: ``os.environ``).

    Raises:
        SettingsError: If a value is malformed or out of range.
    """
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("SHOP_DATA_DIR", "data"))
    secret = env.get("CUSTOMER_ID_SECRET") or None
    if secret is not None and len(secret) < 16:
        raise SettingsError("CUSTOMER_ID_SECRET must be at least 16 characters")
    return ChannelSettings(
        max_body_bytes=_int(env, "REST_MAX_BODY_BYTES", 256 * 1024, 1024, 16 * 1024 * 1024),
        max_message_chars=_int(env, "REST_MAX_MESSAGE_CHARS", 1000, 10, 100_000),
        max_metadata_depth=_int(env, "MAX_METADATA_DEPTH", 8, 2, 64),
        max_metadata_items=_int(env, "MAX_METADATA_ITEMS", 256, 8, 100_000),
        media_dir=Path(env.get("MEDIA_DIR") or data_dir / "media"),
        media_db_url=env.get("MEDIA_DB_URL") or None,
        upload_max_bytes=_int(env, "UPLOAD_MAX_BYTES", 10 * 1024 * 1024, 1024, 100 * 1024**2),
        upload_max_pixels=_int(env, "UPLOAD_MAX_PIXELS", 40_000_000, 1024, 500_000_000),
        customer_id_secret=secret,
        channel_secret=env.get("CHANNEL_SECRET") or secrets.token_hex(32),
        messages_per_sender=_int(env, "LIMIT_MESSAGES_PER_SENDER", 30, 1, MAX_LIMIT),
        messages_per_ip=_int(env, "LIMIT_MESSAGES_PER_IP", 120, 1, MAX_LIMIT),
        messages_per_customer=_int(env, "LIMIT_MESSAGES_PER_CUSTOMER", 60, 1, MAX_LIMIT),
        uploads_per_ip=_int(env, "LIMIT_UPLOADS_PER_IP", 20, 1, MAX_LIMIT),
        uploads_per_sender=_int(env, "LIMIT_UPLOADS_PER_SENDER", 30, 1, MAX_LIMIT),
        api_port=_int(env, "RASA_API_PORT", 5006, 1, 65535),
        api_host=env.get("RASA_API_HOST", "127.0.0.1"),
        channel_db_url=env.get("CHANNEL_DB_URL") or f"sqlite:///{data_dir / 'channels.db'}",
        widget_origins=_origins(env.get("WIDGET_ORIGINS",
                                        "http://localhost:8080,http://127.0.0.1:8080")),
        widget_session_days=_int(env, "WIDGET_SESSION_DAYS", 30, 1, 365),
        widget_script=Path(env.get("WIDGET_SCRIPT") or "widget/dist/widget.js"),
        push_token=_push_token(env),
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'shop.db'}",
        tracker_url=_tracker_url(env, data_dir),
        metrics_token=metrics_token(env, error=SettingsError),
        handoff_db_url=env.get("HANDOFF_DB_URL") or f"sqlite:///{data_dir / 'handoff.db'}",
        desk_url=(env.get("DESK_URL") or "").rstrip("/") or None,
        desk_token=env.get("DESK_TOKEN") or None,
        redis_url=_redis_url(env.get("REDIS_URL") or None),
        wechat=_wechat(env),
        messenger=_messenger(env),
        whatsapp=_whatsapp(env),
    )


def _redis_url(url: str | None) -> str | None:
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return url


def _choice(env: dict[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _graph(env: dict[str, str], prefix: str) -> tuple[str, str, str | None]:
    """``<prefix>_API_BASE``, ``<prefix>_API_VERSION`` and ``<prefix>_TEST_..._ORIGIN``
    of a channel on Meta's Graph API, checked."""
    api_base = (env.get(f"{prefix}_API_BASE") or "https://graph.facebook.com").rstrip("/")
    if not api_base.startswith(("https://", "http://")):
        raise SettingsError(f"{prefix}_API_BASE must be an http(s) URL")
    version = env.get(f"{prefix}_API_VERSION") or "v21.0"
    if not (version.startswith("v") and version[1:].replace(".", "").isdigit()):
        raise SettingsError(f"{prefix}_API_VERSION must look like v21.0")
    name = f"{prefix}_TEST_{'CDN' if prefix == 'MESSENGER' else 'MEDIA'}_ORIGIN"
    test_origin = (env.get(name) or "").rstrip("/") or None
    if test_origin is not None and (test_origin.count("/") != 2
                                    or not test_origin.startswith(("http://", "https://"))):
        raise SettingsError(f"{name} must be scheme://host:port")
    return api_base, version, test_origin


def _hosts(raw: str) -> tuple[str, ...]:
    return tuple(h.strip().lower().lstrip(".") for h in raw.split(",") if h.strip())


def _whatsapp(env: dict[str, str]) -> WhatsAppSettings:
    secret = env.get("WHATSAPP_APP_SECRET") or None
    token = env.get("WHATSAPP_ACCESS_TOKEN") or None
    verify_token = env.get("WHATSAPP_VERIFY_TOKEN") or None
    number = env.get("WHATSAPP_PHONE_NUMBER_ID", "")
    if secret is not None and not (token and verify_token and number):
        raise SettingsError("WHATSAPP_APP_SECRET is set: WHATSAPP_ACCESS_TOKEN, "
                            "WHATSAPP_VERIFY_TOKEN and WHATSAPP_PHONE_NUMBER_ID are needed too")
    if verify_token is not None and len(verify_token) < 16:
        raise SettingsError("WHATSAPP_VERIFY_TOKEN must be at least 16 characters")
    if number and not (number.isdigit() and len(number) <= 32):
        raise SettingsError("WHATSAPP_PHONE_NUMBER_ID must be the number's id (digits)")
    api_base, version, test_origin = _graph(env, "WHATSAPP")
    languages = []
    for pair in (env.get("WHATSAPP_TEMPLATE_LANGUAGES") or "en:en_US,zh:zh_CN").split(","):
        lang, _, code = pair.partition(":")
        if lang.strip() not in ("en", "zh") or not code.strip():
            raise SettingsError("WHATSAPP_TEMPLATE_LANGUAGES must look like en:en_US,zh:zh_CN")
        languages.append((lang.strip(), code.strip()))
    template = env.get("WHATSAPP_TEMPLATE", "")
    if template and not template.replace("_", "").isalnum():
        raise SettingsError("WHATSAPP_TEMPLATE must be a template's name (a-z, 0-9, _)")
    return WhatsAppSettings(
        app_secret=secret, verify_token=verify_token, access_token=token,
        phone_number_id=number, api_base=api_base, api_version=version,
        media_hosts=_hosts(env.get("WHATSAPP_MEDIA_HOSTS") or
                           "fbsbx.com,fbcdn.net,whatsapp.net"),
        test_media_origin=test_origin, template=template,
        template_languages=tuple(languages),
        max_body_bytes=_int(env, "WHATSAPP_MAX_BODY_BYTES", 1024 * 1024, 1024,
                            16 * 1024 * 1024),
        api_timeout=_int(env, "WHATSAPP_API_TIMEOUT_MS", 10000, 500, 60000) / 1000,
    )


def _messenger(env: dict[str, str]) -> MessengerSettings:
    secret = env.get("MESSENGER_APP_SECRET") or None
    page_token = env.get("MESSENGER_PAGE_TOKEN") or None
    verify_token = env.get("MESSENGER_VERIFY_TOKEN") or None
    if secret is not None and not (page_token and verify_token):
        raise SettingsError("MESSENGER_APP_SECRET is set: MESSENGER_PAGE_TOKEN and "
                            "MESSENGER_VERIFY_TOKEN are needed too")
    if verify_token is not None and len(verify_token) < 16:
        raise SettingsError("MESSENGER_VERIFY_TOKEN must be at least 16 characters")
    api_base, version, test_origin = _graph(env, "MESSENGER")
    hosts = _hosts(env.get("MESSENGER_CDN_HOSTS") or "fbcdn.net,fbsbx.com")
    return MessengerSettings(
        app_secret=secret, verify_token=verify_token, page_token=page_token,
        app_id=env.get("MESSENGER_APP_ID", ""), api_base=api_base, api_version=version,
        cdn_hosts=hosts, test_cdn_origin=test_origin,
        handoff=_choice(env, "MESSENGER_HANDOFF", "desk", ("desk", "page_inbox")),
        max_body_bytes=_int(env, "MESSENGER_MAX_BODY_BYTES", 1024 * 1024, 1024,
                            16 * 1024 * 1024),
        api_timeout=_int(env, "MESSENGER_API_TIMEOUT_MS", 10000, 500, 60000) / 1000,
    )


def _wechat(env: dict[str, str]) -> WeChatSettings:
    token = env.get("WECHAT_TOKEN") or None
    if token is not None and not (3 <= len(token) <= 32 and token.isalnum()):
        raise SettingsError("WECHAT_TOKEN must be 3-32 letters and digits (WeChat's rule)")
    aes_key = env.get("WECHAT_ENCODING_AES_KEY") or None
    if aes_key is not None and (len(aes_key) != 43 or not aes_key.isalnum()):
        raise SettingsError("WECHAT_ENCODING_AES_KEY must be the 43 letters and digits the "
                            "account's server configuration shows")
    if aes_key is not None and token is None:
        raise SettingsError("WECHAT_ENCODING_AES_KEY needs WECHAT_TOKEN (safe mode signs "
                            "with both)")
    require_aes = env.get("WECHAT_REQUIRE_AES", "0") == "1"
    if require_aes and aes_key is None:
        raise SettingsError("WECHAT_REQUIRE_AES=1 needs WECHAT_ENCODING_AES_KEY")
    if token is not None and not (env.get("WECHAT_APP_ID") and env.get("WECHAT_APP_SECRET")):
        raise SettingsError("WECHAT_TOKEN is set: WECHAT_APP_ID and WECHAT_APP_SECRET are "
                            "needed too")
    api_base = (env.get("WECHAT_API_BASE") or "https://api.weixin.qq.com").rstrip("/")
    if not api_base.startswith(("https://", "http://")):
        raise SettingsError("WECHAT_API_BASE must be an http(s) URL")
    product_url = env.get("WECHAT_PRODUCT_URL") or None
    if product_url is not None and (not product_url.startswith(("https://", "http://"))
                                    or "{sku}" not in product_url):
        raise SettingsError("WECHAT_PRODUCT_URL must be an http(s) URL containing {sku}")
    return WeChatSettings(
        token=token, app_id=env.get("WECHAT_APP_ID", ""),
        app_secret=env.get("WECHAT_APP_SECRET", ""), aes_key=aes_key,
        require_aes=require_aes, api_base=api_base,
        reply_within=_int(env, "WECHAT_REPLY_WITHIN_MS", 4000, 100, 4800) / 1000,
        max_skew=_int(env, "WECHAT_MAX_CLOCK_SKEW", 300, 10, 86400),
        max_xml_bytes=_int(env, "WECHAT_MAX_XML_BYTES", 64 * 1024, 1024, 1024 * 1024),
        buttons=_choice(env, "WECHAT_BUTTONS", "numbers", ("numbers", "msgmenu")),
        cards=_choice(env, "WECHAT_CARDS", "news", ("news", "image")),
        max_cards=_int(env, "WECHAT_MAX_CARDS", 3, 0, 10),
        product_url=product_url,
        handoff=_choice(env, "WECHAT_HANDOFF", "desk", ("desk", "wechat")),
        api_timeout=_int(env, "WECHAT_API_TIMEOUT_MS", 5000, 500, 60000) / 1000,
    )


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise SettingsError(f"WIDGET_ORIGINS: {origin!r} is not scheme://host[:port]")
    return origins


def _tracker_url(env: dict[str, str], data_dir: Path) -> str:
    from privacy.service import tracker_url

    return tracker_url(env, data_dir=data_dir)


def _push_token(env: dict[str, str]) -> str | None:
    token = env.get("CHANNEL_PUSH_TOKEN") or None
    if token is not None and len(token) < 16:
        raise SettingsError("CHANNEL_PUSH_TOKEN must be at least 16 characters")
    return token


@lru_cache(maxsize=1)
def settings() -> ChannelSettings:
    """The process-wide settings, read on first use."""
    return load_settings()
