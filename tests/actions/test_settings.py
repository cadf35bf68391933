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


def test_photo_defaults_live_under_the_data_directory(tmp_path) -> None:
    s = load_settings({"SHOP_DATA_DIR": str(tmp_path), "VISION_VIEWS": "center, flip"})
    assert s.media_dir == tmp_path / "media" and s.vision_dir == tmp_path / "vision"
    assert s.vision_views == ("center", "flip") and s.vision_projection == "lda"
    assert s.vision_model == "lite0" and (s.vision_threshold, s.vision_floor) == (0.5, 0.38)
    lite2 = load_settings({"SHOP_DATA_DIR": str(tmp_path), "VISION_MODEL": "lite2"})
    assert (lite2.vision_threshold, lite2.vision_floor) == (0.55, 0.42)  # its own measured bounds
    assert s.vision_floor <= s.vision_threshold and s.upload_max_bytes == 10 * 1024 * 1024
    assert (s.vision_tuned, s.vision_tune_epochs) == ("auto", 8)  # tuned weights used if made


@pytest.mark.parametrize(("env", "message"), [
    ({"VISION_VIEWS": "center,sideways"}, "unknown view"),
    ({"VISION_PROJECTION": "pca"}, "VISION_PROJECTION must be one of"),
    ({"VISION_MODEL": "resnet50"}, "VISION_MODEL must be one of"),
    ({"VISION_THRESHOLD": "0.3", "VISION_FLOOR": "0.6"}, "VISION_FLOOR must not exceed"),
    ({"VISION_REJECT": "0.05"}, "VISION_FLOOR_REJECT exceed"),
    ({"UPLOAD_MAX_BYTES": "-5"}, "between 1024"),
    ({"VISION_THREADS": "0"}, "between 1 and 64"),
    ({"VISION_TUNED": "yes"}, "VISION_TUNED must be one of"),
    ({"VISION_TUNE_EPOCHS": "0"}, "between 1 and 100"),
])
def test_bad_photo_settings_are_refused(tmp_path, env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"SHOP_DATA_DIR": str(tmp_path), **env})
