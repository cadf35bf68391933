"""The conversations ``make bench-load``'s simulated customers hold (read by the
Locust users in ``scripts/locustfile.py`` and by the integrity check in
``scripts/bench_load.py``): (step name, message) per language."""

from __future__ import annotations

SCRIPTS = {
    "en": [("greet", "hi there"), ("search", "show me running shoes"),
           ("price", "how much is the second one?"),
           ("recommend", "what would you recommend under $150?"),
           ("compare", "compare the first and the second"), ("thanks", "thanks, bye")],
    "zh": [("greet", "你好"), ("search", "有没有跑鞋"), ("price", "第二个多少钱"),
           ("recommend", "有什么推荐的，1000元以下"), ("compare", "比较一下第一个和第二个"),
           ("thanks", "谢谢，再见")],
}
#: What a client answers by sending its message again, with the same ``message_id``:
#: no connection or no answer (0), the message still being answered elsewhere (409),
#: no server behind the balancer (502, 503, 504). A 500 is a failure, not retried.
RETRYABLE = frozenset({0, 409, 502, 503, 504})
#: A simulated customer's conversation id: ``load-<language>-<hex>``.
PREFIX = "load-"


def language_of(sender: str) -> str | None:
    """The script language of a simulated conversation id, or None."""
    parts = sender.split("-")
    return parts[1] if sender.startswith(PREFIX) and len(parts) > 2 and \
        parts[1] in SCRIPTS else None
