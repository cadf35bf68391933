"""Dependencies point one way: the domain packages import neither Rasa, the actions,
the bot, nor each other (docs/architecture.md). A package's ``__main__.py`` (its
command line, an adapter like ``scripts/``) is not part of its domain code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ["shop", "knowledge_graph", "recsys", "vision", "pricing", "handoff", "stream", "privacy"]
OUTER = {"rasa", "rasa_sdk", "actions", "bot", "storefront", "scripts", "telemetry", "shopctl"}


def imported(path: Path) -> list[str]:
    """Absolute module names a file imports."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", DOMAIN)
def test_a_domain_package_imports_no_outer_layer_and_no_other_domain(package: str) -> None:
    wrong = [(str(path.relative_to(ROOT)), name)
             for path in sorted((ROOT / package).rglob("*.py")) if path.name != "__main__.py"
             for name in imported(path)
             if name.split(".")[0] in OUTER
             or (name.split(".")[0] in DOMAIN and name.split(".")[0] != package)]
    assert not wrong, f"{package} imports what it must not: {wrong}"


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom rasa.core import agent\nfrom .x import y\n")
    assert imported(sample) == ["os", "rasa.core"]
