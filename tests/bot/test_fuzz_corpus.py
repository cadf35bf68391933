"""Every input `make fuzz-parsers` kept for the channels' parsers (fuzz/corpus/) is
answered, never crashed on: what the fuzzer found once stays fixed."""

from __future__ import annotations

import pytest

from fuzz import corpus
from fuzz.bot import TARGETS


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_kept_input_is_answered(target: str) -> None:
    inputs = corpus(target)
    assert inputs, f"fuzz/corpus/{target} is empty: run make fuzz-parsers"
    for path in inputs:
        TARGETS[target](path.read_bytes())  # refusals are caught inside; anything else fails
