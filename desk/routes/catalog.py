"""The catalog (products to send) and canned responses (supervisors manage them)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.web import Desk, Refused, body_of, guard, json_reply, text_of


def register(app: Sanic, desk: Desk) -> None:
    """The catalog's and canned responses' routes."""

    @app.get("/desk/api/products")
    @guard
    async def products(request: Request) -> HTTPResponse:
        desk.need(request)
        query = str(request.args.get("q") or "")[:100]
        lang = "zh" if request.args.get("lang") == "zh" else "en"
        from desk.context import search_products

        cards = await asyncio.to_thread(search_products, query, lang=lang, conversation=None)
        return json_reply({"products": cards})

    @app.get("/desk/api/canned")
    async def canned_list(request: Request) -> HTTPResponse:
        desk.need(request)
        canned = await asyncio.to_thread(desk.accounts.canned)
        return json_reply({"canned": [asdict(c) for c in canned]})

    @app.post("/desk/api/canned")
    @guard
    async def canned_add(request: Request) -> HTTPResponse:
        current = desk.need(request, write=True)
        body = body_of(request)
        item = await asyncio.to_thread(
            lambda: desk.accounts.add_canned(language=str(body.get("language") or ""),
                                        title=text_of(body, "title"),
                                        text=text_of(body, "text"), by=current.user))
        return json_reply({"canned": asdict(item)}, 201)

    @app.delete("/desk/api/canned/<canned_id:int>")
    @guard
    async def canned_delete(request: Request, canned_id: int) -> HTTPResponse:
        current = desk.need(request, write=True)
        if not await asyncio.to_thread(desk.accounts.delete_canned, canned_id, by=current.user):
            raise Refused(404, "not found")
        return json_reply({"ok": True})
