"""make desk-report on a queue with known handoffs."""

from __future__ import annotations

from pathlib import Path

from handoff import HandoffService
from scripts.desk_report import main, summarise


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_report_counts_reasons_languages_reply_times_and_csat(tmp_path: Path) -> None:
    clock = Clock()
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    service = HandoffService(url=url, clock=clock)
    service.create_schema()
    service.upsert_agent("ann", name="Ann", capacity=5)
    service.set_online("ann", True)
    for i, (lang, reason, reply_after, score) in enumerate(
            [("en", "asked", 10, 5), ("zh", "asked", 30, 4), ("zh", "upset", 50, None)]):
        ticket = service.request(f"c{i}", channel="widget", language=lang, reason=reason)
        service.claim(ticket.id, "ann")
        clock.now += reply_after
        service.replied(ticket.id, "ann", text="hi")
        service.hand_back(ticket.id, "ann")
        if score:
            service.rate(ticket.id, score)
    service.request("c9", channel="rest", language="en", reason="fallbacks")
    service.cancel("c9")
    report = summarise(service.history())
    assert report["by_reason"] == {"asked": 2, "upset": 1, "fallbacks": 1}
    assert report["by_language"] == {"zh": 2, "en": 2}
    assert report["first_reply_p50_s"] == 30 and report["first_reply_p95_s"] == 48
    assert report["handback_rate"] == 0.75
    assert report["csat_mean"] == 4.5 and report["csat_distribution"]["5"] == 1
    assert main(["--db", url, "--out", str(tmp_path / "out"), "--days", "100000"]) == 0
    assert (tmp_path / "out" / "desk-report.png").stat().st_size > 1000
    assert "first agent reply p95 | 48.0 s" in (tmp_path / "out" / "desk-report.md").read_text()



def test_the_report_counts_every_conversation_the_stream_told(tmp_path: Path) -> None:
    """Conversations the stream's consumer took (``stream/``): by channel and language,
    with a fallback, offered and handed to a person."""
    from shop.db import make_engine
    from stream import StreamStore
    from tests.stream.test_facts import conversation

    stream_db = f"sqlite:///{tmp_path / 'shop.db'}"
    store = StreamStore(make_engine(stream_db))
    long_one = conversation("a")
    short_one = [{**e, "sender_id": "b"} for e in conversation("b")[:4]]  # a greeting
    short_one[2] = {**short_one[2], "value": "en"}
    for number, event in enumerate(long_one + short_one):
        assert store.take(event, digest=str(number))
    handoff_db = f"sqlite:///{tmp_path / 'handoff.db'}"
    out = tmp_path / "out"
    assert main(["--db", handoff_db, "--stream-db", stream_db, "--out", str(out),
                 "--days", "100000"]) == 0
    text = (out / "desk-report.md").read_text()
    assert "| conversations | 2 |" in text and "| by channel | widget 2 |" in text
    languages = [line for line in text.splitlines() if line.startswith("| by language")][-1]
    assert sorted(languages.strip("| ").split(" | ")[1].split(", ")) == ["en 1", "zh 1"]
    assert "| with a fallback | 50% |" in text and "| handed to a person | 50% |" in text
