"""Settings of the action server: recommender options are checked at start."""

from __future__ import annotations

import pytest

from actions.settings import SettingsError, load_settings


def test_recommender_defaults_and_lists(tmp_path) -> None:
    s = load_settings({"SHOP_DATA_DIR": str(tmp_path), "RECSYS_PINNED": "A1, B2,,",
                       "RECSYS_DIVERSITY": "0.5"})
    assert s.recsys_dir == tmp_path / "recsys"
    assert s.recsys_pinned == ("A1", "B2") and s.recsys_excluded == ()
    assert s.recsys_diversity == 0.5 and s.recsys_experiment == ""
    assert s.embedding_cache == tmp_path / "cache" / "product_embeddings.npz"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("RECSYS_DIVERSITY", "lots", "must be a number"),
    ("RECSYS_DIVERSITY", "1.5", "between 0.0 and 1.0"),
    ("RECSYS_RELOAD_SECONDS", "-1", "between 0 and 86400"),
    ("RECSYS_VARIANTS", "pipeline:x", "RECSYS_VARIANTS"),
    ("RECSYS_VARIANTS", "pipeline:-2", "RECSYS_VARIANTS"),
])
def test_bad_recommender_settings_are_refused(tmp_path, name: str, value: str,
                                              message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"SHOP_DATA_DIR": str(tmp_path), name: value})
