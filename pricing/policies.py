"""Price policies: choose one of the configured price actions for a context.

Every policy works on a batch of ``S`` independent instances at once (the
benchmark runs 50 seeds in one pass; the action server uses ``S = 1``):
``choose(x, rng)`` takes features of shape ``(S, d)`` and returns action indices
of shape ``(S,)``; ``update(x, actions, rewards)`` learns from what happened.
Rewards are expected per unit of list price, so products of any price share a
scale; ``units`` are the units sold. ``state()`` returns plain arrays (saved as
``npz``, never pickled) and ``from_state`` rebuilds the policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from pricing.errors import PolicyError


class Policy(Protocol):
    """The interface every price policy implements."""

    kind: str
    n_actions: int

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Action indices, one per row of ``x``."""
        ...

    def update(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               units: np.ndarray | None = None) -> None:
        """Learn from the rewards (and units sold) of ``actions`` taken at ``x``."""
        ...

    def state(self) -> dict[str, np.ndarray]:
        """The policy's parameters as arrays."""
        ...


class FixedPrice:
    """Always the same action (the list price, or a fixed price found in hindsight)."""

    kind = "fixed"

    def __init__(self, *, n_actions: int, action: int, batch: int = 1) -> None:
        self.n_actions, self.action, self.batch = n_actions, action, batch

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.full(len(x), self.action, dtype=np.int64)

    def update(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               units: np.ndarray | None = None) -> None:
        return None

    def state(self) -> dict[str, np.ndarray]:
        return {"action": np.asarray([self.action])}


class _Counts:
    """Per-instance, per-action pull counts and mean rewards."""

    def __init__(self, n_actions: int, batch: int) -> None:
        self.n_actions = n_actions
        self.n = np.zeros((batch, n_actions))
        self.mean = np.zeros((batch, n_actions))

    def update(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               units: np.ndarray | None = None) -> None:
        rows = np.arange(len(actions))
        self.n[rows, actions] += 1
        self.mean[rows, actions] += (rewards - self.mean[rows, actions]) / self.n[rows, actions]

    def state(self) -> dict[str, np.ndarray]:
        return {"n": self.n, "mean": self.mean}


class ABThenCommit(_Counts):
    """Tests every action in turn for ``test_steps`` decisions, then keeps the best."""

    kind = "ab_commit"

    def __init__(self, *, n_actions: int, test_steps: int = 1000, batch: int = 1) -> None:
        super().__init__(n_actions, batch)
        self.test_steps = test_steps

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        t = self.n.sum(axis=1)
        testing = t < self.test_steps
        return np.where(testing, (t % self.n_actions).astype(np.int64),
                        self.mean.argmax(axis=1))


class EpsilonGreedy(_Counts):
    """The best mean so far, except a random action with probability ``epsilon``."""

    kind = "epsilon_greedy"

    def __init__(self, *, n_actions: int, epsilon: float = 0.1, batch: int = 1) -> None:
        super().__init__(n_actions, batch)
        self.epsilon = epsilon

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        untried = self.n == 0
        greedy = np.where(untried.any(axis=1), untried.argmax(axis=1), self.mean.argmax(axis=1))
        explore = rng.random(len(greedy)) < self.epsilon
        return np.where(explore, rng.integers(0, self.n_actions, len(greedy)), greedy)


class UCB1(_Counts):
    """UCB1 (Auer et al. 2002), rewards scaled by the largest seen so it sees [0, 1]."""

    kind = "ucb1"

    def __init__(self, *, n_actions: int, batch: int = 1) -> None:
        super().__init__(n_actions, batch)
        self.scale = np.full(batch, 1e-9)

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        t = np.maximum(self.n.sum(axis=1, keepdims=True), 1)
        bonus = np.sqrt(2 * np.log(t) / np.maximum(self.n, 1e-9))
        score = self.mean / self.scale[:, None] + bonus
        score = np.where(self.n == 0, np.inf, score)
        return score.argmax(axis=1)

    def update(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               units: np.ndarray | None = None) -> None:
        self.scale = np.maximum(self.scale, np.abs(rewards))
        super().update(x, actions, rewards)


