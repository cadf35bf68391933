"""The pricing engine over a real SQLite ledger: quotes, shadow mode, audit, coupons, haggling."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from pricing.config import PricingConfig
from pricing.context import Featurizer
from pricing.coupons import Allocation
from pricing.engine import (
    CouponPlan,
    LoadedPolicy,
    OfferStatus,
    PricingEngine,
    ProductFacts,
    QuoteStatus,
    Shopper,
)
from pricing.errors import CouponError
from pricing.guardrails import FLOOR, violations
from pricing.ledger import SqlLedger
from pricing.policies import FixedPrice

NOW = dt.datetime(2026, 6, 15, 12, 0)
PHONE = ProductFacts(sku="P1", list_price=100.0, cost=60.0, currency="USD", category="phones",
                     brand="acme", stock=20, weekly_sales=3.0)
THIN = ProductFacts(sku="P2", list_price=100.0, cost=92.0, currency="USD", category="phones")
NO_COST = ProductFacts(sku="P3", list_price=50.0, cost=None, currency="USD", category="phones")
ON_REQUEST = ProductFacts(sku="P4", list_price=None, cost=10.0, currency="USD",
                          category="phones")
CUSTOMER = Shopper("C1", "at_risk", 0.8)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def _engine(tmp_path: Path, *, action: int = 0, clock: Clock | None = None,
            budget: float = 100.0, **config: object) -> PricingEngine:
    cfg = PricingConfig(**config)  # type: ignore[arg-type]
    featurizer = Featurizer(categories=["phones"], personalise=cfg.personalise)
    policy = LoadedPolicy(FixedPrice(n_actions=len(cfg.actions), action=action), "v1",
                          featurizer)
    plan = CouponPlan(allocations={"at_risk": Allocation(0.10, 2, 20.0, 5.0)}, budget=budget,
                      order_value={"at_risk": 80.0})
    ledger = SqlLedger(create_engine(f"sqlite:///{tmp_path / 'shop.db'}"))
    return PricingEngine(config=cfg, ledger=ledger, policy=lambda: policy,
                         coupons=lambda: plan, clock=clock or Clock())


def test_a_quote_is_the_policys_price_recorded_and_kept_for_the_conversation(
        tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=0)  # the policy says -10%
    quote = engine.quote(PHONE, conversation_id="conv-1", shopper=CUSTOMER)
    assert quote.status is QuoteStatus.LIVE and quote.price == 90.0 and not quote.repeated
    again = engine.quote(PHONE, conversation_id="conv-1", shopper=CUSTOMER)
    assert again.price == 90.0 and again.repeated
    trail = engine.ledger.by_conversation("conv-1")  # type: ignore[attr-defined]
    assert len(trail) == 1
    record = trail[0]
    assert (record.sku, record.price, record.policy_action, record.policy_version,
            record.shadow, record.segment) == ("P1", 90.0, -0.1, "v1", False, "at_risk")
    assert record.context["category"] == "phones" and record.context["sensitivity"] == 0.8


def test_guardrails_bound_the_policy_and_the_audit_says_how(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=0)
    quote = engine.quote(THIN, conversation_id="c")  # -10% would sell below cost + 5%
    assert quote.price == 96.6 and quote.adjustments == (FLOOR,)
    assert violations(quote.price, config=engine.config, list_price=100.0, cost=92.0) == []


def test_one_change_per_period_across_conversations(tmp_path: Path) -> None:
    clock = Clock()
    engine = _engine(tmp_path, action=4, clock=clock)  # +10%
    assert engine.quote(PHONE, conversation_id="a").price == 110.0
    engine._policy = lambda: LoadedPolicy(  # type: ignore[method-assign]
        FixedPrice(n_actions=5, action=0), "v2", Featurizer(categories=["phones"]))
    clock.now = NOW + dt.timedelta(hours=3)  # the same day: today's price was published
    held = engine.quote(PHONE, conversation_id="b")
    assert held.price == 110.0 and engine.published(PHONE).price == 110.0
    clock.now = NOW + dt.timedelta(hours=30)
    stepped = engine.quote(PHONE, conversation_id="c")
    assert stepped.price == 100.0 and "step" in stepped.adjustments  # at most 10% per period
    published = [r for r in engine.ledger.quotes(kinds=("publish",))]  # type: ignore[attr-defined]
    assert [(r.price, r.policy_version) for r in published] == [(110.0, "v1"), (100.0, "v2")]


class _ByAudience:
    """A policy that picks ``public`` for a context with nothing personal, else ``personal``."""

    kind = "test"

    def __init__(self, public: int, personal: int, featurizer: Featurizer) -> None:
        self.n_actions, self.public, self.personal = 5, public, personal
        self.personal_columns = [i for i, n in enumerate(featurizer.names)
                                 if n.startswith(("sensitivity", "segment="))]

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        personal = np.abs(x[:, self.personal_columns]).sum(axis=1) > 0
        return np.where(personal, self.personal, self.public)

    def update(self, *args: object, **kwargs: object) -> None:
        return None

    def state(self) -> dict[str, np.ndarray]:
        return {}


@pytest.mark.parametrize(("public", "personal", "published", "customer"), [
    (4, 0, 110.0, 90.0),   # published +10%, the customer's own price -10%: lower for them
    (0, 4, 90.0, 90.0),    # published -10%, a policy wanting +10% for them: never above
    (3, 3, 105.0, 105.0),  # the same move for everyone
])
def test_a_chat_never_quotes_above_the_published_price(
        tmp_path: Path, public: int, personal: int, published: float,
        customer: float) -> None:
    engine = _engine(tmp_path)
    featurizer = Featurizer(categories=["phones"], personalise=engine.config.personalise)
    policy = LoadedPolicy(_ByAudience(public, personal, featurizer), "v1",  # type: ignore[arg-type]
                          featurizer)
    engine._policy = lambda: policy  # type: ignore[method-assign]
    assert engine.published(PHONE).price == published
    anonymous = engine.quote(PHONE, conversation_id="anon")
    assert anonymous.price == published and anonymous.published == published
    assert anonymous.discount == 0.0
    known = engine.quote(PHONE, conversation_id="known", shopper=CUSTOMER)
    assert known.price == customer and known.published == published
    assert (known.discount > 0) == (customer < published)
    assert ("personal" in known.adjustments) == (customer < published)
    # every quote of the day, anyone's, is at or below what the storefront shows
    assert all(r.price <= published for r in engine.ledger.quotes())  # type: ignore[attr-defined]


def test_the_published_price_is_decided_once_and_follows_a_new_list_price(
        tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=3)  # +5%
    counts = engine.publish([PHONE, THIN, NO_COST, ON_REQUEST])
    assert counts == {"products": 4, "changed": 3, "above_list": 2, "below_list": 0}
    again = engine.publish([PHONE, THIN, NO_COST, ON_REQUEST])
    assert again["changed"] == 0 and len(engine.ledger.quotes(  # type: ignore[attr-defined]
        kinds=("publish",))) == 3
    assert engine.published(NO_COST).price == 50.0  # no cost known: the list price
    repriced = replace(PHONE, list_price=200.0)  # the shop changed its list price today
    assert engine.published(repriced).price == 210.0
    # a second server on the same database reads the same decision back
    other = _engine(tmp_path, action=0)
    assert other.published(PHONE).price == 105.0


def test_no_cost_data_quotes_the_list_price_and_logs_why(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=0)
    quote = engine.quote(NO_COST, conversation_id="c")
    assert quote.price == 50.0 and quote.status is QuoteStatus.NO_COST
    assert engine.ledger.by_conversation("c")[0].adjustments == ("no_cost",)  # type: ignore[attr-defined]
    on_request = engine.quote(ON_REQUEST, conversation_id="c")
    assert on_request.price is None and on_request.status is QuoteStatus.ON_REQUEST


def test_shadow_mode_logs_the_policy_but_quotes_the_list_price(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=0, shadow_share=1.0)
    quote = engine.quote(PHONE, conversation_id="s1", shopper=CUSTOMER)
    assert quote.status is QuoteStatus.SHADOW and quote.price == 100.0
    published, record = engine.ledger.quotes(kinds=("publish", "quote"))  # type: ignore[attr-defined]
    assert published.kind == "publish" and published.shadow and published.price == 100.0
    assert published.policy_action == -0.1  # what the policy would have published
    assert record.shadow and record.policy_action == -0.1 and record.price == 100.0
    (tmp_path / "half").mkdir()
    half = _engine(tmp_path / "half", action=0, shadow_share=0.5)
    shadows = [half.quote(PHONE, conversation_id=f"x{i}", shopper=CUSTOMER).status
               is QuoteStatus.SHADOW for i in range(200)]
    assert 0.35 < np.mean(shadows) < 0.65
    days = [half.published(replace(PHONE, sku=f"S{i}")).status is QuoteStatus.SHADOW
            for i in range(200)]
    assert 0.35 < np.mean(days) < 0.65


def test_discount_coupon_for_a_targeted_segment_within_budget(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=2)
    anonymous = engine.discount(PHONE, conversation_id="anon")
    assert anonymous.status is OfferStatus.NOT_ELIGIBLE and anonymous.coupon is None
    offer = engine.discount(PHONE, conversation_id="c1", shopper=CUSTOMER)
    assert offer.status is OfferStatus.COUPON and offer.coupon is not None
    assert offer.coupon.price_after == 90.0 and offer.coupon.sku == "P1"
    assert engine.discount(PHONE, conversation_id="c1", shopper=CUSTOMER).status is \
        OfferStatus.EXISTING
    engine.discount(PHONE, conversation_id="c2", shopper=replace(CUSTOMER, customer_id="C2"))
    # the segment's allocation is two coupons per period
    assert engine.discount(PHONE, conversation_id="c3",
                           shopper=replace(CUSTOMER, customer_id="C3")).status is \
        OfferStatus.BUDGET_SPENT


def test_new_conversations_cannot_farm_concessions(tmp_path: Path) -> None:
    """Finding 5 of issue 18: 134 anonymous conversations collected 134 negotiation
    coupons. Coupons are now limited per customer and per client per day."""
    clock = Clock()
    engine = _engine(tmp_path, action=2, clock=clock, budget=10_000.0,
                     concessions_per_customer=2, concessions_per_client=3)
    stranger = Shopper(client="ip-1")
    given = [engine.negotiate(PHONE, conversation_id=f"anon-{i}", shopper=stranger).status
             for i in range(10)]
    assert given[:3] == [OfferStatus.COUPON] * 3 and set(given[3:]) == {OfferStatus.LIMIT}
    # another client is not affected, and the limit is per day
    assert engine.negotiate(PHONE, conversation_id="anon-x",
                            shopper=Shopper(client="ip-2")).status is OfferStatus.COUPON
    # a signed-in customer gets at most two a day, whichever client they write from
    statuses = [engine.discount(PHONE, conversation_id=f"k{i}",
                                shopper=replace(CUSTOMER, client=f"ip-k{i}")).status
                for i in range(3)]
    assert statuses == [OfferStatus.COUPON, OfferStatus.COUPON, OfferStatus.LIMIT]
    clock.now = NOW + dt.timedelta(days=1, minutes=1)
    assert engine.negotiate(PHONE, conversation_id="anon-next-day",
                           shopper=stranger).status is OfferStatus.COUPON


def test_coupons_never_break_the_floor(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=2)
    offer = engine.discount(THIN, conversation_id="c", shopper=CUSTOMER)
    assert offer.coupon is not None and offer.coupon.price_after == 96.6
    thinnest = ProductFacts(sku="P5", list_price=100.0, cost=95.3, currency="USD",
                            category="phones")
    assert engine.discount(thinnest, conversation_id="d", shopper=CUSTOMER).status is \
        OfferStatus.LOWEST


def test_one_round_of_negotiation(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=4)  # quoted at +10%
    first = engine.negotiate(PHONE, conversation_id="n", shopper=CUSTOMER)
    assert first.status is OfferStatus.COUPON and first.coupon is not None
    assert first.coupon.price_after is not None and first.coupon.price_after < 110.0
    assert first.coupon.price_after >= 100.0 * (1 - engine.config.max_discount)
    second = engine.negotiate(PHONE, conversation_id="n", shopper=CUSTOMER)
    assert second.status is OfferStatus.ALREADY_NEGOTIATED
    assert second.coupon is not None and second.coupon.code == first.coupon.code
    kinds = [r.kind for r in engine.ledger.by_conversation("n")]  # type: ignore[attr-defined]
    assert kinds == ["quote", "negotiation"]


def test_an_impossible_discount_gets_the_floor_not_an_exception(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=0)
    first = engine.negotiate(THIN, conversation_id="z")  # already quoted at the floor
    assert first.status is OfferStatus.LOWEST and first.coupon is None
    assert engine.negotiate(ON_REQUEST, conversation_id="z").status is OfferStatus.NO_PRICE


def test_a_coupon_is_redeemed_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=2)
    coupon = engine.discount(PHONE, conversation_id="r", shopper=CUSTOMER).coupon
    assert coupon is not None
    ledger: SqlLedger = engine.ledger  # type: ignore[assignment]
    with pytest.raises(CouponError, match="another customer"):
        ledger.redeem(coupon.code, order_number="SH-1", customer_id="C2", now=NOW)
    with pytest.raises(CouponError, match="for product P1"):
        ledger.redeem(coupon.code, order_number="SH-1", customer_id="C1", sku="P9", now=NOW)
    used = ledger.redeem(coupon.code.lower(), order_number="SH-1", customer_id="C1", now=NOW)
    assert used.redeemed_at == NOW
    with pytest.raises(CouponError, match="already used"):
        ledger.redeem(coupon.code, order_number="SH-2", customer_id="C1", now=NOW)
    with pytest.raises(CouponError, match="unknown coupon"):
        ledger.redeem("SAVE-'; DROP TABLE coupons;--", order_number="SH-3", now=NOW)
    other = engine.discount(PHONE, conversation_id="r2", shopper=CUSTOMER).coupon
    assert other is not None
    with pytest.raises(CouponError, match="expired"):
        ledger.redeem(other.code, order_number="SH-4", customer_id="C1",
                      now=NOW + dt.timedelta(days=60))


def test_a_policy_trained_for_other_price_actions_is_not_used(tmp_path: Path) -> None:
    engine = _engine(tmp_path, action=0, actions=(-0.2, 0.0, 0.2), ceiling=1.25)
    engine._policy = lambda: LoadedPolicy(  # type: ignore[method-assign]
        FixedPrice(n_actions=5, action=4), "old", Featurizer(categories=["phones"]))
    quote = engine.quote(PHONE, conversation_id="c")
    assert quote.status is QuoteStatus.NO_POLICY and quote.price == 100.0


def test_promotion_periods_reach_the_context(tmp_path: Path) -> None:
    from pricing.config import parse_promotions
    from pricing.errors import ConfigError

    days = parse_promotions("2026-06-14:2026-06-16, 2026-12-20:2026-12-24")
    engine = _engine(tmp_path, action=2, promotions=days)
    engine.quote(PHONE, conversation_id="promo")
    assert engine.ledger.by_conversation("promo")[0].context["promotion"] is True  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="2026-11-27:2026-11-30"):
        parse_promotions("black friday")
    with pytest.raises(ConfigError, match="ends before it starts"):
        PricingConfig(promotions=parse_promotions("2026-06-16:2026-06-14"))


def test_the_variants_of_a_model_are_published_at_one_price(tmp_path: Path) -> None:
    """A colour of a model never costs more than another at the same list price: the
    variants are decided together, even by a policy that explores at random and sees
    them differently (a competitor's price for one, another cost)."""
    from pricing.policies import DemandThompson

    engine = _engine(tmp_path)
    featurizer = Featurizer(categories=["phones"])
    explorer = DemandThompson(dim=featurizer.dim, actions=engine.config.actions,
                              margin_columns=featurizer.margin_columns)
    engine._policy = lambda: LoadedPolicy(explorer, "v1", featurizer)  # type: ignore[method-assign]
    prices = set()
    for group in range(20):
        red, black = (replace(PHONE, sku=f"G{group}-{c}", price_group=f"g{group}@100",
                              competitor_price=rival, cost=cost)
                      for c, rival, cost in (("red", None, 60.0), ("black", 80.0, 70.0)))
        assert engine.published(red).price == engine.published(black).price
        prices.add(engine.published(red).price)
    assert len(prices) > 1  # the policy does explore: the groups differ among themselves


def test_a_customers_price_holds_for_every_colour_of_the_product(tmp_path: Path) -> None:
    """Quoted a personal price for the red one, the customer gets it for the black one too;
    another customer's conversation is not affected."""
    engine = _engine(tmp_path)
    featurizer = Featurizer(categories=["phones"], personalise=engine.config.personalise)
    policy = LoadedPolicy(_ByAudience(4, 0, featurizer), "v1", featurizer)  # type: ignore[arg-type]
    engine._policy = lambda: policy  # type: ignore[method-assign]
    red, black = (replace(PHONE, sku=f"P1-{c}", price_group="phone@100") for c in ("red", "black"))
    assert engine.quote(red, conversation_id="c", shopper=CUSTOMER).price == 90.0
    again = engine.quote(black, conversation_id="c", shopper=CUSTOMER)
    assert again.price == 90.0 and "variant" in again.adjustments
    assert engine.quote(black, conversation_id="other").price == 110.0  # published


def test_a_quote_of_yesterday_holds_unless_todays_price_is_lower(tmp_path: Path) -> None:
    """A chat spanning midnight keeps its price, except where everyone's price fell below
    it: then the new, lower price, with the earlier one given so the answer can say why."""
    clock = Clock()
    engine = _engine(tmp_path, action=4, clock=clock)  # +10% today
    assert engine.quote(PHONE, conversation_id="late").price == 110.0
    engine._policy = lambda: LoadedPolicy(  # type: ignore[method-assign]
        FixedPrice(n_actions=5, action=0), "v2", Featurizer(categories=["phones"]))
    clock.now = NOW + dt.timedelta(days=1)
    lower = engine.quote(PHONE, conversation_id="late")
    assert lower.price == engine.published(PHONE).price == 100.0  # at most a step down
    assert lower.previous == 110.0 and not lower.repeated
    assert engine.quote(PHONE, conversation_id="late").previous is None  # said once
    # the other way round: yesterday's lower price is kept
    engine._policy = lambda: LoadedPolicy(  # type: ignore[method-assign]
        FixedPrice(n_actions=5, action=4), "v3", Featurizer(categories=["phones"]))
    clock.now = NOW + dt.timedelta(days=2)
    assert engine.published(PHONE).price == 110.0
    kept = engine.quote(PHONE, conversation_id="late")
    assert kept.price == 100.0 and kept.repeated and kept.previous is None


def test_two_servers_publishing_one_price_at_once_both_succeed(tmp_path: Path) -> None:
    """Both see no state and insert it; the second writes over the first's (the decision
    is the same everywhere) instead of failing the whole publication."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from pricing.guardrails import PriceState
    from pricing.ledger import SqlLedger

    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    first, second = SqlLedger(engine), SqlLedger(engine)
    when = dt.datetime(2026, 12, 7)
    first.set_price_state("SKU-1", "", PriceState(10.0, when, when, 12.0))
    looked = []
    original = Session.get

    def missed_once(self, entity, ident, **kwargs):  # type: ignore[no-untyped-def]
        if not looked:  # the look before the other server's insert landed
            looked.append(ident)
            return None
        return original(self, entity, ident, **kwargs)

    Session.get = missed_once  # type: ignore[method-assign]
    try:
        second.set_price_state("SKU-1", "", PriceState(9.5, when, when, 12.0))
    finally:
        Session.get = original  # type: ignore[method-assign]
    assert looked and second.price_state("SKU-1", "").price == 9.5
