"""Re-ranking, experiments, saved versions with hot reload, and the service's fallbacks."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from recsys.artifacts import ModelStore, load, save
from recsys.data import Interactions
from recsys.errors import ArtifactError, ConfigError
from recsys.experiments import Event, Experiment, report
from recsys.pipeline import Catalog, Recommender, Scored
from recsys.rerank import Constraints, ItemInfo, Rules, rerank
from recsys.service import RecommenderService, Status
from tests.recsys.conftest import A, B, make_log


def info(**overrides: ItemInfo) -> dict[str, ItemInfo]:
    base = {it: ItemInfo(category=it[0], price=float(i + 1) * 10)
            for i, it in enumerate(A + B + ["c1"])}
    return {**base, **overrides}


def scored(*items: str) -> list[Scored]:
    return [Scored(it, 1.0 - i / 10, "itemknn") for i, it in enumerate(items)]


def test_rerank_filters_stock_price_rules_and_reports_why() -> None:
    inventory = info(a2=ItemInfo("a", price=20.0, in_stock=False), a3=ItemInfo("a", price=30.0,
                                                                          available=False))
    result = rerank(scored("a1", "a2", "a3", "a4", "b1", "zz"), inventory, n=5,
                    rules=Rules(excluded=("b1",), diversity=0.0),
                    constraints=Constraints(max_price=45.0))
    assert [s.item for s in result.items] == ["a1", "a4"]
    assert result.removed == {"out_of_stock": 1, "discontinued": 2, "excluded": 1}


def test_rerank_category_limit_accepts_sub_categories() -> None:
    inventory = {"shoe": ItemInfo("running_shoes", frozenset({"running_shoes", "shoes"})),
                 "phone": ItemInfo("phones", frozenset({"phones", "electronics"})),
                 "sock": ItemInfo("socks")}
    result = rerank(scored("phone", "shoe", "sock"), inventory, n=3,
                    constraints=Constraints(category="shoes"))
    assert [s.item for s in result.items] == ["shoe"]
    assert result.removed == {"category": 2}


def test_rerank_keeps_only_the_brand_and_colour_asked_for() -> None:
    """"Speakers from JBL", "something in black": like a search, nothing else gets in, and
    a colour picks that variant of a product."""
    inventory = {"flip": ItemInfo("speakers", brand="jbl", color="black", group="flip"),
                 "flip-red": ItemInfo("speakers", brand="jbl", color="red", group="flip"),
                 "soundlink": ItemInfo("speakers", brand="bose", color="black"),
                 "charge": ItemInfo("speakers", brand="jbl", color="red")}
    jbl = rerank(scored("soundlink", "flip", "charge"), inventory, n=5,
                 constraints=Constraints(brand="jbl"))
    assert [s.item for s in jbl.items] == ["flip", "charge"]
    assert jbl.removed == {"brand": 1}
    red_jbl = rerank(scored("flip", "soundlink", "flip-red", "charge"), inventory, n=5,
                     constraints=Constraints(brand="jbl", color="red"))
    assert [s.item for s in red_jbl.items] == ["flip-red", "charge"]
    assert red_jbl.removed == {"color": 1, "brand": 1}


def test_rerank_shows_one_variant_per_product_and_never_the_product_asked_about() -> None:
    inventory = {"red": ItemInfo("shoes", group="shoe-1"),
                 "blue": ItemInfo("shoes", group="shoe-1"),
                 "boot": ItemInfo("shoes", group="boot-1"),
                 "own": ItemInfo("shoes", group="laptop")}
    result = rerank(scored("red", "own", "blue", "boot"), inventory, n=4,
                    avoid_groups=frozenset({"laptop"}))
    assert [s.item for s in result.items] == ["red", "boot"]
    assert result.removed == {"same_product": 2}


def test_rerank_contradictory_limits_and_everything_sold_out() -> None:
    assert rerank(scored("a1"), info(), n=3, constraints=Constraints(min_price=90,
                                                                     max_price=10)).items == ()
    sold_out = {it: ItemInfo(it[0], price=1.0, in_stock=False) for it in A}
    assert rerank(scored(*A), sold_out, n=3).removed == {"out_of_stock": 5}


def test_rerank_diversity_and_pinned_products() -> None:
    ranked = scored("a1", "a2", "a3", "b1")
    plain = rerank(ranked, info(), n=2, rules=Rules(diversity=0.0))
    diverse = rerank(ranked, info(), n=2, rules=Rules(diversity=0.6))
    assert [s.item for s in plain.items] == ["a1", "a2"]
    assert [s.item for s in diverse.items] == ["a1", "b1"]
    pinned = rerank(ranked, info(), n=2, pinned=[Scored("c1", 9.0, "pinned")])
    assert pinned.items[0].item == "c1"
    with pytest.raises(ConfigError):
        Rules(diversity=2.0)


def test_variant_assignment_is_deterministic_and_follows_weights() -> None:
    experiment = Experiment.parse("recs-test", "pipeline:80,popular:20")
    assert experiment.assign("alice") == experiment.assign("alice")
    counts = Counter(experiment.assign(f"user{i}") for i in range(5000))
    assert 0.76 < counts["pipeline"] / 5000 < 0.84
    reshuffled = Experiment.parse("other", "pipeline:80,popular:20")
    assert any(experiment.assign(f"u{i}") != reshuffled.assign(f"u{i}") for i in range(50))
    for bad in ("pipeline:x", "pipeline:-1", ""):
        with pytest.raises(ConfigError):
            Experiment.parse("e", bad)


def test_report_counts_clicks_only_on_shown_items() -> None:
    events = [Event("r1", "u1", "pipeline", "a1", "shown"), Event("r1", "u1", "pipeline", "a2",
                                                                  "shown"),
              Event("r1", "u1", "pipeline", "a1", "click"),
              Event("r1", "u1", "pipeline", "zz", "click"),  # never shown: ignored
              Event("r2", "u2", "popular", "b1", "shown"),
              Event("r2", "u2", "popular", "b1", "purchase")]
    stats = {s.variant: s for s in report(events)}
    assert stats["pipeline"].impressions == 2 and stats["pipeline"].clicks == 1
    assert stats["pipeline"].ctr == 0.5
    assert stats["popular"].conversion == 1.0
    low, high = stats["pipeline"].ctr_interval
    assert 0 < low < 0.5 < high < 1


@pytest.fixture()
def model(catalog: Catalog) -> Recommender:
    return Recommender(ranker={"min_leaf": 5}).fit(make_log(), catalog=catalog)


def test_saved_model_answers_like_the_original_and_holds_no_pickle(
        model: Recommender, tmp_path: Path) -> None:
    save(model, tmp_path / "v1")
    loaded = load(tmp_path / "v1")
    for user in ("u1", "u30", None):
        assert [s.item for s in loaded.recommend(user, 5)] == \
            [s.item for s in model.recommend(user, 5)]
    for path in (tmp_path / "v1").glob("*.npz"):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                header = archive.read(name)[:128]
                assert b"'descr': '|O'" not in header, f"{path.name}/{name} holds objects"
    manifest = json.loads((tmp_path / "v1" / "manifest.json").read_text())
    manifest["format"] = 99
    (tmp_path / "v1" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError):
        load(tmp_path / "v1")


def test_store_hot_reloads_a_new_version_and_survives_a_broken_one(
        model: Recommender, tmp_path: Path, catalog: Catalog) -> None:
    store = ModelStore(tmp_path / "recsys", check_seconds=0)
    assert store.current() is None
    first = store.publish(model)
    live = store.current()
    assert live is not None and live[1] == first
    retrained = Recommender(ranker={"min_leaf": 5}).fit(make_log(seed=3), catalog=catalog)
    second = store.publish(retrained)
    assert second != first and store.current()[1] == second  # type: ignore[index]
    (tmp_path / "recsys" / "broken").mkdir()
    (tmp_path / "recsys" / "CURRENT").write_text("broken")
    assert store.current()[1] == second  # type: ignore[index]  # the old one keeps serving


def service(tmp_path: Path, model: Recommender | None, inventory: dict[str, ItemInfo],
            log: list[Event], **kwargs: object) -> RecommenderService:
    store = ModelStore(tmp_path / "recsys", check_seconds=0)
    if model is not None:
        store.publish(model)
    return RecommenderService(store=store, inventory=lambda: inventory, sink=log.extend,
                              accessories=lambda sku: ["b5"] if sku == "a1" else [],
                              **kwargs)  # type: ignore[arg-type]


def test_service_answers_and_logs_what_it_showed(model: Recommender, tmp_path: Path) -> None:
    logged: list[Event] = []
    svc = service(tmp_path, model, info(), logged,
                  experiment=Experiment.parse("exp", "pipeline:1,popular:1"))
    result = svc.for_user("u2", n=3)
    assert result.status is Status.OK and len(result.items) == 3
    assert result.variant in ("pipeline", "popular") and result.model_version
    assert [e.item for e in logged] == [r.item for r in result.items]
    assert {e.request for e in logged} == {result.request_id}
    goes_with = svc.complements("a1", n=3)
    assert goes_with.items[0].item == "b5" and goes_with.items[0].channel == "accessory"
    assert "a1" not in [r.item for r in svc.similar("a1", n=5).items]


def test_warming_up_loads_the_model_before_the_first_customer(model: Recommender,
                                                              tmp_path: Path) -> None:
    logged: list[Event] = []
    loads: list[int] = []
    svc = service(tmp_path, model, info(), logged)
    svc.store.check_seconds = 3600
    original = svc.store.current

    def counted() -> object:
        if svc.store._model is None:  # noqa: SLF001 - what the first request would wait for
            loads.append(1)
        return original()

    svc.store.current = counted  # type: ignore[method-assign]
    assert svc.warm_up() and loads == [1]
    assert logged == []  # warming up shows nobody anything
    assert svc.for_user("u2", n=3).status is Status.OK and loads == [1]  # already loaded


def test_warming_up_without_a_model_says_so(tmp_path: Path) -> None:
    assert service(tmp_path, None, info(), []).warm_up() is False


def test_service_bad_input_gives_statuses_not_exceptions(model: Recommender,
                                                         tmp_path: Path) -> None:
    inventory = info(new1=ItemInfo("a", price=5.0))  # a product newer than the model
    svc = service(tmp_path, model, inventory, [])
    assert svc.similar("no-such-product").status is Status.UNKNOWN_ITEM
    fallback = svc.similar("new1", n=3)
    assert fallback.status is Status.FALLBACK
    assert all(inventory[r.item].category == "a" for r in fallback.items)
    assert svc.for_user("u1", constraints=Constraints(min_price=50, max_price=5)).status \
        is Status.CONTRADICTORY
    assert svc.for_user("u1", constraints=Constraints(max_price=1)).status \
        is Status.NOTHING_LEFT
    assert svc.for_user("never-seen", session=["not-a-product"]).status is Status.OK
    sold_out = {k: ItemInfo(v.category, price=v.price, in_stock=False) for k, v in info().items()}
    assert service(tmp_path / "x", model, sold_out, []).for_user("u1").status \
        is Status.NOTHING_LEFT
    assert service(tmp_path / "y", None, info(), []).for_user("u1").status is Status.NO_MODEL


def test_interactions_from_records_accepts_an_empty_log() -> None:
    empty = Interactions.from_records([])
    assert len(empty) == 0 and empty.weights.dtype == np.float32


def test_rerank_keeps_the_last_place_for_a_new_product() -> None:
    items = [Scored(f"a{i}", 1.0 - i / 10, "itemknn") for i in range(6)] + \
        [Scored("c1", 0.01, "new", "a0")]
    inventory = {**{f"a{i}": ItemInfo("a", price=10.0) for i in range(6)},
                 "c1": ItemInfo("c", price=10.0)}
    shown = rerank(items, inventory, n=4).items
    assert [s.item for s in shown] == ["a0", "a1", "a2", "c1"]
    sold_out = {**inventory, "c1": ItemInfo("c", price=10.0, in_stock=False)}
    assert "c1" not in [s.item for s in rerank(items, sold_out, n=4).items]
    assert [s.item for s in rerank(items, inventory, n=1).items] == ["a0"]
