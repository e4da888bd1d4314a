"""The websocket consumers' heartbeat: a slow consumer's full channel drops a beat, and a
failing beat does not end the heartbeat; the next beat goes out once the channel has room."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import InMemoryChannelLayer

from chat.consumers import StreamConsumer


class Probe(StreamConsumer):
    """A stream consumer whose access check is scripted and counted (no database)."""

    def __init__(self, answers: list[bool | Exception]) -> None:
        super().__init__()
        self.answers = answers
        self.checks = 0
        self.checked = asyncio.Event()

    async def authorized(self) -> bool:
        self.checks += 1
        self.checked.set()
        answer = self.answers[min(self.checks, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def beats_after(consumer: Probe, *, checks: int) -> tuple[bool, list[str]]:
    """Run the heartbeat until it has checked access `checks` times; whether it was still
    running then, and the types on the consumer's channel once it has run on."""
    heartbeat = asyncio.ensure_future(consumer._beat())
    try:
        while consumer.checks < checks:
            consumer.checked.clear()
            await asyncio.wait_for(consumer.checked.wait(), timeout=5)
        await asyncio.sleep(0)  # the send after the last check
        alive = not heartbeat.done()
        received = []
        while len(received) < 2:
            message = await asyncio.wait_for(
                consumer.channel_layer.receive(consumer.channel_name), timeout=5
            )
            received.append(message["type"])
        return alive, received
    finally:
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)


async def a_consumer(answers: list[bool | Exception], *, capacity: int) -> Probe:
    consumer = Probe(answers)
    consumer.channel_layer = InMemoryChannelLayer(capacity=capacity)
    consumer.channel_name = await consumer.channel_layer.new_channel()
    return consumer


def test_a_beat_on_a_full_channel_is_dropped_and_the_next_one_goes_out(settings: Any) -> None:
    settings.CHAT_WS_HEARTBEAT_SECONDS = 0.01

    async def scenario() -> tuple[bool, list[str]]:
        consumer = await a_consumer([True], capacity=1)
        await consumer.channel_layer.send(consumer.channel_name, {"type": "chat.events"})
        return await beats_after(consumer, checks=3)  # two beats meet the full channel

    alive, received = asyncio.run(scenario())

    assert alive, "the heartbeat ended on a full channel"
    assert received == ["chat.events", "stream.beat"], "the queued message, then a later beat"


def test_a_failing_access_check_does_not_end_the_heartbeat(settings: Any) -> None:
    settings.CHAT_WS_HEARTBEAT_SECONDS = 0.01

    async def scenario() -> tuple[bool, list[str]]:
        consumer = await a_consumer([RuntimeError("database gone"), True], capacity=10)
        return await beats_after(consumer, checks=3)

    alive, received = asyncio.run(scenario())

    assert alive
    assert received == ["stream.beat", "stream.beat"]


def test_a_check_that_says_no_closes_the_socket_and_ends_the_heartbeat(settings: Any) -> None:
    settings.CHAT_WS_HEARTBEAT_SECONDS = 0.01
    closed: list[int | None] = []

    async def scenario() -> bool:
        consumer = await a_consumer([False], capacity=10)

        async def close(code: int | None = None, reason: str | None = None) -> None:
            closed.append(code)

        consumer.close = close  # type: ignore[method-assign]
        heartbeat = asyncio.ensure_future(consumer._beat())
        await asyncio.wait_for(heartbeat, timeout=5)
        return consumer.checks == 1

    assert asyncio.run(scenario())
    assert closed == [4403]
