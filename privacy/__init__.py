"""Customers' data under their control: everything the shop holds about one customer,
exported as one ZIP, or forgotten; and old conversations purged after the retention
period.

The data of one customer is spread over every store of the shop (``docs/privacy.md``):
the shop database (the customer, orders, interactions, recommendations shown and
clicked, quotes and coupons, the conversation stream's facts), Rasa's tracker store
(the conversations), the channels' database (messages, deliveries, platform links),
the handoff database (handoffs, transcripts, notes) and the uploaded photos. This
package reads and writes them by table name (SQLAlchemy Core over reflected tables),
so it runs beside any process — the command line, the Rasa server's internal route —
without importing Rasa or the packages that own the tables; it returns typed reports.

- :class:`~privacy.service.CustomerData` ``.export(customer, path)``,
  ``.forget(customer)``, ``.purge(days)``.
- :data:`~privacy.tables.TABLES`: what each table holds about a customer and what
  forgetting and retention do to it.
"""

from privacy.errors import PrivacyError, UnknownCustomer
from privacy.service import (
    CustomerData,
    ExportReport,
    ForgetReport,
    PhotoStore,
    PurgeReport,
    Stores,
    tracker_url,
)

__all__ = ["CustomerData", "ExportReport", "ForgetReport", "PhotoStore", "PrivacyError",
           "PurgeReport", "Stores", "UnknownCustomer", "tracker_url"]
