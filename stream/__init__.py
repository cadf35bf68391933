"""The conversation stream's consumer: what scaled mode's event stream feeds.

Every Rasa server publishes every event of every conversation to RabbitMQ
(``bot/event_broker.py``). :mod:`stream.consumer` reads that queue and keeps, in the
shop's database:

- one row of facts per conversation (channel, language, messages each way,
  fallbacks, offers of a person, handoffs), which ``make desk-report`` reads;
- the products a known customer asked about, as ``view`` interactions the
  recommender learns from at its next training (``make train-recsys``).

Delivery is at least once; each event is taken once (:class:`stream.store.StreamStore`
remembers what it has taken). No Rasa imports: events are the JSON Rasa publishes.
"""

from stream.facts import ConversationFacts, StreamError, fold
from stream.store import StreamStore

__all__ = ["ConversationFacts", "StreamError", "StreamStore", "fold"]