class DemandThompson:
    """Contextual bandit: learns demand, then prices for profit (Thompson sampling).

    Demand at price multiplier ``m = 1 + action`` is modelled as
    ``units = x.w0 + (x.w1) z + (x.w2) z^2`` with ``z = log m`` scaled to
    ``[-1, 1]`` over the actions (a second-order expansion
    of ``level * m^elasticity`` with level and elasticity linear in the
    context), with a Gaussian posterior over ``w`` (Bayesian linear regression).
    Every observation teaches every action about demand, which a bandit with
    separate arms cannot do. For a decision, the demand at each action is
    drawn jointly from the posterior and the action with the largest
    ``units * (m - cost share + sales_weight)`` wins. ``discount`` below 1
    forgets old evidence, so the policy follows demand that shifts unannounced.

    Args:
        dim: Context feature dimension.
        actions: Price changes relative to list price.
        margin_columns: ``(start, stop)`` of the context columns whose sum is the
            product's margin at list price (see ``Featurizer.margin_columns``).
        sales_weight: Reward weight of units sold, per unit of list price.
        prior: Ridge prior precision.
        noise: Initial demand noise scale (re-estimated from residuals).
        discount: Forgetting factor per observation (1: none).
        batch: Independent instances.
    """

    kind = "thompson"

    def __init__(self, *, dim: int, actions: Sequence[float], margin_columns: tuple[int, int],
                 sales_weight: float = 0.0, prior: float = 1.0, noise: float = 1.0,
                 discount: float = 1.0, batch: int = 1) -> None:
        if not 0.9 <= discount <= 1.0:
            raise PolicyError(f"discount must be between 0.9 and 1, got {discount}")
        self.dim, self.n_actions = dim, len(actions)
        self.actions = np.asarray(actions, dtype=np.float64)
        # log price multipliers scaled to [-1, 1], so the ridge prior does not shrink
        # the price response of demand more than its level
        log_m = np.log1p(self.actions)
        self.log_m = log_m / max(float(np.abs(log_m).max()), 1e-9)
        self.margin_columns = margin_columns
        self.sales_weight, self.prior, self.discount = sales_weight, prior, discount
        D = 3 * dim
        self.A_inv = np.broadcast_to(np.eye(D) / prior, (batch, D, D)).copy()
        self.b = np.zeros((batch, D))
        self.mu = np.zeros((batch, D))
        self.noise2 = np.full(batch, noise ** 2)
        self.seen = np.zeros(batch)

    def _phi(self, x: np.ndarray) -> np.ndarray:
        """Demand features of every action: ``(S, n_actions, 3 * dim)``."""
        log_m = self.log_m[None, :, None]
        xs = x[:, None, :]
        return np.concatenate(np.broadcast_arrays(xs, xs * log_m, xs * log_m ** 2), axis=2)

    def _value(self, x: np.ndarray, units: np.ndarray) -> np.ndarray:
        margin = x[:, self.margin_columns[0]:self.margin_columns[1]].sum(axis=1)
        unit_value = (1.0 + self.actions)[None, :] - (1.0 - margin)[:, None] + self.sales_weight
        return units * unit_value

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        phi = self._phi(x)
        mean = np.matmul(phi, self.mu[:, :, None])[..., 0]
        spread = np.matmul(phi, self.A_inv)  # batched BLAS: A_inv is symmetric
        cov = np.matmul(spread, phi.transpose(0, 2, 1)) * self.noise2[:, None, None]
        cov += np.eye(self.n_actions) * 1e-9
        draw = mean + np.einsum("skj,sj->sk", np.linalg.cholesky(cov),
                                rng.standard_normal(mean.shape))
        return self._value(x, draw).argmax(axis=1)

    def expected(self, x: np.ndarray) -> np.ndarray:
        """Posterior mean reward (per unit of list price) of every action: ``(S, A)``."""
        return self._value(x, np.einsum("skd,sd->sk", self._phi(x), self.mu))

    def update(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               units: np.ndarray | None = None) -> None:
        if units is None:
            raise PolicyError("the demand model learns from units sold: pass units")
        rows = np.arange(len(actions))
        phi = self._phi(x)[rows, actions]
        residual = units - np.einsum("sd,sd->s", phi, self.mu)
        self.seen += 1
        self.noise2 += (residual ** 2 - self.noise2) / np.minimum(self.seen, 1000)
        self.noise2 = np.maximum(self.noise2, 1e-6)
        if self.discount < 1.0:
            self.A_inv /= self.discount
            self.b *= self.discount
        spread = np.matmul(self.A_inv, phi[:, :, None])[..., 0]
        denom = 1.0 + np.einsum("sd,sd->s", phi, spread)
        self.A_inv -= spread[:, :, None] * (spread / denom[:, None])[:, None, :]
        self.b += units[:, None] * phi
        self.mu = np.matmul(self.A_inv, self.b[:, :, None])[..., 0]

    def state(self) -> dict[str, np.ndarray]:
        return {"A_inv": self.A_inv, "b": self.b, "noise2": self.noise2, "seen": self.seen,
                "actions": self.actions, "margin_columns": np.asarray(self.margin_columns),
                "params": np.asarray([self.sales_weight, self.prior, self.discount])}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> DemandThompson:
        """Rebuild a policy saved with :meth:`state`."""
        A_inv = np.asarray(state["A_inv"], dtype=np.float64)
        if A_inv.ndim != 3 or A_inv.shape[1] != A_inv.shape[2] or A_inv.shape[1] % 3:
            raise PolicyError(f"bad Thompson state: A_inv has shape {A_inv.shape}")
        sales_weight, prior, discount = (float(v) for v in state["params"])
        columns = tuple(int(c) for c in state["margin_columns"])
        policy = cls(dim=A_inv.shape[1] // 3, actions=tuple(state["actions"]),
                     margin_columns=(columns[0], columns[1]), sales_weight=sales_weight,
                     prior=prior, discount=discount, batch=A_inv.shape[0])
        policy.A_inv = A_inv.copy()
        policy.b = np.asarray(state["b"], dtype=np.float64).copy()
        policy.mu = np.einsum("sde,se->sd", policy.A_inv, policy.b)
        policy.noise2 = np.asarray(state["noise2"], dtype=np.float64).copy()
        policy.seen = np.asarray(state["seen"], dtype=np.float64).copy()
        return policy


