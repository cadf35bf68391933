"""The demo storefront's web app (Sanic): a product grid, product pages, photos.

Every page carries the chat widget with one script tag and is served under a
strict Content-Security-Policy (no inline script or style, scripts only from
this server and the assistant's), so the page itself shows that the widget
needs nothing more. Text from the catalog is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from knowledge_graph.graph import ProductGraph, ProductSummary
from pricing.engine import at_ratio, published_ratios
from pricing.guardrails import PriceState
from storefront.settings import StorefrontSettings

HERE = Path(__file__).parent
PAGE_SIZE = 48
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".webp": "image/webp", ".gif": "image/gif"}
STRINGS = {
    "en": {"shop": "Demo Shop", "all": "All", "products": "Products", "in_stock": "In stock",
           "sold_out": "Sold out", "back": "All products", "chat": "Questions? Ask our assistant "
           "(bottom right) — in English or Chinese, with a photo if you like.",
           "other": "中文", "colour": "Colour", "material": "Material", "price": "Price"},
    "zh": {"shop": "演示商店", "all": "全部", "products": "商品", "in_stock": "有货",
           "sold_out": "缺货", "back": "全部商品",
           "chat": "有问题？右下角的购物助手可以用中文或英文回答，也可以发图片找同款。",
           "other": "English", "colour": "颜色", "material": "材质",
           "price": "价格"},
}


@dataclass(frozen=True)
class Card:
    """A product tile."""

    sku: str
    name: str
    price: str
    in_stock: bool
    image: str | None


def _price(item: ProductSummary, ratio: float) -> str:
    """Today's published price of ``item`` (its list price at ``ratio``), as the chat
    writes it: ``$1,299.00``, ``¥6,499`` (whole yuan at list price) or ``12.50 CHF``."""
    if item.price is None:
        return "—"
    amount = at_ratio(item.price, item.currency, ratio)
    symbol = {"USD": "$", "CNY": "¥", "GBP": "£", "EUR": "€"}.get(item.currency, "")
    number = f"{amount:,.0f}" if item.currency == "CNY" and amount == \
        amount.to_integral_value() else f"{amount:,.2f}"
    return f"{symbol}{number}" if symbol else f"{number} {item.currency}"


class Catalog:
    """What the pages show, read from the product graph and the shop database."""

    def __init__(self, config: StorefrontSettings) -> None:
        self.config = config
        self._graph: ProductGraph | None = None
        self._images: dict[str, str] | None = None
        self._db: Any = None

    @property
    def graph(self) -> ProductGraph:
        if self._graph is None:
            self._graph = ProductGraph.from_file(self.config.graph_path)
        return self._graph

    def images(self) -> dict[str, str]:
        """SKU -> catalog image URI (read once)."""
        if self._images is None:
            import sqlalchemy as sa

            engine = sa.create_engine(self.config.database_url)
            try:
                with engine.connect() as db:
                    rows = db.execute(sa.text(
                        "SELECT sku, image FROM products WHERE image IS NOT NULL")).all()
            except sa.exc.SQLAlchemyError:
                rows = []
            finally:
                engine.dispose()
            self._images = {str(sku): str(uri) for sku, uri in rows if uri}
        return self._images

    def ratios(self, skus: list[str]) -> dict[str, float]:
        """Today's published price over list price of ``skus`` (those the price policy has
        decided; the others sell at list price), read on every page: the chat quotes
        the same prices, and never more."""
        import sqlalchemy as sa

        if not skus:
            return {}
        if self._db is None:
            self._db = sa.create_engine(self.config.database_url)
        query = sa.text("SELECT sku, price, changed_at, decided_at, list_price FROM "
                        "price_states WHERE cell = '' AND sku IN :skus").bindparams(
            sa.bindparam("skus", expanding=True))
        try:
            with self._db.connect() as db:
                rows = db.execute(query, {"skus": skus}).all()
        except sa.exc.SQLAlchemyError:  # no prices published yet: list prices
            return {}
        return published_ratios({str(r[0]): PriceState(float(r[1]), r[2], r[3], r[4])
                                 for r in rows})

    def image_file(self, sku: str) -> Path | None:
        """The photo file of ``sku`` when it lies under an allowed folder."""
        uri = self.images().get(sku)
        if not uri:
            return None
        parsed = urlparse(uri)
        if parsed.scheme not in ("file", ""):
            return None
        path = Path(unquote(parsed.path)).resolve()
        if path.suffix.lower() not in IMAGE_TYPES or not path.is_file():
            return None
        if not any(path.is_relative_to(root) for root in self.config.image_roots):
            return None
        return path

    def cards(self, lang: str, category: str | None) -> tuple[list[Card], int]:
        graph = self.graph
        currency = graph.pick_currency("CNY" if lang == "zh" else "USD")
        result = graph.search(currency=currency, category=category, limit=PAGE_SIZE,
                              sort="price")
        images = self.images()
        ratios = self.ratios([i.sku for i in result.items])
        cards = [Card(sku=i.sku, name=i.name_zh if lang == "zh" else i.name_en,
                      price=_price(i, ratios.get(i.sku, 1.0)), in_stock=i.stock > 0,
                      image=f"/images/{i.sku}" if i.sku in images else None)
                 for i in result.items]
        return cards, result.total

    def categories(self, lang: str) -> list[tuple[str, str]]:
        keys = sorted(set(self.graph.vocabulary("category").values()))
        return [(key, self.graph.label("category", key, lang)) for key in keys]


def _lang(request: Request) -> str:
    wanted = request.args.get("lang")
    if wanted in ("en", "zh"):
        return wanted
    accept = request.headers.get("accept-language", "")
    return "zh" if accept.lower().startswith("zh") else "en"


def create_app(config: StorefrontSettings, *, name: str = "storefront") -> Sanic:
    """The storefront app."""
    app = Sanic(name)
    app.config.ACCESS_LOG = False
    catalog = Catalog(config)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                            autoescape=select_autoescape(["html"]))
    chat = urlparse(config.chat_url)
    ws = f"{'wss' if chat.scheme == 'https' else 'ws'}://{chat.netloc}"
    csp = (f"default-src 'none'; script-src 'self' {config.chat_url}; "
           f"connect-src {config.chat_url} {ws}; img-src 'self' {config.chat_url} blob: data:; "
           "style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "strict-origin-when-cross-origin"}

    def page(template: str, lang: str, **context: Any) -> HTTPResponse:
        html = templates.get_template(template).render(
            lang=lang, t=STRINGS[lang], widget=f"{config.chat_url}/webhooks/widget/widget.js",
            **context)
        return response.html(html, headers=headers)

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        lang = _lang(request)
        category = request.args.get("category") or None
        known = dict(catalog.categories(lang))
        if category not in known:
            category = None
        cards, total = catalog.cards(lang, category)
        return page("index.html", lang, cards=cards, total=total, category=category,
                    categories=list(known.items()))

    @app.get("/products/<sku>")
    async def product(request: Request, sku: str) -> HTTPResponse:
        lang = _lang(request)
        graph = catalog.graph
        if not graph.has_product(sku):
            return page("missing.html", lang)
        details = graph.details(sku, currency=graph.pick_currency(
            "CNY" if lang == "zh" else "USD"))
        summary = graph.summary(sku, currency=details.currency)
        ratio = (await asyncio.to_thread(catalog.ratios, [sku])).get(sku, 1.0)
        return page("product.html", lang, product=details, price=_price(summary, ratio),
                    name=summary.name_zh if lang == "zh" else summary.name_en,
                    image=f"/images/{sku}" if sku in catalog.images() else None)

    @app.get("/images/<sku>")
    async def image(request: Request, sku: str) -> HTTPResponse:
        path = catalog.image_file(sku)
        if path is None:
            return response.text("not found", status=404, headers=headers)
        return await response.file(path, mime_type=IMAGE_TYPES[path.suffix.lower()],
                                   headers={"Cache-Control": "public, max-age=3600",
                                            "X-Content-Type-Options": "nosniff"})

    @app.get("/static/shop.css")
    async def stylesheet(request: Request) -> HTTPResponse:
        return await response.file(HERE / "static" / "shop.css", mime_type="text/css",
                                   headers={"Cache-Control": "public, max-age=300"})

    @app.get("/favicon.ico")
    async def favicon(request: Request) -> HTTPResponse:
        return response.empty(headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    from telemetry.web import Readiness, Telemetry

    # ready once the catalog's graph is open and holds products
    Telemetry("storefront", Readiness("storefront", {"graph": lambda: len(catalog.graph) > 0}),
              metrics_token=config.metrics_token).install(app)

    mimetypes.add_type("text/javascript", ".js")
    return app
