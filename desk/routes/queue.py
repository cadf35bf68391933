"""The queue: who is signed in, the queue and the agents, availability, the live feed
(server-sent events) and the Rasa server's wake-up call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import asdict

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.web import (
    COOKIE,
    HEADERS,
    Desk,
    Refused,
    body_of,
    cookie,
    guard,
    handoff_json,
    json_reply,
)
from handoff import HandoffNotFound


def register(app: Sanic, desk: Desk) -> None:
    """The queue's routes."""

    @app.get("/desk/api/me")
    async def me(request: Request) -> HTTPResponse:
        current = desk.need(request)
        agent = await asyncio.to_thread(desk.handoffs.agent, current.user.id)
        return json_reply({"user": asdict(current.user), "online": agent.online,
                           "capacity": agent.capacity, "holding": agent.holding,
                           "assignment": desk.config.assignment})

    @app.get("/desk/api/queue")
    async def queue(request: Request) -> HTTPResponse:
        current = desk.need(request)
        items = await asyncio.to_thread(desk.handoffs.visible_to, current.user.id)
        now = time.time()
        return json_reply({"handoffs": [handoff_json(h, now) for h in items]})

    @app.get("/desk/api/agents")
    async def agents(request: Request) -> HTTPResponse:
        desk.need(request)
        agents = await asyncio.to_thread(desk.handoffs.agents)
        return json_reply({"agents": [asdict(a) for a in agents]})

    @app.post("/desk/api/status")
    @guard
    async def status(request: Request) -> HTTPResponse:
        current = desk.need(request, write=True)
        online = bool(body_of(request).get("online"))
        agent = await asyncio.to_thread(desk.handoffs.set_online, current.user.id, online)
        desk.hub.publish({"type": "agents"})
        return json_reply({"online": agent.online})

    @app.get("/desk/api/stream")
    async def stream(request: Request) -> None:
        current = desk.need(request)
        subscriber = desk.hub.subscribe(current.user)
        await asyncio.to_thread(desk.handoffs.set_online, current.user.id, True)
        desk.hub.publish({"type": "agents"})
        reply = await request.respond(content_type="text/event-stream", headers={
            **HEADERS, "X-Accel-Buffering": "no"})
        try:
            await reply.send("retry: 2000\n\n")
            await reply.send(f"data: {json.dumps({'type': 'hello'})}\n\n")
            while True:
                try:
                    payload = await asyncio.wait_for(subscriber.queue.get(), timeout=15)
                except asyncio.TimeoutError:
                    await reply.send(": keep-alive\n\n")
                    continue
                if desk.accounts.session(cookie(request, COOKIE)) is None:
                    await reply.send('data: {"type": "signed_out"}\n\n')
                    break
                await reply.send(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n")
        except Exception:  # noqa: BLE001 - the page went away
            pass
        finally:
            desk.hub.unsubscribe(subscriber)
            if not desk.hub.online(current.user.id):
                await asyncio.to_thread(desk.handoffs.set_online, current.user.id, False)
                desk.hub.publish({"type": "agents"})
            with contextlib.suppress(Exception):
                await reply.eof()

    @app.post("/desk/internal/wake")
    async def wake(request: Request) -> HTTPResponse:
        token = desk.config.desk_token
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not token or not secrets.compare_digest(given.encode(), token.encode()):
            raise Refused(401, "a valid bearer token is required")
        desk.hub.wake()
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = {}
        if isinstance(body, dict) and body.get("kind") == "customer_typing" \
                and isinstance(body.get("handoff"), int):
            with contextlib.suppress(HandoffNotFound):
                handoff = await asyncio.to_thread(desk.handoffs.get, body["handoff"])
                desk.hub.publish({"type": "typing", "handoff": handoff.id,
                             "on": bool(body.get("on"))}, handoff=handoff)
        return json_reply({"ok": True})
