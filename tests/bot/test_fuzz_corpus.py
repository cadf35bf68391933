"""Every input `make fuzz-parsers` kept for the channels' parsers (fuzz/corpus/) is
answered, never crashed on: what the fuzzer found once stays fixed."""

from __future__ import annotations

import pytest

from fuzz import replay
from fuzz.bot import TARGETS


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_kept_input_is_answered(target: str) -> None:
    assert replay(TARGETS, target), f"fuzz/corpus/{target} is empty: run make fuzz-parsers"
