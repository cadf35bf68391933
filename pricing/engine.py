"""Quotes, discounts and one round of negotiation: the policy inside the guardrails.

:class:`PricingEngine` is what the assistant calls. For a price question it
builds the context, lets the policy pick a price action, passes the price
through the guardrails, decides shadow or live, records the quote in the
ledger (the audit trail) and returns a typed :class:`Quote`. A product keeps
one price per conversation: a second question gets the recorded quote back.
Discounts and negotiated prices are single-use coupons, so the quoted price
itself never changes within a conversation and every concession is audited
and redeemable once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np

from pricing.config import PricingConfig
from pricing.context import Context, Featurizer
from pricing.coupons import Allocation
from pricing.guardrails import NO_COST, Guardrails, PriceState
from pricing.policies import Policy

QUOTE, NEGOTIATION, COUPON = "quote", "negotiation", "coupon"


@dataclass(frozen=True)
class ProductFacts:
    """What the shop knows about a product it prices (base currency).

    Attributes:
        sku: Product id.
        list_price: Catalog price; ``None`` for "price on request".
        cost: Unit cost; ``None`` when unknown.
        currency: Currency of ``list_price`` and ``cost``.
        category: Category key.
        brand: Brand key.
        stock: Units in stock.
        weekly_sales: Units sold per week recently.
        competitor_price: A competitor's price, when known.
    """

    sku: str
    list_price: float | None
    cost: float | None
    currency: str
    category: str
    brand: str | None = None
    stock: int = 0
    weekly_sales: float = 0.0
    competitor_price: float | None = None


@dataclass(frozen=True)
class Shopper:
    """Who asks: a known customer's segment and price sensitivity, or nobody known."""

    customer_id: str | None = None
    segment: str | None = None
    sensitivity: float | None = None
    client: str | None = None


class QuoteStatus(str, Enum):
    """How a quote's price was decided."""

    LIVE = "live"              # the policy's price, within the guardrails
    SHADOW = "shadow"          # the policy's choice logged; the list price quoted
    NO_COST = "no_cost"        # no cost data: the list price, and the reason logged
    NO_POLICY = "no_policy"    # no trained policy yet: the list price
    ON_REQUEST = "on_request"  # the product has no list price


@dataclass(frozen=True)
class QuoteRecord:
    """One audited pricing decision (a quote, a negotiated price or a coupon)."""

    conversation_id: str
    sku: str
    kind: str
    currency: str
    list_price: float | None
    cost: float | None
    price: float | None
    action: float | None
    policy_action: float | None
    status: str
    adjustments: tuple[str, ...]
    policy_kind: str
    policy_version: str
    shadow: bool
    context: dict[str, Any]
    created_at: dt.datetime
    customer_id: str | None = None
    segment: str | None = None
    coupon: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Quote:
    """The price quoted for a product in a conversation.

    Attributes:
        sku: Product id.
        price: Price to quote (base currency); ``None`` for price on request.
        list_price: Catalog price.
        currency: Currency of the prices.
        status: How the price was decided.
        adjustments: What the guardrails changed.
        policy_version: Version of the policy that decided.
        repeated: True when this conversation was quoted this product before.
    """

    sku: str
    price: float | None
    list_price: float | None
    currency: str
    status: QuoteStatus
    adjustments: tuple[str, ...] = ()
    policy_version: str = ""
    repeated: bool = False

    @property
    def factor(self) -> float:
        """``price / list_price`` (1 when either is missing)."""
        if self.price is None or not self.list_price:
            return 1.0
        return self.price / self.list_price

    @property
    def discount(self) -> float:
        """Share below list price (0 when at or above it)."""
        return max(0.0, 1.0 - self.factor)


class OfferStatus(str, Enum):
    """Outcome of a discount request or a negotiation."""

    COUPON = "coupon"                  # a new single-use coupon
    EXISTING = "existing"              # the coupon already given in this conversation
    LOWEST = "lowest"                  # already the lowest price the rules allow
    NOT_ELIGIBLE = "not_eligible"      # no coupon for this customer (segment, anonymous)
    BUDGET_SPENT = "budget_spent"      # the coupon budget of the period is used up
    LIMIT = "limit"                    # this customer or client had its coupons for today
    ALREADY_NEGOTIATED = "negotiated"  # one round of negotiation per product is over
    NO_PRICE = "no_price"              # nothing to discount (price on request, no product)


