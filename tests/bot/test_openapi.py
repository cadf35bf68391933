"""docs/openapi/rasa.yaml describes exactly the routes the Rasa server registers, as
`rasa run` builds it from bot/credentials.yml (a route added without its description,
or described but gone, fails here)."""

from __future__ import annotations

from tests.routes import ROOT, described, difference, registered


def test_the_rasa_servers_routes_are_all_described(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import rasa.core.run as run

    monkeypatch.setenv("SHOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHANNEL_PUSH_TOKEN", "x" * 32)
    channels = run.create_http_input_channels(None, str(ROOT / "bot" / "credentials.yml"))
    app = run.configure_app(channels, enable_api=False, route="/webhooks/", endpoints=None)
    served = registered(app)
    assert ("POST", "/webhooks/rest/webhook") in served  # the comparison sees routes
    assert served == described("rasa"), difference(served, "rasa")
