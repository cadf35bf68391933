"""The open-set photo protocol's bookkeeping: who is not sold, what counts, what is chosen."""

from __future__ import annotations

import numpy as np

from scripts.bench_vision_open import (
    MAX_UNSOLD_MATCHED,
    MAX_WRONG,
    choose,
    not_sold,
    other_signals,
    outcomes,
    softmax_regression,
)


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


def test_a_classifier_on_the_catalog_is_sure_near_a_product_and_unsure_between_two() -> None:
    rng = np.random.default_rng(0)
    centres = {"apple": np.array([3.0, 0.0]), "pear": np.array([0.0, 3.0])}
    labels = [name for name in centres for _ in range(40)]
    catalog = np.stack([centres[n] + rng.normal(0, 0.5, 2) for n in labels])
    queries = np.array([[3.0, 0.1], [0.1, 3.0], [1.5, 1.5]])
    top, confidence = softmax_regression(catalog, labels, queries)
    assert top[:2].tolist() == ["apple", "pear"]
    assert min(confidence[:2]) > 0.9 and confidence[2] < 0.7  # halfway: not sure


def test_a_classifier_counts_only_where_it_agrees_with_the_index() -> None:
    class Index:
        def project(self, x: np.ndarray) -> np.ndarray:
            return x

    catalog = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = ["apple", "apple", "pear", "pear"]
    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    logits = np.array([[5.0, 0.0], [5.0, 0.0]])  # the network's classifier: apple twice
    per_view = {"query_logits": logits, "head_names": np.array(["apple", "pear"])}
    signals = other_signals(per_view, Index(), catalog, labels, queries, ["apple", "pear"],
                            np.array([0.9, 0.9]), np.array([0.2, 0.2]))
    assert signals["classifier on the index: confidence"][1] > 0.5  # both agree
    assert signals["fine-tuned classifier: confidence"][0] > 0.9
    assert signals["fine-tuned classifier: confidence"][1] == 0.0  # pear answered, apple said
    assert np.allclose(signals["fine-tuned classifier: energy"],
                       5 + np.log(1 + np.exp(-5.0)))
