"""Rasa's events to RabbitMQ (127.0.0.1:5672 on every dev and CI machine) through
``bot.event_broker.SpooledEventBroker``, with RabbitMQ cut off and back: nothing is
lost, nothing waits in memory only, the order is kept, and a Rasa server starts while
RabbitMQ is away.

RabbitMQ is reached through a small TCP relay the test can cut (the machine's
RabbitMQ itself is shared and stays up): cutting it drops every open connection and
refuses new ones, as a RabbitMQ restart or a network split would.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from tests.relay import Relay

RABBIT = ("127.0.0.1", 5672)


async def _drain(queue_name: str, expect: int, timeout: float = 20.0) -> list[dict]:
    """Read (and acknowledge) what the queue holds, waiting for ``expect`` messages."""
    import aio_pika

    got: list[dict] = []
    connection = await aio_pika.connect(f"amqp://guest:guest@{RABBIT[0]}:{RABBIT[1]}/")
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < expect and asyncio.get_running_loop().time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            got.append(json.loads(message.body))
    return got


async def _delete(queue_name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(f"amqp://guest:guest@{RABBIT[0]}:{RABBIT[1]}/")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue_name)


@pytest.fixture
def names(tmp_path: Path) -> dict[str, str]:
    return {"queue": f"test.events.{uuid.uuid4().hex[:10]}",
            "spool": f"sqlite:///{tmp_path / 'spool.db'}"}


def _events(start: int, count: int) -> list[dict]:
    return [{"event": "user", "sender_id": "c1", "text": f"m{n}"} for n in
            range(start, start + count)]


def test_events_wait_out_rabbitmq_going_away_and_a_restart(names: dict[str, str]) -> None:
    from bot.event_broker import SpooledEventBroker

    async def scenario() -> None:
        relay = await Relay(RABBIT).start()
        url = f"amqp://guest:guest@127.0.0.1:{relay.port}/"
        broker = SpooledEventBroker(url, queues=[names["queue"]], spool_url=names["spool"],
                                    retry_seconds=0.2)
        broker.start()
        assert await broker.wait_connected(10)
        for event in _events(0, 3):
            broker.publish(event)
        assert [e["text"] for e in await _drain(names["queue"], 3)] == ["m0", "m1", "m2"]

        await relay.cut()  # RabbitMQ away
        for event in _events(3, 4):
            broker.publish(event)
        for _ in range(100):
            if broker.spooled == 4:
                break
            await asyncio.sleep(0.05)
        assert broker.unsent() == 4 and not broker.is_ready()
        await broker.close()  # the Rasa server stops while RabbitMQ is away

        # it starts again, RabbitMQ still away: no error, the spool is still there
        from rasa.utils.endpoints import EndpointConfig

        again = await SpooledEventBroker.from_endpoint_config(EndpointConfig(
            url=url, type="bot.event_broker.SpooledEventBroker", queues=[names["queue"]],
            spool_url=names["spool"], retry_seconds=0.2))
        assert not again.is_ready() and again.unsent() == 4
        again.publish(_events(7, 1)[0])
        await relay.start()  # RabbitMQ back, on the same address
        texts = [e["text"] for e in await _drain(names["queue"], 5)]
        assert texts == ["m3", "m4", "m5", "m6", "m7"]  # kept, in order, once
        assert again.unsent() == 0 and again.is_ready()
        await again.close()
        await _delete(names["queue"])
        await relay.cut()

    asyncio.run(scenario())


def test_rasa_loads_it_from_the_endpoints_file(names: dict[str, str]) -> None:
    from rasa.core.brokers.broker import EventBroker
    from rasa.utils.endpoints import EndpointConfig

    from bot.event_broker import SpooledEventBroker

    async def scenario() -> None:
        broker = await EventBroker.create(EndpointConfig(
            url=f"amqp://guest:guest@{RABBIT[0]}:{RABBIT[1]}/",
            type="bot.event_broker.SpooledEventBroker", queues=[names["queue"]],
            spool_url=names["spool"]))
        assert isinstance(broker, SpooledEventBroker) and broker.is_ready()
        broker.publish({"event": "user", "sender_id": "c2", "text": "你好"})
        assert [e["text"] for e in await _drain(names["queue"], 1)] == ["你好"]
        await broker.close()
        await _delete(names["queue"])

    asyncio.run(scenario())
