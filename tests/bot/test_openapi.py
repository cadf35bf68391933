"""docs/openapi/rasa.yaml describes exactly the routes the Rasa server registers, as
`rasa run` builds it from bot/credentials.yml (a route added without its description,
or described but gone, fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def described(name: str) -> set[tuple[str, str]]:
    paths = yaml.safe_load((ROOT / "docs" / "openapi" / f"{name}.yaml").read_text())["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item
            if method in ("get", "post", "put", "delete", "patch", "options")}


def registered(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    app.router.finalize()
    return {(method, "/" + re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", route.path).lstrip("/"))
            for route in app.router.routes for method in route.methods
            if method != "HEAD"}


def test_the_rasa_servers_routes_are_all_described(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import rasa.core.run as run

    monkeypatch.setenv("SHOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHANNEL_PUSH_TOKEN", "x" * 32)
    channels = run.create_http_input_channels(None, str(ROOT / "bot" / "credentials.yml"))
    app = run.configure_app(channels, enable_api=False, route="/webhooks/", endpoints=None)
    served = registered(app)
    assert ("POST", "/webhooks/rest/webhook") in served  # the comparison sees routes
    assert served == described("rasa"), {
        "registered, not described": sorted(served - described("rasa")),
        "described, not registered": sorted(described("rasa") - served)}
