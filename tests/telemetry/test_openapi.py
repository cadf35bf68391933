"""docs/openapi/{actions,desk,storefront}.yaml describe exactly the routes those servers
register (the Rasa server's: tests/bot/test_openapi.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.routes import described, difference, registered


def _app(name: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"SHOP_DATA_DIR": str(tmp_path), "ACTION_SERVER_TOKEN": "x" * 32}
    if name == "actions":
        from actions.server import create_app
        from actions.settings import load_settings

        return create_app(load_settings(env))
    if name == "desk":
        from desk.app import create_app as desk_app
        from desk.settings import load_settings as desk_settings

        return desk_app(desk_settings(env), name=f"desk_{uuid.uuid4().hex[:8]}")
    from storefront.app import create_app as storefront_app
    from storefront.settings import load_settings as storefront_settings

    return storefront_app(storefront_settings(env))


@pytest.mark.parametrize("name", ["actions", "desk", "storefront"])
def test_every_route_is_described(name: str, tmp_path: Path) -> None:
    served = registered(_app(name, tmp_path))
    assert served, "the comparison sees routes"
    assert served == described(name), difference(served, name)
