"""Settings of the action-server environment, read from the environment once.

Every process in the actions environment (the action server, `make data`)
reads its configuration here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from handoff.errors import InvalidHours
from handoff.hours import BusinessHours
from pricing.config import PricingConfig, Reward, parse_actions, parse_promotions
from pricing.coupons import DEFAULT_DISCOUNTS, DEFAULT_UPLIFT, parse_shares
from pricing.errors import ConfigError as PricingConfigError
from recsys.errors import ConfigError
from recsys.experiments import Experiment
from telemetry.web import metrics_token
from vision.adapt import DECISIONS
from vision.encoder import BACKBONES, VIEWS


class SettingsError(ValueError):
    """A configuration value in the environment is invalid."""


@dataclass(frozen=True)
class Settings:
    """Configuration of the shop assistant's back end.

    Attributes:
        data_dir: Folder holding every generated artefact (database, graph).
        database_url: SQLAlchemy URL of the shop database.
        graph_path: Turtle file of the product graph.
        demo_seed: Seed of the demo-shop generator.
        demo_as_of: The demo shop's "today" (orders are dated before it).
        return_window_days: Days after delivery during which returns are accepted.
        return_postage_paid_by: Who pays to send a return back (``shop`` or ``customer``).
        default_currency_en: Currency quoted to English-speaking customers.
        default_currency_zh: Currency quoted to Chinese-speaking customers.
        results_per_page: Products listed per answer.
        dependency_timeout_seconds: Longest wait in a turn for the recommender, the
            photo index or one query to the graph server (``GRAPH_BACKEND=remote``)
            before the stated fallback (``actions/resilience.py``).
        breaker_failures: Failed or late calls in a row after which a dependency is
            not asked for ``breaker_reset_seconds``.
        breaker_reset_seconds: How long a failing dependency is left alone.
        database_timeout_seconds: Longest a statement to a PostgreSQL database (the
            shop's, the handoff state's) may run in a turn, and the longest wait for a
            connection; past it the call fails and counts against the database's
            breaker (``shop/db.make_engine``, ``actions/resilience.guard_engine``).
        vision_timeout_seconds: Longest wait for a photo lookup (it encodes the photo on
            the CPU: longer than the other dependencies' limit).
        product_image_url: Public URL of a product's photo, ``{sku}`` replaced, for
            catalog images that are no http(s) URL (local files); ``None``: such
            cards carry no image.
        graph_backend: SPARQL back end: ``oxigraph`` (default, embedded), ``rdflib``,
            ``rdflib-oxigraph`` or ``remote``.
        graph_endpoint: Query URL of the SPARQL endpoint (``remote`` back end).
        recsys_dir: Folder of the recommender's versioned models.
        recsys_experiment: Name of the running recommendation experiment ("" for none).
        recsys_variants: Its variants and weights, e.g. ``pipeline:50,popular:50``.
        recsys_pinned: Products placed first in "for you" lists when they qualify.
        recsys_excluded: Products never recommended.
        recsys_diversity: MMR weight against repeating a category (0 to 1).
        recsys_reload_seconds: How often the action server looks for a new model.
        embedding_cache: File caching product-text embeddings between trainings.
        media_dir: Content-addressed folder of customers' uploaded photos.
        media_db_url: ``MEDIA_DB_URL``: a database holding the photos instead of
            ``media_dir``, shared by every server (scaled mode); ``None``: the folder.
        vision_dir: Folder of the image index's versions.
        vision_threshold: Score of a confident photo match when the index has
            no calibrated bounds of its own.
        vision_floor: Score a photo match needs to be shown as a guess, likewise.
        vision_reject: Share of photos of products the shop does not sell that
            the calibrated threshold keeps from being answered as a match
            (``None``: the shipped quantile of the rule, for a fine-tuned network or
            ImageNet's weights, :func:`vision.adapt.default_reject`).
        vision_floor_reject: Share of them the calibrated floor rejects outright.
        vision_decision: What a match is decided on: ``ratio`` (the best product's
            distance against the second's, Lowe's ratio test) or ``score`` (the best
            score alone).
        vision_document_limit: Probability of "screenshot or page of text" from
            which a photo is answered as not a product photo (1: never).
        vision_model: The image network (``vision.encoder.BACKBONES``).
        vision_views: Encoder views averaged per photo (see ``vision.encoder``).
        vision_color: Weight of the colour histogram in a photo's vector (0: none).
        vision_projection: Projection learned from the shop's photos: ``lda``,
            ``whiten`` or ``off``.
        vision_shrinkage: Shrinkage of that projection (0 to 1).
        vision_threads: torch threads of the image encoder.
        vision_reload_seconds: How often the action server looks for a new index.
        vision_tuned: ``auto`` encodes with the network fine-tuned on the shop's
            photos (``make tune-vision``) when there is one, ``off`` with
            ImageNet's weights.
        vision_tune_epochs: Passes over the shop's photos when fine-tuning.
        upload_max_bytes: Largest photo accepted.
        upload_max_pixels: Most pixels of a photo (checked before decoding).
        pricing: Price actions, guardrails, shadow share and reward (``PRICING_*``).
        pricing_dir: Folder of the price policy's versions.
        pricing_policy: Kind of policy ``make train-pricing`` trains: ``thompson``
            (the contextual bandit) or ``dqn``.
        pricing_reload_seconds: How often the action server looks for a new policy.
        pricing_attribution_days: Days after a quote within which an order of the
            product counts as its outcome.
        coupon_budget: Money for coupon discounts per period (0: no coupons).
        coupon_period_days: Length of a coupon budget period.
        coupon_valid_days: How long a coupon can be redeemed.
        coupon_discounts: Coupon discount per RFM segment (share of price).
        coupon_uplift: Expected extra purchase probability from a coupon, per segment.
        action_server_token: Shared secret Rasa sends as ``Authorization: Bearer
            ...`` on every call; the action server refuses to start without it.
        actions_host: Interface the action server listens on (loopback by default).
        metrics_token: ``METRICS_TOKEN``: Prometheus' bearer token for ``/metrics``
            (``None``: loopback callers only).
        action_max_body: Largest action call accepted (bytes, also after inflating).
        lookup_failures_per_conversation: Failed order look-ups (number + e-mail)
            a conversation may make per hour before it is asked to wait.
        lookup_failures_per_client: The same per client address (all conversations).
    """

    data_dir: Path
    database_url: str
    graph_path: Path
    demo_seed: int
    demo_as_of: dt.date
    return_window_days: int
    return_postage_paid_by: str
    default_currency_en: str
    default_currency_zh: str
    results_per_page: int
    dependency_timeout_seconds: float
    breaker_failures: int
    breaker_reset_seconds: float
    database_timeout_seconds: float
    vision_timeout_seconds: float
    graph_backend: str
    graph_endpoint: str | None
    action_server_token: str | None = None
    product_image_url: str | None = None
    actions_host: str = "127.0.0.1"
    metrics_token: str | None = None
    action_max_body: int = 4 * 1024 * 1024
    lookup_failures_per_conversation: int = 5
    lookup_failures_per_client: int = 20
    recsys_dir: Path = Path("data/recsys")
    recsys_experiment: str = ""
    recsys_variants: str = "pipeline:50,popular:50"
    recsys_pinned: tuple[str, ...] = ()
    recsys_excluded: tuple[str, ...] = ()
    recsys_diversity: float = 0.3
    recsys_reload_seconds: int = 5
    embedding_cache: Path = Path("data/cache/product_embeddings.npz")
    media_dir: Path = Path("data/media")
    media_db_url: str | None = None
    vision_dir: Path = Path("data/vision")
    vision_threshold: float = 0.5
    vision_floor: float = 0.38
    vision_reject: float | None = None
    vision_floor_reject: float = 0.10
    vision_decision: str = "ratio"
    vision_document_limit: float = 0.3
    vision_model: str = "lite0"
    vision_views: tuple[str, ...] = ("center", "zoom")
    vision_color: float = 0.5
    vision_projection: str = "lda"
    vision_shrinkage: float = 0.3
    vision_threads: int = 2
    vision_reload_seconds: int = 5
    vision_tuned: str = "auto"
    vision_tune_epochs: int = 8
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_pixels: int = 40_000_000
    pricing: PricingConfig = PricingConfig()
    pricing_dir: Path = Path("data/pricing")
    pricing_policy: str = "thompson"
    pricing_reload_seconds: int = 5
    pricing_attribution_days: int = 14
    coupon_budget: float = 500.0
    coupon_period_days: int = 30
    coupon_valid_days: int = 14
    coupon_discounts: tuple[tuple[str, float], ...] = tuple(DEFAULT_DISCOUNTS.items())
    coupon_uplift: tuple[tuple[str, float], ...] = tuple(DEFAULT_UPLIFT.items())
    handoff_db_url: str = "sqlite:///data/handoff.db"
    handoff_hours: BusinessHours = BusinessHours.always()
    handoff_wait_timeout: int = 600
    handoff_default_wait: int = 120


def _list(env: dict[str, str], name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(name, "").split(",") if p.strip())


def _number(env: dict[str, str], name: str, default: float, low: float, high: float,
            kind: type[int] | type[float], what: str) -> Any:
    raw = env.get(name, str(default))
    try:
        value = kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    return int(_number(env, name, default, low, high, int, "an integer"))


def _float(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    return float(_number(env, name, default, low, high, float, "a number"))


def _choice(env: dict[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default)
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _image_url(template: str | None) -> str | None:
    if template is None:
        return None
    if not template.startswith(("http://", "https://")) or "{sku}" not in template:
        raise SettingsError("PRODUCT_IMAGE_URL must be an http(s) URL containing {sku}, "
                            f"got {template!r}")
    return template


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ``).

    Raises:
        SettingsError: If a value is malformed or out of range.
    """
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("SHOP_DATA_DIR", "data")).resolve()
    raw_date = env.get("DEMO_AS_OF", "")
    try:
        as_of = dt.date.fromisoformat(raw_date) if raw_date else dt.date.today()
    except ValueError as exc:
        raise SettingsError(f"DEMO_AS_OF must be YYYY-MM-DD, got {raw_date!r}") from exc
    backend = _choice(env, "GRAPH_BACKEND", "oxigraph",
                      ("oxigraph", "rdflib", "rdflib-oxigraph", "remote"))
    endpoint = env.get("GRAPH_ENDPOINT") or None
    if backend == "remote" and not endpoint:
        raise SettingsError("GRAPH_BACKEND=remote needs GRAPH_ENDPOINT (the SPARQL query URL)")
    try:
        Experiment.parse("check", env.get("RECSYS_VARIANTS", "pipeline:50,popular:50"))
    except ConfigError as exc:
        raise SettingsError(f"RECSYS_VARIANTS: {exc}") from exc
    views = _list(env, "VISION_VIEWS") or ("center", "zoom")
    model = _choice(env, "VISION_MODEL", "lite0", tuple(BACKBONES))
    threshold = _float(env, "VISION_THRESHOLD", BACKBONES[model].threshold, -1.0, 1.0)
    floor = _float(env, "VISION_FLOOR", BACKBONES[model].floor, -1.0, 1.0)
    reject = _float(env, "VISION_REJECT", 0.75, 0.0, 1.0) if env.get("VISION_REJECT") else None
    floor_reject = _float(env, "VISION_FLOOR_REJECT", 0.10, 0.0, 1.0)
    if floor > threshold or (reject is not None and floor_reject > reject):
        raise SettingsError("VISION_FLOOR must not exceed VISION_THRESHOLD, nor "
                            "VISION_FLOOR_REJECT exceed VISION_REJECT")
    if bad := [v for v in views if v not in VIEWS]:
        raise SettingsError(f"VISION_VIEWS: unknown view(s) {', '.join(bad)}; "
                            f"choose from {', '.join(VIEWS)}")
    try:
        pricing = PricingConfig(
            actions=parse_actions(env.get("PRICING_ACTIONS", "-10,-5,0,5,10")),
            min_margin=_float(env, "PRICING_MIN_MARGIN", 0.05, 0.0, 5.0),
            ceiling=_float(env, "PRICING_CEILING", 1.25, 1.0, 3.0),
            max_step=_float(env, "PRICING_MAX_STEP", 0.10, 0.0, 1.0),
            period_hours=_float(env, "PRICING_PERIOD_HOURS", 24.0, 0.0, 24.0 * 366),
            shadow_share=_float(env, "PRICING_SHADOW_SHARE", 0.0, 0.0, 1.0),
            personalise=_list(env, "PRICING_PERSONALISE") if "PRICING_PERSONALISE" in env
            else ("segment", "sensitivity"),
            max_discount=_float(env, "PRICING_MAX_DISCOUNT", 0.15, 0.0, 0.9),
            discount=_float(env, "PRICING_LEARNING_DISCOUNT", 1.0, 0.9, 1.0),
            promotions=parse_promotions(env.get("PRICING_PROMOTIONS", "")),
            concessions_per_customer=_int(env, "LIMIT_CONCESSIONS_PER_CUSTOMER", 2, 0, 1000),
            concessions_per_client=_int(env, "LIMIT_CONCESSIONS_PER_CLIENT", 3, 0, 100_000),
            reward=Reward(sales_weight=_float(env, "PRICING_SALES_WEIGHT", 0.1, 0.0, 10.0),
                          change_penalty=_float(env, "PRICING_CHANGE_PENALTY", 0.5, 0.0,
                                                1000.0)))
        coupon_discounts = parse_shares(env["COUPON_DISCOUNTS"], "COUPON_DISCOUNTS") \
            if "COUPON_DISCOUNTS" in env else DEFAULT_DISCOUNTS
        coupon_uplift = parse_shares(env["COUPON_UPLIFT"], "COUPON_UPLIFT") \
            if "COUPON_UPLIFT" in env else DEFAULT_UPLIFT
    except PricingConfigError as exc:
        raise SettingsError(f"pricing: {exc}") from exc
    try:
        hours = BusinessHours.from_text(env.get("HANDOFF_HOURS", ""),
                                        timezone=env.get("HANDOFF_TIMEZONE", "UTC"))
    except InvalidHours as exc:
        raise SettingsError(f"HANDOFF_HOURS / HANDOFF_TIMEZONE: {exc}") from exc
    return Settings(
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'shop.db'}",
        graph_path=Path(env.get("GRAPH_PATH") or data_dir / "graph.ttl"),
        demo_seed=_int(env, "DEMO_SEED", 7, 0, 2**31 - 1),
        demo_as_of=as_of,
        return_window_days=_int(env, "RETURN_WINDOW_DAYS", 30, 0, 3650),
        return_postage_paid_by=_choice(env, "RETURN_POSTAGE_PAID_BY", "shop",
                                       ("shop", "customer")),
        default_currency_en=env.get("CURRENCY_EN", "USD"),
        default_currency_zh=env.get("CURRENCY_ZH", "CNY"),
        results_per_page=_int(env, "RESULTS_PER_PAGE", 5, 1, 20),
        dependency_timeout_seconds=_float(env, "DEPENDENCY_TIMEOUT_SECONDS", 1.5, 0.05, 30.0),
        breaker_failures=_int(env, "BREAKER_FAILURES", 3, 1, 100),
        breaker_reset_seconds=_float(env, "BREAKER_RESET_SECONDS", 30.0, 0.1, 3600.0),
        database_timeout_seconds=_float(env, "DATABASE_TIMEOUT_SECONDS", 3.0, 0.1, 60.0),
        vision_timeout_seconds=_float(env, "VISION_TIMEOUT_SECONDS", 10.0, 0.05, 120.0),
        graph_backend=backend,
        graph_endpoint=endpoint,
        action_server_token=env.get("ACTION_SERVER_TOKEN") or None,
        product_image_url=_image_url(env.get("PRODUCT_IMAGE_URL") or None),
        actions_host=env.get("ACTIONS_HOST", "127.0.0.1"),
        metrics_token=metrics_token(env, error=SettingsError),
        action_max_body=_int(env, "ACTION_MAX_BODY_BYTES", 4 * 1024 * 1024, 64 * 1024,
                             256 * 1024 * 1024),
        lookup_failures_per_conversation=_int(env, "LIMIT_LOOKUP_FAILURES_PER_CONVERSATION",
                                              5, 1, 1000),
        lookup_failures_per_client=_int(env, "LIMIT_LOOKUP_FAILURES_PER_CLIENT", 20, 1,
                                        100_000),
        recsys_dir=Path(env.get("RECSYS_DIR") or data_dir / "recsys"),
        recsys_experiment=env.get("RECSYS_EXPERIMENT", ""),
        recsys_variants=env.get("RECSYS_VARIANTS", "pipeline:50,popular:50"),
        recsys_pinned=_list(env, "RECSYS_PINNED"),
        recsys_excluded=_list(env, "RECSYS_EXCLUDED"),
        recsys_diversity=_float(env, "RECSYS_DIVERSITY", 0.3, 0.0, 1.0),
        recsys_reload_seconds=_int(env, "RECSYS_RELOAD_SECONDS", 5, 0, 86400),
        embedding_cache=Path(env.get("EMBEDDING_CACHE")
                             or data_dir / "cache" / "product_embeddings.npz"),
        media_dir=Path(env.get("MEDIA_DIR") or data_dir / "media"),
        media_db_url=env.get("MEDIA_DB_URL") or None,
        vision_dir=Path(env.get("VISION_DIR") or data_dir / "vision"),
        vision_threshold=threshold,
        vision_floor=floor,
        vision_reject=reject,
        vision_floor_reject=floor_reject,
        vision_decision=_choice(env, "VISION_DECISION", "ratio", DECISIONS),
        vision_document_limit=_float(env, "VISION_DOCUMENT_LIMIT", 0.3, 0.01, 1.0),
        vision_model=model,
        vision_views=views,
        vision_color=_float(env, "VISION_COLOR", 0.5, 0.0, 4.0),
        vision_projection=_choice(env, "VISION_PROJECTION", "lda", ("lda", "whiten", "off")),
        vision_shrinkage=_float(env, "VISION_SHRINKAGE", 0.3, 0.0, 1.0),
        vision_threads=_int(env, "VISION_THREADS", 2, 1, 64),
        vision_reload_seconds=_int(env, "VISION_RELOAD_SECONDS", 5, 0, 86400),
        vision_tuned=_choice(env, "VISION_TUNED", "auto", ("auto", "off")),
        vision_tune_epochs=_int(env, "VISION_TUNE_EPOCHS", 8, 1, 100),
        upload_max_bytes=_int(env, "UPLOAD_MAX_BYTES", 10 * 1024 * 1024, 1024, 100 * 1024**2),
        upload_max_pixels=_int(env, "UPLOAD_MAX_PIXELS", 40_000_000, 1024, 500_000_000),
        pricing=pricing,
        pricing_dir=Path(env.get("PRICING_DIR") or data_dir / "pricing"),
        pricing_policy=_choice(env, "PRICING_POLICY", "thompson", ("thompson", "dqn")),
        pricing_reload_seconds=_int(env, "PRICING_RELOAD_SECONDS", 5, 0, 86400),
        pricing_attribution_days=_int(env, "PRICING_ATTRIBUTION_DAYS", 14, 1, 365),
        coupon_budget=_float(env, "COUPON_BUDGET", 500.0, 0.0, 1e9),
        coupon_period_days=_int(env, "COUPON_PERIOD_DAYS", 30, 1, 366),
        coupon_valid_days=_int(env, "COUPON_VALID_DAYS", 14, 1, 366),
        coupon_discounts=tuple(coupon_discounts.items()),
        coupon_uplift=tuple(coupon_uplift.items()),
        handoff_db_url=env.get("HANDOFF_DB_URL") or f"sqlite:///{data_dir / 'handoff.db'}",
        handoff_hours=hours,
        handoff_wait_timeout=_int(env, "HANDOFF_WAIT_TIMEOUT", 600, 10, 7 * 86400),
        handoff_default_wait=_int(env, "HANDOFF_DEFAULT_WAIT", 120, 1, 86400),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()
