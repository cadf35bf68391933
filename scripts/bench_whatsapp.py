"""WhatsApp channel benchmark: webhook acknowledgement and answer times at 1 and 20
concurrent customers, against the fake WhatsApp Cloud API (tests/fakes/whatsapp.py,
Meta's documented wire format).

The same customers and measures as ``make bench-messenger`` (scripts/bench_messenger.py):
short conversations in English and Chinese (a greeting, a search, a follow-up,
recommendations, thanks), first one at a time, then 20 at once; the acknowledgement
(Meta retries webhooks slow to answer) and the first and last message of each
answer. Writes ``reports/bench_whatsapp.json`` and ``reports/bench_whatsapp.png``.

Usage: ``python -m scripts.bench_whatsapp [--conversations 8] [--concurrency 20]``
"""

from __future__ import annotations

import sys

from scripts.bench_messenger import main as bench
from tests.fakes.whatsapp import FakeWhatsApp


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return bench(argv, fake_class=FakeWhatsApp, name="whatsapp",
                 title="WhatsApp channel against a fake Cloud API")


if __name__ == "__main__":
    sys.exit(main())