@dataclass(frozen=True)
class Coupon:
    """A single-use coupon.

    Attributes:
        code: The code to enter at checkout.
        discount: Share off the price it applies to.
        sku: The product it is for (``None``: any product).
        price_after: The product's price with the coupon.
        currency: Currency of ``price_after`` and ``value``.
        value: The most the coupon can cost the shop.
        expires_at: Last moment it can be redeemed.
        segment: Segment it was allocated to ("" for a negotiated price).
    """

    code: str
    discount: float
    sku: str | None
    price_after: float | None
    currency: str
    value: float
    expires_at: dt.datetime
    segment: str = ""
    customer_id: str | None = None
    conversation_id: str = ""
    issued_at: dt.datetime | None = None
    redeemed_at: dt.datetime | None = None
    client: str | None = None


@dataclass(frozen=True)
class Offer:
    """What the assistant can offer: a coupon or an honest reason why not."""

    status: OfferStatus
    coupon: Coupon | None = None
    quote: Quote | None = None


class Ledger(Protocol):
    """Where quotes, price states and coupons are kept (``shop.pricing`` implements it)."""

    def find_quote(self, conversation_id: str, sku: str, kind: str) -> QuoteRecord | None:
        """The conversation's latest record of ``kind`` for ``sku``."""
        ...

    def add_quote(self, record: QuoteRecord) -> int:
        """Store ``record``; returns its id."""
        ...

    def price_state(self, sku: str, cell: str) -> PriceState | None:
        """The cell's current live price."""
        ...

    def set_price_state(self, sku: str, cell: str, state: PriceState) -> None:
        """Record a new live price."""
        ...

    def coupon_in(self, conversation_id: str, sku: str | None, segment: str | None
                  ) -> Coupon | None:
        """The coupon already given in this conversation (for this product, or storewide)."""
        ...

    def coupons_since(self, since: dt.datetime) -> list[Coupon]:
        """Coupons issued since ``since``."""
        ...

    def issue(self, coupon: Coupon) -> None:
        """Store a new coupon."""
        ...


@dataclass(frozen=True)
class LoadedPolicy:
    """A trained policy with what it needs to read contexts."""

    policy: Policy
    version: str
    featurizer: Featurizer


@dataclass(frozen=True)
class CouponPlan:
    """Coupon allocation of the current period.

    Attributes:
        allocations: Coupons per segment (:func:`pricing.coupons.allocate`).
        budget: Money for coupon discounts per period.
        period_days: Length of a budget period.
        valid_days: How long a coupon stays redeemable.
        order_value: Typical order value per segment (values storewide coupons).
    """

    allocations: Mapping[str, Allocation] = field(default_factory=dict)
    budget: float = 0.0
    period_days: int = 30
    valid_days: int = 14
    order_value: Mapping[str, float] = field(default_factory=dict)


