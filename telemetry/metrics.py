"""Every Prometheus metric of the shop assistant, in one place.

Each process serves the metrics it counts on ``GET /metrics`` (:mod:`telemetry.web`);
Prometheus scrapes every server of every kind (``deploy/prometheus/prometheus.yml``)
and adds the ``instance`` and ``job`` labels. In scaled mode the dashboard and the
alert rules add counters and histograms up over the servers (``sum by (…)`` of
``rate``); a gauge read from a store every server shares (the handoff queue, the
deliveries waiting) is read by one process only (the desk, or the oldest Rasa
server's pipeline) and taken with ``max``, never summed.

The names here are the contract with ``deploy/grafana/shop-assistant.json`` and
``deploy/prometheus/alerts.yml``: a test checks that every name they use is one of
these, and an end-to-end test that each server serves the ones it counts.

Labels are small closed sets (a channel, a language, an intent or action name of the
domain, an experiment's variant); never a customer, a conversation or free text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

#: Seconds, for what a customer waits on (a turn, an action, an HTTP request).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
#: Seconds, for what a customer waits on a person for.
WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 3600)

# --- HTTP, every process ------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "shop_http_requests", "HTTP requests answered, by route template and status class.",
    ["service", "route", "method", "status"])
HTTP_SECONDS = Histogram(
    "shop_http_request_seconds", "Time to answer an HTTP request, by route template.",
    ["service", "route"], buckets=LATENCY_BUCKETS)
READY = Gauge("shop_ready", "1 once the process is ready to serve (see /health/ready).",
              ["service"])

# --- the assistant's turns (Rasa server) --------------------------------------------------
TURNS = Counter("shop_turns", "Customer messages the assistant answered.",
                ["channel", "language"])
TURN_SECONDS = Histogram(
    "shop_turn_seconds", "From a customer's message to the assistant's last answer, "
    "by the intent it understood.", ["channel", "intent"], buckets=LATENCY_BUCKETS)
TURN_FAILURES = Counter("shop_turn_failures",
                        "Turns that failed and got the polite apology instead.", ["channel"])
FALLBACKS = Counter(
    "shop_fallbacks", "Answers that said the assistant could not help or could not look "
    "something up.", ["language", "kind"])
PERSON_OFFERS = Counter("shop_person_offers", "Answers that offered a person.", ["language"])
HANDOFFS = Counter("shop_handoffs", "Conversations handed to a person, by why.",
                   ["reason", "language"])
LIMIT_REFUSALS = Counter("shop_limit_refusals", "Requests refused by a rate limit, by "
                         "the limit (``rest``, ``widget-socket``, ``upload``…).", ["limit"])
UPLOAD_REFUSALS = Counter("shop_upload_refusals", "Photos refused before they were read.",
                          ["channel", "reason"])
PLATFORM_API_ERRORS = Counter(
    "shop_platform_api_errors", "Errors from WeChat's, Meta's (Messenger, WhatsApp) APIs; "
    "kind ``token`` is an access token refused or not obtained.", ["platform", "kind"])
WINDOW_REFUSALS = Counter(
    "shop_window_refusals", "Messages not sent because the platform's window to the "
    "customer was closed.", ["platform"])
DELIVERIES_FAILED = Counter("shop_deliveries_failed",
                            "Deliveries given up after their retries.", ["channel"])
DELIVERIES_PENDING = Gauge("shop_deliveries_pending",
                           "Deliveries waiting to be sent or retried (shared store: max).")

# --- the action server ---------------------------------------------------------------------
ACTION_SECONDS = Histogram("shop_action_seconds", "Time to run a custom action.", ["action"],
                           buckets=LATENCY_BUCKETS)
ACTION_ERRORS = Counter("shop_action_errors", "Custom actions that failed.", ["action"])
RECOMMENDATIONS = Counter(
    "shop_recommendations", "Recommendations shown, by experiment variant and what "
    "produced them (``for_you``, ``similar``, ``complements``, or ``catalog_fallback`` "
    "when the recommender was away).", ["variant", "source"])
PRICE_DECISIONS = Counter(
    "shop_price_decisions", "Prices quoted, by the policy's arm and outcome (``quoted``, "
    "``guardrail`` when a guardrail changed or refused the policy's price, ``list`` when "
    "the policy was away).", ["arm", "outcome"])
PRICE_GUARDRAILS = Counter(
    "shop_price_guardrails", "Guardrails that changed a price the policy proposed "
    "(``floor``, ``ceiling``, ``step``, ``period``, ``no_cost``…).", ["guardrail"])
PHOTO_ANSWERS = Counter("shop_photo_answers", "Photo searches, by outcome.", ["outcome"])
BREAKER_OPEN = Gauge("shop_breaker_open", "1 from a dependency's circuit breaker opening "
                     "until a call to it succeeds again.",
                     ["dependency"])

# --- the agent desk ------------------------------------------------------------------------
QUEUE_LENGTH = Gauge("shop_handoff_queue_length",
                     "Conversations waiting for a person (shared store: max).")
AGENTS_ONLINE = Gauge("shop_agents_online", "Agents signed in and available (shared: max).")
QUEUE_WAIT = Histogram("shop_handoff_wait_seconds",
                       "From a handoff to an agent taking the conversation.",
                       buckets=WAIT_BUCKETS)
AGENT_REPLIES = Counter("shop_agent_replies", "Messages agents sent to customers.")
FIRST_REPLY = Histogram("shop_agent_first_reply_seconds",
                        "From a handoff to the agent's first message.", buckets=WAIT_BUCKETS)


# --- the conversation stream's consumer (scaled mode) -------------------------------------
#: Its own counts, served by :class:`StreamCollector`.
STREAM_EVENTS = "shop_stream_events"
STREAM_CONNECTED = "shop_stream_connected"


class StreamCollector:
    """The stream consumer's counts (``taken``, ``duplicates``, ``refused``,
    ``connected``) as ``shop_stream_events_total{outcome}`` and
    ``shop_stream_connected``, read when Prometheus scrapes."""

    def __init__(self, counts: Callable[[], dict[str, Any]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Any]:
        """The two families, now."""
        counts = self._counts()
        events = CounterMetricFamily(STREAM_EVENTS, "Conversation events the consumer "
                                     "took, found twice or refused.", labels=["outcome"])
        for outcome in ("taken", "duplicates", "refused"):
            events.add_metric([outcome], float(counts.get(outcome, 0)))
        yield events
        yield GaugeMetricFamily(STREAM_CONNECTED, "1 while connected to RabbitMQ.",
                                value=1.0 if counts.get("connected") else 0.0)

    def register(self) -> StreamCollector:
        """Serve them from this process's registry."""
        REGISTRY.register(self)
        return self


def names() -> set[str]:
    """Every series name these metrics produce (``_total``, ``_bucket``… included)."""
    out: set[str] = {STREAM_EVENTS + "_total", STREAM_CONNECTED}
    for metric in (value for value in globals().values()
                   if isinstance(value, (Counter, Gauge, Histogram))):
        for family in metric.describe():
            for sample_suffix in _SUFFIXES[family.type]:
                out.add(family.name + sample_suffix)
    return out


_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",),
             "histogram": ("_bucket", "_count", "_sum", "_created")}
