"""One conversation: its transcript and shop context, photos, claim, replies (text or a
product card), notes, transfer, handback and the typing hint."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.bot import BotUnavailable
from desk.web import HEADERS, Desk, Refused, body_of, guard, handoff_json, json_reply, text_of
from telemetry import metrics


def register(app: Sanic, desk: Desk) -> None:
    """The conversation's routes."""

    @app.get("/desk/api/handoffs/<handoff_id:int>")
    @guard
    async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request)
        handoff = await desk.viewable(current, handoff_id)
        history = await desk.bot.history(handoff.conversation) or {
            "conversation": handoff.conversation, "messages": [], "notes": [], "shown": [],
            "photos": [], "slots": {}, "customer_id": None}
        from desk.context import shop_context

        context = await asyncio.to_thread(shop_context, history, lang=handoff.language)
        events = await asyncio.to_thread(desk.handoffs.events, handoff_id)
        try:  # what reached the customer (the desk still opens when Rasa is down)
            deliveries = await desk.bot.deliveries(handoff.channel, handoff.conversation)
        except BotUnavailable:
            deliveries = []
        return json_reply({"handoff": handoff_json(handoff, time.time()), "history": history,
                           "context": context, "events": [asdict(e) for e in events],
                           "deliveries": deliveries})

    @app.get("/desk/api/handoffs/<handoff_id:int>/photos/<media_id>")
    @guard
    async def photo(request: Request, handoff_id: int, media_id: str) -> HTTPResponse:
        current = desk.need(request)
        handoff = await desk.viewable(current, handoff_id)
        history = await desk.bot.history(handoff.conversation) or {}
        if media_id not in (history.get("photos") or []):
            raise Refused(404, "no such photo in this conversation")
        try:
            data = await asyncio.to_thread(desk.media.get, media_id)
        except Exception:  # noqa: BLE001 - gone or unreadable
            raise Refused(404, "the photo is no longer stored") from None
        kind = ("image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else
                "image/webp" if data[8:12] == b"WEBP" else "image/jpeg")
        return response.raw(data, content_type=kind, headers=dict(HEADERS))

    @app.post("/desk/api/handoffs/<handoff_id:int>/claim")
    @guard
    async def claim(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        await desk.viewable(current, handoff_id)
        handoff = await asyncio.to_thread(desk.handoffs.claim, handoff_id, current.user.id)
        if handoff.assigned_at is not None:
            metrics.QUEUE_WAIT.observe(max(handoff.assigned_at - handoff.requested_at, 0.0))
        await desk.bot.wake()  # the record changed: the customer is told who joined
        return json_reply({"handoff": asdict(handoff)})

    @app.post("/desk/api/handoffs/<handoff_id:int>/reply")
    @guard
    async def reply(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        handoff = await desk.held(current, handoff_id)
        body = body_of(request)
        author = {"author": current.user.name, "agent_id": current.user.id}
        if body.get("product"):
            sku = text_of(body, "product")
            from desk.context import product_card_of

            card = await asyncio.to_thread(product_card_of, sku, lang=handoff.language,
                                           conversation=handoff.conversation)
            if card is None:
                raise Refused(404, "no such product")
            message = {"text": f"{card['title']} — {card['price']}",
                       "custom": {"type": "product_cards", "cards": [card], "source": "agent",
                                  "listed": "all"},
                       **author}
            kind, shown = "product", card["title"]
        else:
            text = text_of(body, "text")
            message, kind, shown = {"text": text, **author}, "text", text
        entry = await desk.bot.send(handoff.channel, handoff.conversation, message)
        await asyncio.to_thread(desk.handoffs.replied, handoff_id, current.user.id, kind=kind,
                                text=shown)
        metrics.AGENT_REPLIES.inc()
        if handoff.first_reply_at is None:
            metrics.FIRST_REPLY.observe(max(desk.handoffs.now() - handoff.requested_at, 0.0))
        return json_reply({"id": entry, "message": message})

    @app.post("/desk/api/handoffs/<handoff_id:int>/deliveries/<delivery_id:int>/retry")
    @guard
    async def retry(request: Request, handoff_id: int, delivery_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        handoff = await desk.held(current, handoff_id)
        delivery = await desk.bot.retry(delivery_id, handoff.conversation)
        if delivery["status"] == "sent":
            await asyncio.to_thread(desk.handoffs.replied, handoff_id, current.user.id,
                                    kind="text", text=str(delivery.get("text") or ""))
        return json_reply({"delivery": delivery})

    @app.post("/desk/api/handoffs/<handoff_id:int>/note")
    @guard
    async def note(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        handoff = await desk.viewable(current, handoff_id)
        text = text_of(body_of(request), "text")
        await desk.bot.event(handoff.conversation, "note", {"author": current.user.name,
                                                        "text": text})
        await asyncio.to_thread(desk.handoffs.noted, handoff_id, current.user.id, text)
        return json_reply({"ok": True})

    @app.post("/desk/api/handoffs/<handoff_id:int>/transfer")
    @guard
    async def transfer(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        await desk.viewable(current, handoff_id)
        target = text_of(body_of(request), "to")
        updated = await asyncio.to_thread(desk.handoffs.transfer, handoff_id, by=current.user.id,
                                          to=target)
        await desk.bot.wake()
        return json_reply({"handoff": asdict(updated)})

    @app.post("/desk/api/handoffs/<handoff_id:int>/handback")
    @guard
    async def handback(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        handoff = await desk.held(current, handoff_id)
        summary = text_of(body_of(request), "summary", required=False) or None
        # one atomic step of the record; the Rasa server greets the customer back when it
        # applies it (now, or when it is back if it is down): nothing to tie together here
        updated = await asyncio.to_thread(desk.handoffs.hand_back, handoff.id, current.user.id,
                                          summary=summary)
        await desk.bot.wake()
        return json_reply({"handoff": asdict(updated)})

    @app.post("/desk/api/handoffs/<handoff_id:int>/typing")
    @guard
    async def typing(request: Request, handoff_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        on = bool(body_of(request).get("on"))
        # showing the hint needs the conversation; taking it away never does (after a
        # handback or a transfer the page may still clear what it showed)
        handoff = await (desk.held(current, handoff_id) if on
                         else desk.viewable(current, handoff_id))
        await desk.bot.typing(handoff.channel, handoff.conversation, on=on,
                         author=current.user.name)
        return json_reply({"ok": True})
