"""Coverage-guided fuzzing (atheris) of the parsers that read strangers' bytes.

Each target takes the fuzzer's bytes and answers them as the server would: a refusal
the parser documents (``BadRequest``, ``ImageError``, ``MalformedCall``…) is an
answer; any other exception is a crash. :mod:`fuzz.actions` holds the action server's
parsers (its environment), :mod:`fuzz.bot` the channels' (Rasa's environment).

``make fuzz-parsers`` (``python -m fuzz.run``) runs each target for a time budget and
keeps what grows the coverage in ``fuzz/corpus/<target>/``; the corpus is committed
and every file in it is replayed by ``make test`` (``tests/fuzz/``, ``tests/bot/``),
so a crash found once stays fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"


def corpus(target: str) -> list[Path]:
    """The kept inputs of ``target``."""
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def replay(targets: Mapping[str, Callable[[bytes], Any]], target: str) -> int:
    """Feed every kept input of ``target`` to it again (a regression test: a refusal is
    caught inside the target, anything else raises); how many there were."""
    inputs = corpus(target)
    for path in inputs:
        targets[target](path.read_bytes())
    return len(inputs)