class PricingEngine:
    """Decides, bounds, records and explains prices.

    Args:
        config: Price actions and limits.
        ledger: Quote, price-state and coupon storage.
        policy: Returns the current trained policy, or ``None`` before training.
        coupons: Returns the period's coupon plan.
        clock: Current time (UTC, naive), replaceable in tests.
    """

    def __init__(self, *, config: PricingConfig, ledger: Ledger,
                 policy: Callable[[], LoadedPolicy | None],
                 coupons: Callable[[], CouponPlan] = CouponPlan,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.config = config
        self.guardrails = Guardrails(config)
        self.ledger = ledger
        self._policy = policy
        self._coupons = coupons
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))

    # --- quotes -------------------------------------------------------------------------

    def _loaded_policy(self) -> LoadedPolicy | None:
        """The current policy, or ``None`` when there is none or it was trained for other
        price actions than the configured ones (then the list price is quoted)."""
        loaded = self._policy()
        if loaded is not None and loaded.policy.n_actions != len(self.config.actions):
            return None
        return loaded

    def context(self, product: ProductFacts, shopper: Shopper, now: dt.datetime) -> Context:
        """The decision's context, personal attributes limited to the configured ones."""
        competitor = (product.competitor_price / product.list_price
                      if product.competitor_price and product.list_price else None)
        margin = (1.0 - product.cost / product.list_price
                  if product.cost is not None and product.list_price else None)
        return Context(category=product.category, brand=product.brand,
                       weekly_sales=product.weekly_sales, stock=product.stock,
                       competitor_ratio=competitor, segment=shopper.segment,
                       sensitivity=shopper.sensitivity, when=now,
                       promotion=self.config.in_promotion(now),
                       margin=margin).personal(self.config.personalise)

    def quote(self, product: ProductFacts, *, conversation_id: str,
              shopper: Shopper = Shopper()) -> Quote:
        """The price of ``product`` in this conversation (recorded; same price if asked again)."""
        earlier = self.ledger.find_quote(conversation_id, product.sku, QUOTE)
        if earlier is not None:
            return _quote_of(earlier, repeated=True)
        now = self._clock()
        context = self.context(product, shopper, now)
        loaded = self._loaded_policy()
        version = loaded.version if loaded else ""
        kind = loaded.policy.kind if loaded else ""
        base: dict[str, Any] = dict(
            conversation_id=conversation_id, sku=product.sku, kind=QUOTE,
            currency=product.currency, list_price=product.list_price, cost=product.cost,
            policy_kind=kind, policy_version=version, context=context.as_record(),
            created_at=now, customer_id=shopper.customer_id, segment=context.segment)
        if product.list_price is None:
            record = QuoteRecord(**base, price=None, action=None, policy_action=None,
                                 status=QuoteStatus.ON_REQUEST.value, adjustments=(),
                                 shadow=False)
            self.ledger.add_quote(record)
            return _quote_of(record)
        list_price = product.list_price
        shadow = _share(f"shadow:{conversation_id}") < self.config.shadow_share
        policy_action: float | None = None
        if loaded is not None and product.cost is not None:
            x = loaded.featurizer(context)[None, :]
            rng = np.random.default_rng(_seed(conversation_id, product.sku, version))
            index = int(loaded.policy.choose(x, rng)[0])
            policy_action = self.config.actions[index]
        cell = context.cell()
        # shadow traffic is quoted the list price (only the floor and ceiling apply) and
        # leaves the live price state alone
        previous = None if shadow else self.ledger.price_state(product.sku, cell)
        proposed = list_price if shadow else list_price * (1.0 + (policy_action or 0.0))
        guarded = self.guardrails.apply(proposed, list_price=list_price, cost=product.cost,
                                        previous=previous, now=now)
        status = (QuoteStatus.NO_COST if NO_COST in guarded.adjustments else
                  QuoteStatus.NO_POLICY if loaded is None else
                  QuoteStatus.SHADOW if shadow else QuoteStatus.LIVE)
        record = QuoteRecord(**base, price=guarded.price,
                             action=round(guarded.price / list_price - 1.0, 6),
                             policy_action=policy_action, status=status.value,
                             adjustments=guarded.adjustments, shadow=shadow)
        self.ledger.add_quote(record)
        if not shadow and (previous is None or abs(previous.price - guarded.price) >= 0.005):
            self.ledger.set_price_state(product.sku, cell, PriceState(guarded.price, now))
        return _quote_of(record)

    # --- discounts and negotiation ------------------------------------------------------

    def discount(self, product: ProductFacts | None, *, conversation_id: str,
                 shopper: Shopper = Shopper()) -> Offer:
        """Answer "any discount?": the customer's segment coupon when the budget allows."""
        quote = self.quote(product, conversation_id=conversation_id, shopper=shopper) \
            if product is not None else None
        if quote is not None and quote.price is None:
            return Offer(OfferStatus.NO_PRICE, quote=quote)
        sku = product.sku if product is not None else None
        given = self.ledger.coupon_in(conversation_id, sku, None)
        if given is not None:
            return Offer(OfferStatus.EXISTING, given, quote)
        plan = self._coupons()
        # coupons target segments: only when the shop allows personalising on them
        segment = shopper.segment if "segment" in self.config.personalise else None
        allocation = plan.allocations.get(segment or "")
        if shopper.customer_id is None or segment is None or allocation is None:
            return Offer(OfferStatus.NOT_ELIGIBLE, quote=quote)
        now = self._clock()
        issued = self.ledger.coupons_since(now - dt.timedelta(days=plan.period_days))
        if self._over_concession_limit(shopper, issued, now):
            return Offer(OfferStatus.LIMIT, quote=quote)
        if sum(1 for c in issued if c.segment == segment) >= allocation.coupons:
            return Offer(OfferStatus.BUDGET_SPENT, quote=quote)
        rate = min(allocation.discount, self.config.max_discount)
        if product is not None and quote is not None and quote.price is not None:
            target = self._lowest(product, quote.price * (1.0 - rate), quote.price)
            if target is None:
                return Offer(OfferStatus.LOWEST, quote=quote)
            value = quote.price - target
            coupon = self._coupon(rate=value / quote.price, sku=sku, price_after=target,
                                  currency=product.currency, value=value, segment=segment,
                                  shopper=shopper, conversation_id=conversation_id, now=now,
                                  valid_days=plan.valid_days)
        else:
            value = rate * plan.order_value.get(segment, 0.0)
            coupon = self._coupon(rate=rate, sku=None, price_after=None, currency="",
                                  value=value, segment=segment, shopper=shopper,
                                  conversation_id=conversation_id, now=now,
                                  valid_days=plan.valid_days)
        if sum(c.value for c in issued) + coupon.value > plan.budget + 1e-9:
            return Offer(OfferStatus.BUDGET_SPENT, quote=quote)
        self.ledger.issue(coupon)
        self._audit_coupon(product, coupon, conversation_id, shopper, COUPON, now)
        return Offer(OfferStatus.COUPON, coupon, quote)

    def negotiate(self, product: ProductFacts, *, conversation_id: str,
                  shopper: Shopper = Shopper()) -> Offer:
        """Answer "can you do better?" once per product and conversation.

        A coupon already given for the product in this conversation counts as the
        one concession. Otherwise the policy picks, among the price actions below
        the quoted price, the one it expects to earn most; the guardrails and
        ``max_discount`` bound it. The concession is a single-use coupon for this
        product.
        """
        quote = self.quote(product, conversation_id=conversation_id, shopper=shopper)
        if quote.price is None or quote.list_price is None:
            return Offer(OfferStatus.NO_PRICE, quote=quote)
        given = self.ledger.coupon_in(conversation_id, product.sku, None)
        if given is not None or \
                self.ledger.find_quote(conversation_id, product.sku, NEGOTIATION) is not None:
            # one concession per product and conversation: a coupon already given counts
            return Offer(OfferStatus.ALREADY_NEGOTIATED, given, quote)
        now = self._clock()
        plan = self._coupons()
        issued = self.ledger.coupons_since(now - dt.timedelta(days=plan.period_days))
        if self._over_concession_limit(shopper, issued, now):
            return Offer(OfferStatus.LIMIT, quote=quote)
        lower = [i for i, a in enumerate(self.config.actions)
                 if quote.list_price * (1.0 + a) < quote.price - 0.005]
        chosen: float | None = None
        if lower:
            loaded = self._loaded_policy()
            if loaded is not None and hasattr(loaded.policy, "expected"):
                x = loaded.featurizer(self.context(product, shopper, now))[None, :]
                values = np.asarray(loaded.policy.expected(x))[0]
                best = max(lower, key=lambda i: (values[i], i))
            else:
                best = max(lower)  # the smallest concession
            chosen = self._lowest(product, quote.list_price * (1.0 + self.config.actions[best]),
                                  quote.price)
        if chosen is None:
            self._record_negotiation(product, quote, None, conversation_id, shopper, now)
            return Offer(OfferStatus.LOWEST, quote=quote)
        value = quote.price - chosen
        if sum(c.value for c in issued) + value > plan.budget + 1e-9:
            self._record_negotiation(product, quote, None, conversation_id, shopper, now)
            return Offer(OfferStatus.BUDGET_SPENT, quote=quote)
        coupon = self._coupon(rate=value / quote.price, sku=product.sku, price_after=chosen,
                              currency=product.currency, value=value, segment="",
                              shopper=shopper, conversation_id=conversation_id, now=now,
                              valid_days=plan.valid_days)
        self.ledger.issue(coupon)
        self._record_negotiation(product, quote, coupon, conversation_id, shopper, now)
        return Offer(OfferStatus.COUPON, coupon, quote)

    def _over_concession_limit(self, shopper: Shopper, issued: list[Coupon],
                               now: dt.datetime) -> bool:
        """Whether the customer, or the client they write from, had today's coupons.

        ``issued`` are the coupons of the budget period (at least a day), read once
        per request for this check and the budget's.
        """
        since = now - dt.timedelta(days=1)
        today = [c for c in issued if c.issued_at is not None and c.issued_at >= since]
        if shopper.customer_id is not None and sum(
                1 for c in today if c.customer_id == shopper.customer_id) \
                >= self.config.concessions_per_customer:
            return True
        return shopper.client is not None and sum(
            1 for c in today if c.client == shopper.client) >= self.config.concessions_per_client

    def _lowest(self, product: ProductFacts, target: float, current: float) -> float | None:
        """``target`` raised to the floor and to ``max_discount``; ``None`` unless it is
        at least a cent below ``current`` (or the cost is unknown: no concession)."""
        if product.cost is None or product.list_price is None:
            return None
        bound = max(self.guardrails.floor(product.cost),
                    product.list_price * (1.0 - self.config.max_discount))
        price = round(max(target, bound), 2)
        return price if price <= current - 0.01 else None

    def _coupon(self, *, rate: float, sku: str | None, price_after: float | None,
                currency: str, value: float, segment: str, shopper: Shopper,
                conversation_id: str, now: dt.datetime, valid_days: int) -> Coupon:
        return Coupon(code="SAVE-" + secrets.token_hex(4).upper(), discount=round(rate, 4),
                      sku=sku, price_after=price_after, currency=currency,
                      value=round(value, 2), expires_at=now + dt.timedelta(days=valid_days),
                      segment=segment, customer_id=shopper.customer_id,
                      conversation_id=conversation_id, issued_at=now, client=shopper.client)

    def _record_negotiation(self, product: ProductFacts, quote: Quote, coupon: Coupon | None,
                            conversation_id: str, shopper: Shopper, now: dt.datetime) -> None:
        self._audit_coupon(product, coupon, conversation_id, shopper, NEGOTIATION, now,
                           quote=quote)

    def _audit_coupon(self, product: ProductFacts | None, coupon: Coupon | None,
                      conversation_id: str, shopper: Shopper, kind: str, now: dt.datetime,
                      quote: Quote | None = None) -> None:
        loaded = self._policy()
        price = coupon.price_after if coupon and coupon.price_after is not None else (
            quote.price if quote else None)
        list_price = product.list_price if product else None
        self.ledger.add_quote(QuoteRecord(
            conversation_id=conversation_id, sku=product.sku if product else "", kind=kind,
            currency=product.currency if product else "", list_price=list_price,
            cost=product.cost if product else None, price=price,
            action=round(price / list_price - 1.0, 6) if price and list_price else None,
            policy_action=None, status=("coupon" if coupon else "refused"), adjustments=(),
            policy_kind=loaded.policy.kind if loaded else "",
            policy_version=loaded.version if loaded else "", shadow=False,
            context={"discount": coupon.discount if coupon else 0.0}, created_at=now,
            customer_id=shopper.customer_id, segment=shopper.segment,
            coupon=coupon.code if coupon else None))


def _quote_of(record: QuoteRecord, *, repeated: bool = False) -> Quote:
    return Quote(sku=record.sku, price=record.price, list_price=record.list_price,
                 currency=record.currency, status=QuoteStatus(record.status),
                 adjustments=record.adjustments, policy_version=record.policy_version,
                 repeated=repeated)


def _share(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (the same for every process and run)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16 ** 12)


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16], 16)

