"""The conversations ``make bench-load``'s simulated customers hold (read by the
Locust users in ``scripts/locustfile.py`` and by the integrity check in
``scripts/bench_load.py``): (step name, message) per language.

``SCRIPTS`` are held over REST; ``WIDGET_SCRIPTS`` over the web widget's socket, by
kind: browsing (a search, a follow-up, a price, a photo of a product), a signed-in
customer's order (``{order}`` is one of the customer's order numbers), and now and
then a request for a person, taken back. ``PHOTO`` marks a step that sends a photo
(its words are the caption).
"""

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
PHOTO = "photo"
WIDGET_SCRIPTS = {
    "en": {
        "browse": [("search", "do you have headphones?"),
                   ("follow-up", "tell me more about the first one"),
                   ("price", "how much is it?"), (PHOTO, "do you sell this?"),
                   ("thanks", "thanks!")],
        "order": [("order", "where is my order {order}?"),
                  ("return policy", "how long do I have to return things?"),
                  ("thanks", "great, thanks")],
        "handoff": [("search", "show me laptops"),
                    ("person", "I want to talk to a person"),
                    ("take back", "actually forget it, how much is the first one?"),
                    ("thanks", "ok thanks")],
    },
    "zh": {
        "browse": [("search", "有没有耳机"), ("follow-up", "第一个详细介绍一下"),
                   ("price", "多少钱"), (PHOTO, "这个有卖吗"), ("thanks", "谢谢")],
        "order": [("order", "我的订单{order}到哪了"), ("return policy", "买的东西多少天之内能退？"),
                  ("thanks", "好的，谢谢")],
        "handoff": [("search", "有没有笔记本电脑"), ("person", "转人工"),
                    ("take back", "算了不用了，第一个多少钱"), ("thanks", "好的谢谢")],
    },
}
#: What a client answers by sending its message again, with the same ``message_id``:
#: no connection or no answer (0), the message still being answered elsewhere (409),
#: no server behind the balancer (502, 503, 504). A 500 is a failure, not retried.
RETRYABLE = frozenset({0, 409, 502, 503, 504})
#: A photo's message, as Rasa keeps it (``bot.channels.media.photo_message``).
PHOTO_MESSAGE = "/share_image"


def kept_as(step: str, text: str) -> str:
    """How the tracker keeps a step's message: a photo as the ``share_image`` intent."""
    return PHOTO_MESSAGE if step == PHOTO else text


def same_message(kept: str | None, sent: str) -> bool:
    """Whether the tracker's text ``kept`` is the message ``sent`` (as :func:`kept_as`
    wrote it)."""
    if sent == PHOTO_MESSAGE:
        return bool(kept) and str(kept).startswith(PHOTO_MESSAGE)
    return kept == sent
