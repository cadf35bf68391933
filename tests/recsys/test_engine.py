"""The recall channels, the ranked pipeline and the metrics, on logs with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.channels.als import ALS
from recsys.channels.base import Query, top_n
from recsys.channels.ease import EASE
from recsys.channels.itemknn import ItemKNN
from recsys.channels.popularity import Popularity
from recsys.channels.session import SessionCooccurrence
from recsys.data import Dataset, Interactions, random_split_per_user
from recsys.errors import ConfigError, NotFittedError
from recsys.metrics import evaluate, ndcg_at_k, recall_at_k
from recsys.pipeline import Catalog, Recommender
from tests.recsys.conftest import A, B


def test_metrics_match_hand_computed_values() -> None:
    assert recall_at_k(["x", "y", "z"], {"y", "q"}, 3) == 0.5
    assert ndcg_at_k(["y", "x"], {"y"}, 2) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"y"}, 2) == pytest.approx(1 / np.log2(3))
    result = evaluate({"u": ["x", "y"]}, {"u": {"y"}, "v": {"x"}}, k=2, n_items=4)
    assert result["recall"] == 0.5  # v got no list: counts as zero
    assert result["coverage"] == 0.5


def test_random_split_keeps_three_quarters_of_each_user(log: Interactions) -> None:
    train, test = random_split_per_user(log, ratio=0.75, seed=1)
    assert len(train) + len(test) == len(log)
    for user in set(log.users.tolist()):
        n = int((log.users == user).sum())
        assert int((train.users == user).sum()) == round(0.75 * n)


def test_top_n_skips_excluded_and_non_finite() -> None:
    cols, scores = top_n(np.array([0.1, np.inf * -1, 0.9, 0.5, np.nan]), 3, np.array([2]))
    assert cols.tolist() == [3, 0]
    assert scores.tolist() == [0.5, 0.1]


@pytest.mark.parametrize("channel", [ItemKNN(), EASE(l2=1.0), ALS(factors=8, iterations=5),
                                     SessionCooccurrence()])
def test_collaborative_channels_find_the_co_bought_item(log: Interactions, channel) -> None:
    data = Dataset.build(log)
    channel.fit(data)
    cols, _ = channel.similar_items(data.item_index["a1"], 3)
    names = [data.item_ids[c] for c in cols]
    assert names and set(names) <= set(A)
    assert "a1" not in names


def test_als_folds_in_a_user_it_has_never_seen(log: Interactions) -> None:
    data = Dataset.build(log)
    als = ALS(factors=8, iterations=10).fit(data)
    cols, _ = als.recommend(Query.anonymous(data.columns(["b1", "b2"])), 3,
                            data.columns(["b1", "b2"]))
    assert {data.item_ids[c] for c in cols} <= set(B)


def test_channels_refuse_to_serve_before_fit_and_bad_options() -> None:
    with pytest.raises(NotFittedError):
        Popularity().recommend(Query.anonymous(), 3)
    with pytest.raises(ConfigError):
        ItemKNN(neighbours=0)
    with pytest.raises(ConfigError):
        Recommender(channels={"nonsense": {}})


def test_pipeline_recommends_within_the_users_taste_with_reasons(
        log: Interactions, catalog: Catalog) -> None:
    model = Recommender(validation_days=30, ranker={"min_leaf": 5}).fit(log, catalog=catalog)
    recs = model.recommend("u3", 5)
    assert recs and all(r.item in A for r in recs[:3])
    assert all(r.channel in {*model.channels, "popular", "new"} for r in recs)
    explained = [r for r in recs if r.related]
    assert all(r.related in A for r in explained)


def test_pipeline_serves_unknown_users_from_their_session_then_popularity(
        log: Interactions, catalog: Catalog) -> None:
    model = Recommender(ranker={"min_leaf": 5}).fit(log, catalog=catalog)
    from_session = model.recommend("someone-new", 3, session=["b1"], exclude=["b1"])
    assert from_session and from_session[0].item in B
    cold = model.recommend(None, 3)
    assert len(cold) == 3
    assert model.recommend("u1", 3, session=["no-such-product"])  # unknown ids are ignored


def test_similar_and_complements_handle_unknown_and_never_sold_products(
        log: Interactions, catalog: Catalog) -> None:
    model = Recommender(ranker={"min_leaf": 5}).fit(log, catalog=catalog)
    assert model.similar_items("no-such-product") == []
    assert model.complements("no-such-product") == []
    assert model.complements("a1")[0].item == "a2"
    content_only = model.similar_items("c1", 3)  # nobody bought it: content still answers
    assert content_only and content_only[0].channel == "content"


def test_ranker_check_compares_on_held_out_events_and_a_chosen_channel_orders_the_list(
        log: Interactions, catalog: Catalog) -> None:
    model = Recommender(validation="random", validation_ratio=0.6, ranker={"min_leaf": 5},
                        exclude_seen=True).fit(log, catalog=catalog)
    # the check scored the ranker and every channel on events held out from the fit
    assert set(model.check_scores) == {"ranker", *model.channels}
    assert all(0.0 <= v <= 1.0 for v in model.check_scores.values())
    assert model.ranked_by in {"ranker", *model.channels}
    best = max(model.check_scores, key=model.check_scores.__getitem__)
    assert model.check_scores[model.ranked_by] == model.check_scores[best]
    # ranking by one channel: its own scores order the candidates
    model.ranked_by = "popular"
    listed = [s.item for s in model.recommend("u1", 5)]
    scores = model.channels["popular"].score(model.query("u1"))
    assert scores is not None
    ids = model.dataset().item_ids
    expected = sorted((i for i in listed), key=lambda it: -scores[ids.index(it)])
    assert listed == expected
    unchecked = Recommender(check_ranker=False, ranker={"min_leaf": 5}).fit(log, catalog=catalog)
    assert unchecked.check_scores == {} and unchecked.ranked_by == "ranker"


def test_a_fresh_slot_shows_a_never_sold_product_close_to_the_customers_taste(
        log: Interactions, catalog: Catalog) -> None:
    # c1 is in the catalog and never bought: the content channel recalls it, the ranker not
    model = Recommender(ranker={"min_leaf": 5}, fresh_slots=1).fit(log, catalog=catalog)
    listed = [s.item for s in model.recommend("u1", 5)]
    assert listed[-1] == "c1" and len(listed) == 5
    plain = Recommender(ranker={"min_leaf": 5}, fresh_slots=0).fit(log, catalog=catalog)
    assert "c1" not in [s.item for s in plain.recommend("u1", 5)]
