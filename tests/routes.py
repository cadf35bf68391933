"""The routes a server registers and the routes its OpenAPI description names, as
``(METHOD, /path/{param})`` pairs (tests/bot/test_openapi.py for the Rasa server,
tests/telemetry/test_openapi.py for the others; both environments import this)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("get", "post", "put", "delete", "patch", "options")


def described(name: str) -> set[tuple[str, str]]:
    """The routes ``docs/openapi/<name>.yaml`` describes."""
    paths = yaml.safe_load((ROOT / "docs" / "openapi" / f"{name}.yaml").read_text())["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item
            if method in METHODS}


def registered(app: Any) -> set[tuple[str, str]]:
    """The routes a Sanic app registers (``HEAD`` left out: Sanic adds it to ``GET``)."""
    app.router.finalize()
    return {(method, "/" + re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", route.path).lstrip("/"))
            for route in app.router.routes for method in route.methods
            if method != "HEAD"}


def difference(served: set[tuple[str, str]], name: str) -> dict[str, list[tuple[str, str]]]:
    """What differs, both ways (the assertion's message)."""
    return {"registered, not described": sorted(served - described(name)),
            "described, not registered": sorted(described(name) - served)}
