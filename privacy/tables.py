"""What every table of the shop holds about a customer, and what is done to it.

``forget``:

- ``delete``: the rows go (the conversation's words, photos' references, links).
- ``pseudonymise``: the rows stay for the figures the audit and the models need
  (orders and their amounts, quotes and prices, recommendations shown and clicked,
  handoff times and satisfaction), with the customer and conversation ids replaced by
  a random pseudonym (the same one across tables, so the figures still add up) and
  the columns in ``erase`` (e-mails, free text, tracking numbers) blanked.

``purge``: rows older than the retention period are deleted (``delete``), or their
``erase`` columns blanked (``erase``: the handoff's summary goes, its times stay), or
kept (``keep``: the price audit, orders).
"""

from __future__ import annotations

from dataclasses import dataclass

SHOP, TRACKER, CHANNELS, HANDOFF = "shop", "tracker", "channels", "handoff"


@dataclass(frozen=True)
class Table:
    """One table and how it relates to a customer.

    Attributes:
        store: Which database holds it (``shop``, ``tracker``, ``channels``, ``handoff``).
        name: The table.
        conversation: The column holding a conversation (sender) id.
        customer: The column holding the customer id.
        handoff: The column holding a handoff's id (its rows follow their handoff).
        time: The column dated for retention; ``unix`` when it holds Unix seconds.
        forget: ``delete`` or ``pseudonymise``.
        erase: Columns blanked when pseudonymised (and when purged with ``erase``).
        purge: ``delete``, ``erase`` or ``keep``.
    """

    store: str
    name: str
    conversation: str | None = None
    customer: str | None = None
    handoff: str | None = None
    time: str | None = None
    unix: bool = True
    forget: str = "delete"
    erase: tuple[str, ...] = ()
    purge: str = "delete"


TABLES: tuple[Table, ...] = (
    # the shop's database
    Table(SHOP, "orders", customer="customer_id", time="placed_at", unix=False,
          forget="pseudonymise", erase=("email", "tracking_number", "return_reason"),
          purge="keep"),
    Table(SHOP, "interactions", customer="customer_id", time="timestamp", unix=False,
          forget="pseudonymise", purge="delete"),
    Table(SHOP, "recommendation_events", conversation="sender_id", customer="customer_id",
          time="timestamp", unix=False, forget="pseudonymise", purge="delete"),
    Table(SHOP, "order_lookup_failures", conversation="conversation", time="at", unix=False),
    Table(SHOP, "price_quotes", conversation="conversation_id", customer="customer_id",
          time="created_at", unix=False, forget="pseudonymise", purge="keep"),
    Table(SHOP, "coupons", conversation="conversation_id", customer="customer_id",
          time="issued_at", unix=False, forget="pseudonymise", purge="keep"),
    Table(SHOP, "stream_conversations", conversation="sender_id", customer="customer_id",
          time="last_at", forget="pseudonymise"),
    Table(SHOP, "stream_taken", conversation="sender_id", time="timestamp"),
    # Rasa's tracker store: the conversations themselves
    Table(TRACKER, "events", conversation="sender_id", time="timestamp"),
    # the channels' database
    Table(CHANNELS, "channel_messages", conversation="conversation", time="created_at"),
    Table(CHANNELS, "channel_inbox", conversation="conversation", time="received_at"),
    Table(CHANNELS, "channel_deliveries", conversation="conversation", time="created_at"),
    Table(CHANNELS, "rest_requests", conversation="conversation", time="taken_at"),
    Table(CHANNELS, "channel_customer_links", conversation="platform_user",
          customer="customer_id", time="linked_at", purge="keep"),
    # the handoff database: transcripts and notes go, the handoff's figures stay
    Table(HANDOFF, "handoffs", conversation="conversation", time="requested_at",
          forget="pseudonymise", erase=("summary",), purge="erase"),
    Table(HANDOFF, "handoff_events", handoff="handoff_id", time="at"),
    Table(HANDOFF, "handoff_queue_told", handoff="handoff_id", time="at"),
    Table(HANDOFF, "conversation_holders", conversation="conversation", time="updated_at",
          purge="keep"),
    Table(HANDOFF, "conversation_changes", conversation="conversation", time="at"),
)
