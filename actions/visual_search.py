"""Visual lookup: the customer sent a photo; answer with the catalog products it shows."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language
from actions.constants import ActionName, Response, Slot
from actions.presentation import currency_for, product_card
from actions.resilience import Unavailable, breaker
from actions.services import media_store, product_graph, recommender, visual_search
from actions.settings import settings
from telemetry import metrics
from vision.errors import ImageError, MediaNotFound, MediaUnavailable, VisionError
from vision.search import Status

logger = logging.getLogger(__name__)
SHOWN = 3
# the label on every card of an alternative: what the shop sells instead, not a match
ALTERNATIVE = {"en": "Alternative: not the product in your photo",
               "zh": "替代推荐：并非照片中的同款"}


class ActionVisualSearch(Action):
    """Answers a photo (``metadata.image``, a media id) with the best catalog matches.

    Matches that clear the index's calibrated decision are shown as matches.
    Otherwise the shop does not seem to sell what the photo shows: when the best
    is above the floor, the closest products are shown as alternatives (each
    card labelled so, never as the product photographed) with the offer of a
    person; below the floor, the customer is told so and offered a person.
    """

    def name(self) -> str:
        return ActionName.VISUAL_SEARCH

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, graph = language(tracker), product_graph()
        metadata = tracker.latest_message.get("metadata") or {}
        media_id = metadata.get("image") if isinstance(metadata, dict) else None
        try:
            # a database read when the photos are shared (scaled mode): off the loop
            photo = await asyncio.to_thread(media_store().get, str(media_id or ""))
            result = await breaker("visual_search",
                                   timeout=settings().vision_timeout_seconds).call(
                lambda: visual_search().lookup(photo, k=SHOWN),
                passthrough=(MediaNotFound, ImageError))
        except (Unavailable, MediaUnavailable) as exc:
            # slow, failing or left alone for a while (the lookup or the photos' store):
            # said so, at once
            logger.warning("visual lookup unavailable: %s (%r)", exc, exc.__cause__)
            metrics.PHOTO_ANSWERS.labels("busy").inc()
            dispatcher.utter_message(response=Response.VISUAL_BUSY)
            return []
        except MediaNotFound:
            metrics.PHOTO_ANSWERS.labels("no_photo").inc()
            dispatcher.utter_message(response=Response.VISUAL_NO_PHOTO)
            return []
        except ImageError:
            metrics.PHOTO_ANSWERS.labels("bad_photo").inc()
            dispatcher.utter_message(response=Response.VISUAL_BAD_PHOTO)
            return []
        except VisionError:
            logger.exception("visual lookup failed")
            metrics.PHOTO_ANSWERS.labels("failed").inc()
            dispatcher.utter_message(response=Response.VISUAL_UNAVAILABLE)
            return []
        metrics.PHOTO_ANSWERS.labels(result.status.value).inc()
        if result.status in (Status.NO_INDEX, Status.STALE_INDEX):
            dispatcher.utter_message(response=Response.VISUAL_UNAVAILABLE)
            return []
        if result.status is Status.NOT_A_PHOTO:
            dispatcher.utter_message(response=Response.VISUAL_NOT_A_PHOTO)
            return []
        sure = result.status is Status.MATCHED
        hits = [h for h in (result.confident if sure else result.plausible)
                if graph.has_product(h.product)]
        if not hits:
            dispatcher.utter_message(response=Response.VISUAL_NONE)
            return []
        currency = currency_for(lang, graph)
        inventory = recommender().inventory()
        cards, lines = [], []
        for i, hit in enumerate(hits, start=1):
            info = inventory.get(hit.product)
            label = {} if sure else {"alternative": True, "reason": ALTERNATIVE[lang]}
            card = product_card(graph, hit.product, lang=lang, currency=currency,
                                payload="/ask_details" + json.dumps({"product": hit.product}),
                                image=info.image if info else None, matched_image=hit.image,
                                conversation=tracker.sender_id,
                                score=round(hit.score, 3), **label)
            cards.append(card)
            lines.append(f"{i}. {card['title']} — {card['price']}")
        # one message: where a channel draws the cards, the list in words is not repeated
        dispatcher.utter_message(response=Response.VISUAL_MATCHES if sure
                                 else Response.VISUAL_UNSURE, items="\n".join(lines),
                                 json_message={"type": "product_cards", "cards": cards,
                                               "source": "photo", "confident": sure,
                                               "model_version": result.model_version,
                                               "listed": "lines"})
        skus = [h.product for h in hits]
        return [SlotSet(Slot.SHOWN_PRODUCTS, skus), SlotSet(Slot.PRODUCT, skus[0])]
