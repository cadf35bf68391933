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
import math
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any, Protocol

import numpy as np

from pricing.config import PricingConfig
from pricing.context import Context, Featurizer
from pricing.coupons import Allocation
from pricing.guardrails import Guardrails, PriceState
from pricing.policies import Policy

QUOTE, NEGOTIATION, COUPON, PUBLISH = "quote", "negotiation", "coupon", "publish"
#: The price-state cell of a product's published price (the same for everyone).
PUBLIC = ""
#: Adjustment noted on a quote below the published price for one customer.
PERSONAL = "personal"
#: Adjustment noted on a quote that took the price of another variant quoted before.
VARIANT = "variant"
_EPOCH = dt.datetime(1970, 1, 1)


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
        price_group: Products priced together (the variants of one model at one list
            price); their published prices are decided alike ("" for none), with
            ``stock`` and ``weekly_sales`` theirs together.
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
    price_group: str = ""


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
        published: The product's published price when it was quoted (everyone's
            price that period; the quote is never above it).
        previous: The price this conversation was quoted in an earlier period, when
            this quote replaces it because everyone's price is lower now (the answer
            says so); ``None`` otherwise.
    """

    sku: str
    price: float | None
    list_price: float | None
    currency: str
    status: QuoteStatus
    adjustments: tuple[str, ...] = ()
    policy_version: str = ""
    repeated: bool = False
    published: float | None = None
    previous: float | None = None

    @property
    def factor(self) -> float:
        """``price / list_price`` (1 when either is missing)."""
        if self.price is None or not self.list_price:
            return 1.0
        return self.price / self.list_price

    @property
    def published_factor(self) -> float:
        """``published / list_price``: the published price as other currencies show it."""
        if self.published is None or not self.list_price:
            return self.factor
        return self.published / self.list_price

    @property
    def discount(self) -> float:
        """Share below the published price (0 when at it): a personal discount."""
        if self.price is None or not self.published:
            return 0.0
        return max(0.0, 1.0 - self.price / self.published)


@dataclass(frozen=True)
class Published:
    """A product's published price in a period: the same for every customer and surface.

    Attributes:
        sku: Product id.
        price: The price (base currency); ``None`` for price on request.
        list_price: The catalog price it was decided against.
        currency: Currency of the prices.
        status: How it was decided (live policy, shadow, no cost, no policy).
        decided_at: Start of the period it was decided for.
        changed: True when this call decided a new price.
        adjustments: What the guardrails changed.
    """

    sku: str
    price: float | None
    list_price: float | None
    currency: str
    status: QuoteStatus
    decided_at: dt.datetime | None = None
    changed: bool = False
    adjustments: tuple[str, ...] = ()

    @property
    def factor(self) -> float:
        """``price / list_price`` (1 when either is missing)."""
        if self.price is None or not self.list_price:
            return 1.0
        return self.price / self.list_price


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

    def by_conversation(self, conversation_id: str) -> list[QuoteRecord]:
        """Every record of a conversation, oldest first."""
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

    def now(self) -> dt.datetime:
        """The engine's clock (UTC, naive)."""
        return self._clock()

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

    def period_start(self, now: dt.datetime) -> dt.datetime:
        """Start of the pricing period holding ``now`` (periods count from 1970-01-01 UTC,
        so every process agrees on them: with 24 hours, each day at midnight UTC)."""
        hours = self.config.period_hours
        n = math.floor((now - _EPOCH).total_seconds() / (hours * 3600.0))
        return _EPOCH + dt.timedelta(hours=hours * n)

    def published(self, product: ProductFacts, *, now: dt.datetime | None = None) -> Published:
        """The product's price for everyone in the current period (decided once per period).

        The first call of a period decides it: the policy picks a price action on the
        context without anything personal (the day, the product, its sales, stock,
        competitors, promotions), the guardrails bound it (one change per period, a
        bounded step, the floor and the ceiling) and the decision is audited (kind
        ``publish``). Later calls read it back. The storefront shows this price, lists
        and cards show it, and a quote is never above it. The decision is the same in
        every process (its random draw is seeded by product, period and policy
        version), so two servers deciding at once write the same price.
        """
        now = now or self._clock()
        if product.list_price is None:
            return Published(product.sku, None, None, product.currency,
                             QuoteStatus.ON_REQUEST)
        list_price = product.list_price
        start = self.period_start(now)
        state = self.ledger.price_state(product.sku, PUBLIC)
        loaded = self._loaded_policy()
        shadow = _share(f"shadow:{product.price_group or product.sku}:{start.isoformat()}") \
            < self.config.shadow_share
        status = (QuoteStatus.NO_COST if product.cost is None else
                  QuoteStatus.NO_POLICY if loaded is None else
                  QuoteStatus.SHADOW if shadow else QuoteStatus.LIVE)
        if state is not None and state.decided_at is not None and state.decided_at >= start:
            return Published(product.sku, _follow(state, list_price), list_price,
                             product.currency, status, decided_at=state.decided_at)
        group = _group_key(product.price_group)
        decided = self.ledger.price_state(group, PUBLIC) if group else None
        if decided is not None and decided.decided_at is not None and \
                decided.decided_at >= start:  # another variant decided it: the same price
            price = _follow(decided, list_price)
            if product.cost is not None:  # the floor is this variant's own, and strongest
                price = max(price, self.guardrails.floor(product.cost))
            self.ledger.set_price_state(product.sku, PUBLIC, PriceState(
                price, decided.changed_at, decided_at=start, list_price=list_price))
            return Published(product.sku, price, list_price, product.currency, status,
                             decided_at=start)
        context = self.context(product, Shopper(), now).personal(())
        policy_action: float | None = None
        if loaded is not None and product.cost is not None:
            x = loaded.featurizer(context)[None, :]
            rng = np.random.default_rng(_seed(product.price_group or product.sku,
                                              start.isoformat(), loaded.version))
            policy_action = self.config.actions[int(loaded.policy.choose(x, rng)[0])]
        previous = None if state is None else PriceState(_follow(state, list_price),
                                                          state.changed_at)
        proposed = list_price * (1.0 + (0.0 if shadow else policy_action or 0.0))
        guarded = self.guardrails.apply(proposed, list_price=list_price, cost=product.cost,
                                        previous=previous, now=start)
        changed = previous is None or abs(previous.price - guarded.price) >= 0.005
        decision = PriceState(guarded.price,
                              start if changed or previous is None else previous.changed_at,
                              decided_at=start, list_price=list_price)
        self.ledger.set_price_state(product.sku, PUBLIC, decision)
        if group:  # the other variants at this list price follow it
            self.ledger.set_price_state(group, PUBLIC, decision)
        self.ledger.add_quote(QuoteRecord(
            conversation_id="", sku=product.sku, kind=PUBLISH, currency=product.currency,
            list_price=list_price, cost=product.cost, price=guarded.price,
            action=round(guarded.price / list_price - 1.0, 6), policy_action=policy_action,
            status=status.value, adjustments=guarded.adjustments,
            policy_kind=loaded.policy.kind if loaded else "",
            policy_version=loaded.version if loaded else "", shadow=shadow,
            context={**context.as_record(), "period": start.isoformat(),
                     "previous": previous.price if previous else None}, created_at=now))
        return Published(product.sku, guarded.price, list_price, product.currency, status,
                         decided_at=start, changed=changed, adjustments=guarded.adjustments)

    def publish(self, products: Iterable[ProductFacts], *,
                progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Decide the current period's published price of every product (idempotent: a
        product already decided this period is read back). Returns counts by outcome."""
        counts = {"products": 0, "changed": 0, "above_list": 0, "below_list": 0}
        for product in products:
            done = self.published(product)
            counts["products"] += 1
            counts["changed"] += done.changed
            if done.price is not None and done.list_price:
                counts["above_list"] += done.price > done.list_price + 0.005
                counts["below_list"] += done.price < done.list_price - 0.005
            if progress is not None:
                progress(counts["products"])
        return counts

    def quote(self, product: ProductFacts, *, conversation_id: str,
              shopper: Shopper = Shopper()) -> Quote:
        """The price of ``product`` in this conversation (recorded; same price if asked again).

        It is the published price, or less: when the shop allows personal pricing and
        knows something about the customer (segment, price sensitivity), the policy
        may pick a lower price for them (never a higher one); the guardrails' floor
        still holds. A conversation in shadow mode logs that choice and gets the
        published price. A quote of an earlier period is repeated while it is not above
        the period's published price; else a new quote replaces it, with the earlier
        price as ``previous``.
        """
        earlier = self.ledger.find_quote(conversation_id, product.sku, QUOTE)
        now = self._clock()
        if earlier is not None and (earlier.price is None or
                                    earlier.created_at >= self.period_start(now)):
            return _quote_of(earlier, repeated=True)
        published = self.published(product, now=now)
        if earlier is not None and earlier.price is not None and (
                published.price is None or earlier.price <= published.price + 0.005):
            # a quote of an earlier period holds while it is not above everyone's price
            return _quote_of(earlier, repeated=True)
        previous = earlier.price if earlier is not None else None
        context = self.context(product, shopper, now)
        loaded = self._loaded_policy()
        version = loaded.version if loaded else ""
        kind = loaded.policy.kind if loaded else ""
        base: dict[str, Any] = dict(
            conversation_id=conversation_id, sku=product.sku, kind=QUOTE,
            currency=product.currency, list_price=product.list_price, cost=product.cost,
            policy_kind=kind, policy_version=version,
            context={**context.as_record(), "published": published.price,
                     "price_group": product.price_group},
            created_at=now, customer_id=shopper.customer_id, segment=context.segment)
        if product.list_price is None or published.price is None:
            record = QuoteRecord(**base, price=None, action=None, policy_action=None,
                                 status=QuoteStatus.ON_REQUEST.value, adjustments=(),
                                 shadow=False)
            self.ledger.add_quote(record)
            return _quote_of(record)
        list_price = product.list_price
        shadow = _share(f"shadow:{conversation_id}") < self.config.shadow_share
        price, adjustments = published.price, published.adjustments
        policy_action: float | None = None
        sibling = self._sibling_quote(conversation_id, product)
        if sibling is not None:  # another colour or size of it was quoted: the same price
            price = min(published.price, round(list_price * sibling, 2))
            adjustments = (VARIANT, *((PERSONAL,) if price < published.price - 0.005 else ()))
        x = loaded.featurizer(context)[None, :] if loaded is not None else None
        # a customer the policy sees something personal about (their features are not
        # everyone's) may get its own choice, when that is lower
        if sibling is None and loaded is not None and x is not None and \
                product.cost is not None and \
                not np.array_equal(x, loaded.featurizer(context.personal(()))[None, :]):
            rng = np.random.default_rng(_seed(conversation_id, product.sku, version))
            policy_action = self.config.actions[int(loaded.policy.choose(x, rng)[0])]
            proposed = list_price * (1.0 + policy_action)
            if not shadow and proposed < price - 0.005:
                guarded = self.guardrails.apply(proposed, list_price=list_price,
                                                cost=product.cost)
                if guarded.price < price - 0.005:  # personal moves only ever go down
                    price, adjustments = guarded.price, (PERSONAL, *guarded.adjustments)
        shadowed = shadow or (published.status is QuoteStatus.SHADOW
                              and PERSONAL not in adjustments)
        status = (QuoteStatus.NO_COST if product.cost is None else
                  QuoteStatus.NO_POLICY if loaded is None else
                  QuoteStatus.SHADOW if shadowed else QuoteStatus.LIVE)
        record = QuoteRecord(**base, price=price, action=round(price / list_price - 1.0, 6),
                             policy_action=policy_action, status=status.value,
                             adjustments=tuple(adjustments), shadow=shadow)
        self.ledger.add_quote(record)
        return replace(_quote_of(record), previous=previous)

    def _sibling_quote(self, conversation_id: str, product: ProductFacts) -> float | None:
        """Price over list price of another variant of ``product``'s price group already
        quoted in this conversation, or ``None``."""
        if not product.price_group:
            return None
        for record in reversed(self.ledger.by_conversation(conversation_id)):
            if record.kind == QUOTE and record.sku != product.sku and record.price and \
                    record.list_price and \
                    record.context.get("price_group") == product.price_group:
                return record.price / record.list_price
        return None

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
    published = record.context.get("published", record.list_price)
    return Quote(sku=record.sku, price=record.price, list_price=record.list_price,
                 currency=record.currency, status=QuoteStatus(record.status),
                 adjustments=record.adjustments, policy_version=record.policy_version,
                 repeated=repeated,
                 published=float(published) if isinstance(published, (int, float)) else None)


def at_ratio(amount: Decimal, currency: str, factor: float) -> Decimal:
    """``amount`` (a list price in ``currency``) at ``factor`` times its list price, rounded
    as every surface shows it: cents, or whole yuan when it is the list price itself.

    Prices are decided in the catalog's base currency; other currencies keep the
    same ratio to their own list price, so the storefront, the chat and the desk
    show one number."""
    if abs(factor - 1.0) < 1e-9:
        factor = 1.0
    cent = Decimal(1) if currency == "CNY" and factor == 1.0 else Decimal("0.01")
    return (amount * Decimal(repr(factor))).quantize(cent, rounding=ROUND_HALF_UP)


def published_ratios(states: Mapping[str, PriceState]) -> dict[str, float]:
    """Published price over list price per SKU, from the states of cell :data:`PUBLIC`
    (states without a recorded list price, from before prices were published, count
    as the list price)."""
    return {sku: s.price / s.list_price for sku, s in states.items()
            if s.decided_at is not None and s.list_price}


def _group_key(price_group: str) -> str:
    """The price-state key a group of variants shares (short: it sits in the SKU column)."""
    if not price_group:
        return ""
    return "group:" + hashlib.sha256(price_group.encode()).hexdigest()[:24]


def _follow(state: PriceState, list_price: float) -> float:
    """A published state's price for today's ``list_price``: the same ratio to it when the
    catalog's list price changed since the decision (cents)."""
    if not state.list_price or abs(state.list_price - list_price) < 0.005:
        return state.price
    return round(list_price * state.price / state.list_price, 2)


def _share(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (the same for every process and run)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16 ** 12)


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16], 16)

