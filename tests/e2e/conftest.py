"""Start the real action server and Rasa server on free ports for end-to-end tests.

The stack runs as ``make run`` starts it, but on a freshly generated demo shop
in a temporary data directory, with its own tracker database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from scripts.stack import MODEL, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    s = Stack(data_dir=tmp_path_factory.mktemp("e2e-data"))
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.fixture()
def sender() -> str:
    """A fresh conversation id."""
    return f"e2e-{uuid.uuid4().hex[:12]}"
