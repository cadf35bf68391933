"""Each policy learns what it should on problems whose answer is known."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from pricing.config import PricingConfig, Reward, parse_actions
from pricing.context import Context, Featurizer
from pricing.errors import ConfigError, PolicyError
from pricing.policies import (
    DQN,
    UCB1,
    ABThenCommit,
    DemandThompson,
    EpsilonGreedy,
    FixedPrice,
    restore,
)
from pricing.store import Outcome, PolicyStore, new_policy, train

ACTIONS = (-0.10, -0.05, 0.0, 0.05, 0.10)


def _demand(category: int, bulk: bool, m: np.ndarray) -> np.ndarray:
    """Retail buyers barely react to price; bulk buyers in category 1 react strongly."""
    elasticity = -4.0 if (bulk and category == 1) else -0.5
    return 10.0 * m ** elasticity


def _run(policy, steps: int, seeds: int, rng: np.random.Generator,  # type: ignore[no-untyped-def]
         featurizer: Featurizer) -> np.ndarray:
    """Fraction of the last 500 steps each seed priced at the best action."""
    hits = np.zeros(seeds)
    m = 1.0 + np.asarray(ACTIONS)
    cost = 0.6
    for t in range(steps):
        category = rng.integers(0, 2, seeds)
        bulk = rng.random(seeds) < 0.5
        x = np.stack([featurizer(Context(category=f"c{c}", sensitivity=float(b),
                                         margin=1 - cost)) for c, b in zip(category, bulk,
                                                                           strict=True)])
        actions = policy.choose(x, rng)
        lam = np.stack([_demand(c, b, m) for c, b in zip(category, bulk, strict=True)])
        units = rng.poisson(lam[np.arange(seeds), actions])
        rewards = units * (m[actions] - cost)
        policy.update(x, actions, rewards, units=units.astype(float))
        best = (lam * (m - cost)).argmax(axis=1)
        if t >= steps - 500:
            hits += actions == best
    return hits / 500


@pytest.fixture()
def featurizer() -> Featurizer:
    return Featurizer(categories=["c0", "c1"], personalise=("sensitivity",))


def test_contextual_bandit_prices_each_context_differently(featurizer: Featurizer) -> None:
    policy = DemandThompson(dim=featurizer.dim, actions=ACTIONS,
                            margin_columns=featurizer.margin_columns, batch=4)
    share = _run(policy, 3000, 4, np.random.default_rng(0), featurizer)
    # best is +10% for retail buyers and -10% for bulk buyers of c1: one fixed price
    # is right at most 75% of the time
    assert share.mean() > 0.85
    x = np.stack([featurizer(Context(category="c1", sensitivity=s, margin=0.4))
                  for s in (0.0, 1.0)])
    expected = DemandThompson.from_state(policy.state())
    one = DemandThompson(dim=featurizer.dim, actions=ACTIONS,
                         margin_columns=featurizer.margin_columns)
    one.A_inv, one.b, one.mu = expected.A_inv[:1], expected.b[:1], expected.mu[:1]
    assert one.expected(x[:1]).argmax() == 4 and one.expected(x[1:]).argmax() == 0


@pytest.mark.parametrize("make", [
    lambda: EpsilonGreedy(n_actions=5, epsilon=0.05, batch=6),
    lambda: UCB1(n_actions=5, batch=6),
    lambda: ABThenCommit(n_actions=5, test_steps=1000, batch=6),
])
def test_context_free_bandits_find_the_best_single_price(make) -> None:  # type: ignore[no-untyped-def]
    featurizer = Featurizer(categories=["c0"])
    policy = make()
    rng = np.random.default_rng(1)
    m = 1.0 + np.asarray(ACTIONS)
    profit = 20.0 * m ** -1.5 * (m - 0.6)  # best: +10% (index 4)
    x = np.zeros((6, featurizer.dim))
    for _ in range(4000):
        a = policy.choose(x, rng)
        units = rng.poisson((20.0 * m ** -1.5)[a])
        policy.update(x, a, units * (m[a] - 0.6), units=units.astype(float))
    assert profit.argmax() == 4
    assert (policy.mean.argmax(axis=1) == 4).mean() >= 5 / 6


def test_dqn_learns_from_replayed_logs(featurizer: Featurizer) -> None:
    rng = np.random.default_rng(2)
    agent = DQN(dim=featurizer.dim, n_actions=5, seed=0)
    contexts = [Context(category="c1", sensitivity=float(b), margin=0.4) for b in (0, 1)]
    x = np.stack([featurizer(contexts[i % 2]) for i in range(4000)])
    a = rng.integers(0, 5, 4000)
    m = 1.0 + np.asarray(ACTIONS)[a]
    lam = np.where(np.arange(4000) % 2 == 1, 10 * m ** -4.0, 10 * m ** -0.5)
    rewards = rng.poisson(lam) * (m - 0.6) / 10
    agent.fit(x, a, rewards, epochs=30)
    q = agent.q(np.stack([featurizer(c) for c in contexts]))
    assert q[0].argmax() == 4 and q[1].argmax() == 0


def test_fixed_price_never_moves() -> None:
    policy = FixedPrice(n_actions=5, action=2, batch=3)
    assert policy.choose(np.zeros((3, 4)), np.random.default_rng(0)).tolist() == [2, 2, 2]


def test_store_round_trip_without_pickle_and_hot_reload(tmp_path: Path,
                                                        featurizer: Featurizer) -> None:
    config = PricingConfig(personalise=("sensitivity",))
    store = PolicyStore(tmp_path / "pricing", check_seconds=0)
    assert store.current() is None
    policy = new_policy("thompson", featurizer=featurizer, config=config)
    when = dt.datetime(2026, 6, 1).isoformat()
    outcomes = [Outcome({"category": "c1", "sensitivity": 1.0, "margin": 0.4, "when": when},
                        a, units, units * (1 + a - 0.6))
                for a, units in [(-0.1, 14.0), (0.1, 6.0)] * 30]
    assert train(policy, featurizer, outcomes, config) == 60
    v1 = store.publish(policy, featurizer, config)
    loaded = store.current()
    assert loaded is not None and loaded.version == v1
    x = featurizer(Context(category="c1", sensitivity=1.0, margin=0.4))[None, :]
    assert np.allclose(loaded.policy.expected(x), policy.expected(x))  # type: ignore[attr-defined]
    assert loaded.policy.expected(x).argmax() == 0  # type: ignore[attr-defined]
    with np.load(tmp_path / "pricing" / v1 / "policy.npz", allow_pickle=False) as arrays:
        assert "A_inv" in arrays.files
    v2 = store.publish(new_policy("dqn", featurizer=featurizer, config=config), featurizer,
                       config)
    reloaded = store.current()
    assert reloaded is not None and reloaded.version == v2 and reloaded.policy.kind == "dqn"


def test_corrupt_or_unknown_policies_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        restore("oracle", {})
    with pytest.raises(PolicyError):
        restore("thompson", {"A_inv": np.zeros((1, 5, 4))})
    store = PolicyStore(tmp_path)
    (tmp_path / "v1").mkdir(parents=True)
    (tmp_path / "v1" / "manifest.json").write_text("{not json")
    (tmp_path / "CURRENT").write_text("v1")
    with pytest.raises(PolicyError):
        store.current()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_margin": -0.1}, "min_margin"),
    ({"ceiling": 50.0}, "ceiling"),
    ({"actions": (-0.1, 0.1)}, "include 0"),
    ({"actions": ()}, "empty"),
    ({"actions": (0.0, 0.3)}, "above the ceiling"),
    ({"shadow_share": 1.5}, "shadow_share"),
    ({"personalise": ("age",)}, "cannot personalise on age"),
    ({"max_step": float("nan")}, "max_step"),
])
def test_absurd_configuration_is_refused(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        PricingConfig(**kwargs)


def test_reward_and_action_parsing() -> None:
    assert parse_actions("10, -10,0,5,-5") == (-0.1, -0.05, 0.0, 0.05, 0.1)
    with pytest.raises(ConfigError, match="percentages"):
        parse_actions("ten")
    with pytest.raises(ConfigError, match="sales_weight"):
        Reward(sales_weight=-1)
    reward = Reward(sales_weight=0.1, change_penalty=0.5)
    assert reward(units=2, price=11.0, cost=6.0, list_price=10.0, previous_price=10.0) == \
        pytest.approx(2 * 5.0 + 0.1 * 2 * 10.0 - 0.5 * 1.0)


def test_unconfigured_personal_attributes_never_reach_the_policy() -> None:
    plain = Featurizer(categories=["c1"], personalise=())
    a = Context(category="c1", segment="champions", sensitivity=0.9, margin=0.3)
    b = Context(category="c1", segment="hibernating", sensitivity=0.1, margin=0.3)
    assert np.array_equal(plain(a), plain(b))
    personal = Featurizer(categories=["c1"], personalise=("segment", "sensitivity"))
    assert not np.array_equal(personal(a), personal(b))
    only_segment = Featurizer(categories=["c1"], personalise=("segment",))
    assert np.array_equal(only_segment(a.personal(("segment",))),
                          only_segment(Context(category="c1", segment="champions",
                                               sensitivity=0.0, margin=0.3)))
