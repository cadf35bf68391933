"""The open-set photo protocol's bookkeeping: who is not sold, what counts, what is chosen."""

from __future__ import annotations

import numpy as np

from scripts.bench_vision_open import MAX_UNSOLD_MATCHED, MAX_WRONG, choose, not_sold, outcomes


def test_a_quarter_of_the_products_are_not_sold_the_same_ones_every_run() -> None:
    products = [f"P{i:02d}" for i in range(81)] * 3
    unsold = not_sold(products)
    assert len(unsold) == 20 and unsold <= set(products)
    assert not_sold(list(reversed(products))) == unsold  # order of the photos does not matter
    assert not_sold(products, seed=1) != unsold


def test_answers_are_counted_per_kind_of_photo() -> None:
    score = np.asarray([0.9, 0.8, 0.2, 0.95, 0.1])
    right = np.asarray([True, False, True, False, False])
    sold = np.asarray([True, True, True, False, False])
    o = outcomes(score, 0.5, right, sold)
    assert o == {"right": 1 / 3, "wrong": 1 / 3, "no match (sold)": 1 / 3,
                 "not sold: matched": 0.5}


def test_the_threshold_is_chosen_within_the_limits_on_wrong_and_unsold_answers() -> None:
    rng = np.random.default_rng(0)
    sold = np.r_[np.ones(200, bool), np.zeros(100, bool)]
    right = np.r_[rng.random(200) < 0.9, np.zeros(100, bool)]
    # right answers score high, wrong ones and unsold photos lower
    score = np.where(right, rng.uniform(0.5, 1.0, 300), rng.uniform(0.0, 0.7, 300))
    threshold, chosen, met = choose(score, right, sold, np.linspace(0, 1, 101))
    assert met and chosen["not sold: matched"] <= MAX_UNSOLD_MATCHED
    assert chosen["wrong"] <= MAX_WRONG
    lower = outcomes(score, threshold - 0.05, right, sold)  # a lower one breaks a limit
    assert lower["not sold: matched"] > MAX_UNSOLD_MATCHED or lower["wrong"] > MAX_WRONG
    impossible = choose(np.zeros(300), right, sold, np.asarray([0.0]))
    assert impossible[2] is False