class DQN:
    """A DQN-style agent: a Q-network over the context, trained from experience replay.

    Each quote is one step whose reward is observed before the cell's next
    decision, so the target is the observed reward (discount 0) and no target
    network is needed. Exploration is epsilon-greedy, decaying linearly. The
    network (one hidden ReLU layer) is trained with Adam on minibatches drawn
    from a replay buffer, every ``train_every`` decisions; :meth:`fit` trains it
    offline from a logged buffer.

    Args:
        dim: Feature dimension.
        n_actions: Number of price actions.
        hidden: Hidden units.
        lr: Adam learning rate.
        replay: Replay buffer capacity.
        minibatch: Minibatch size.
        train_every: Decisions between training steps.
        epsilon: (start, end, decay steps) of exploration.
        batch: Independent instances.
        seed: Seed of the initial weights.
    """

    kind = "dqn"

    def __init__(self, *, dim: int, n_actions: int, hidden: int = 32, lr: float = 3e-3,
                 replay: int = 5000, minibatch: int = 64, train_every: int = 4,
                 epsilon: tuple[float, float, int] = (1.0, 0.02, 1500), batch: int = 1,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim, self.n_actions, self.hidden = dim, n_actions, hidden
        self.lr, self.replay, self.minibatch, self.train_every = lr, replay, minibatch, train_every
        self.epsilon = epsilon
        self.params = {
            "W1": rng.normal(0, np.sqrt(2 / dim), (batch, dim, hidden)),
            "b1": np.zeros((batch, hidden)),
            "W2": rng.normal(0, np.sqrt(1 / hidden), (batch, hidden, n_actions)) * 0.1,
            "b2": np.zeros((batch, n_actions)),
        }
        self._m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._adam_t = 0
        self.buf_x = np.zeros((batch, replay, dim))
        self.buf_a = np.zeros((batch, replay), dtype=np.int64)
        self.buf_r = np.zeros((batch, replay))
        self.steps = 0

    def q(self, x: np.ndarray) -> np.ndarray:
        """Q-values, shape ``(S, n_actions)``."""
        h = np.maximum(np.einsum("sd,sdh->sh", x, self.params["W1"]) + self.params["b1"], 0)
        return np.einsum("sh,shk->sk", h, self.params["W2"]) + self.params["b2"]

    def expected(self, x: np.ndarray) -> np.ndarray:
        """The network's expected reward of every action: ``(S, n_actions)``."""
        return self.q(x)

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        start, end, decay = self.epsilon
        eps = max(end, start + (end - start) * self.steps / max(decay, 1))
        greedy = self.q(x).argmax(axis=1)
        explore = rng.random(len(greedy)) < eps
        return np.where(explore, rng.integers(0, self.n_actions, len(greedy)), greedy)

    def update(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
               units: np.ndarray | None = None) -> None:
        slot = self.steps % self.replay
        self.buf_x[:, slot], self.buf_a[:, slot], self.buf_r[:, slot] = x, actions, rewards
        self.steps += 1
        if self.steps % self.train_every == 0:
            self._train_step(np.random.default_rng(self.steps), min(self.steps, self.replay))

    def fit(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray, *,
            epochs: int = 20, seed: int = 0) -> None:
        """Train offline from logged decisions (one instance): replay them in minibatches."""
        n = len(rewards)
        if n == 0:
            return
        keep = min(n, self.replay)
        self.buf_x[0, :keep], self.buf_a[0, :keep] = x[-keep:], actions[-keep:]
        self.buf_r[0, :keep] = rewards[-keep:]
        self.steps = max(self.steps, keep)
        rng = np.random.default_rng(seed)
        for _ in range(max(1, epochs * keep // self.minibatch)):
            self._train_step(rng, keep)

    def _train_step(self, rng: np.random.Generator, filled: int) -> None:
        S = self.buf_x.shape[0]
        idx = rng.integers(0, filled, (S, self.minibatch))
        rows = np.arange(S)[:, None]
        x, a, r = self.buf_x[rows, idx], self.buf_a[rows, idx], self.buf_r[rows, idx]
        p = self.params
        pre = np.einsum("sbd,sdh->sbh", x, p["W1"]) + p["b1"][:, None]
        h = np.maximum(pre, 0)
        q = np.einsum("sbh,shk->sbk", h, p["W2"]) + p["b2"][:, None]
        err = np.take_along_axis(q, a[..., None], axis=2)[..., 0] - r
        err = np.clip(err, -1.0, 1.0)  # Huber loss gradient
        dq = np.zeros_like(q)
        np.put_along_axis(dq, a[..., None], err[..., None] / self.minibatch, axis=2)
        grads = {"W2": np.einsum("sbh,sbk->shk", h, dq), "b2": dq.sum(axis=1)}
        dh = np.einsum("sbk,shk->sbh", dq, p["W2"]) * (pre > 0)
        grads["W1"] = np.einsum("sbd,sbh->sdh", x, dh)
        grads["b1"] = dh.sum(axis=1)
        self._adam_t += 1
        b1, b2 = 0.9, 0.999
        for k, g in grads.items():
            self._m[k] = b1 * self._m[k] + (1 - b1) * g
            self._v[k] = b2 * self._v[k] + (1 - b2) * g * g
            m_hat = self._m[k] / (1 - b1 ** self._adam_t)
            v_hat = self._v[k] / (1 - b2 ** self._adam_t)
            p[k] -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)

    def state(self) -> dict[str, np.ndarray]:
        return {**self.params, "steps": np.asarray([self.steps])}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> DQN:
        """Rebuild an agent saved with :meth:`state` (greedy after its exploration)."""
        W1, W2 = np.asarray(state["W1"]), np.asarray(state["W2"])
        if W1.ndim != 3 or W2.ndim != 3 or W1.shape[2] != W2.shape[1]:
            raise PolicyError(f"bad DQN state: W1 {W1.shape}, W2 {W2.shape}")
        agent = cls(dim=W1.shape[1], n_actions=W2.shape[2], hidden=W1.shape[2],
                    batch=W1.shape[0], replay=16)
        for k in ("W1", "b1", "W2", "b2"):
            agent.params[k] = np.asarray(state[k], dtype=np.float64).copy()
        agent.steps = int(np.asarray(state["steps"])[0])
        return agent


def restore(kind: str, state: dict[str, Any]) -> Policy:
    """Rebuild a saved policy of ``kind``.

    Raises:
        PolicyError: If ``kind`` is unknown or the state does not fit it.
    """
    try:
        if kind == DemandThompson.kind:
            return DemandThompson.from_state(state)
        if kind == DQN.kind:
            return DQN.from_state(state)
    except KeyError as exc:
        raise PolicyError(f"{kind} state lacks {exc}") from exc
    raise PolicyError(f"cannot restore a policy of kind {kind!r}")
