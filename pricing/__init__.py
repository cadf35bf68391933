"""Pricing: a learning price policy inside guardrails, with coupons and an audit trail.

Modules:
    errors: the package's error root.
    config: price actions, reward, guardrail limits and shadow share (validated).
    context: what a price decision may depend on, and the feature vector it becomes.
    guardrails: the shop's rules, enforced outside the policy.
    policies: fixed price, A/B-then-commit, epsilon-greedy, UCB1, linear Thompson
        sampling (the contextual bandit) and a DQN agent with experience replay.
    segments: RFM customer segments and price sensitivity from purchase history.
    coupons: coupon budgets allocated across segments.
    engine: quotes, discounts and one round of negotiation, with shadow mode and audit.
    store: versioned policy artefacts (``npz``, no pickle) that hot-reload.
    simulator: a demand simulator fitted to UCI Online Retail, for the benchmark.

Nothing here imports Rasa or another domain package; results are typed, never text.
"""
