"""Export, forget and purge across every store of the shop (see the package docstring)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from privacy.errors import UnknownCustomer
from privacy.tables import CHANNELS, HANDOFF, SHOP, TABLES, TRACKER, Table


class PhotoStore(Protocol):
    """The shop's store of customers' photos, by media id (a folder or a database table:
    the application passes the one it configured)."""

    def get(self, media_id: str) -> bytes:
        """The photo's bytes; a ``KeyError`` if none is stored."""

    def file_name(self, media_id: str) -> str:
        """The photo's file name; a ``KeyError`` if none is stored."""

    def delete(self, media_id: str) -> bool:
        """Remove it; whether one was stored."""

    def older_than(self, cutoff: float) -> list[str]:
        """Ids of the photos stored before ``cutoff`` (Unix seconds)."""

    def __contains__(self, media_id: object) -> bool:
        """Whether a photo is stored under ``media_id``."""


def tracker_url(env: Mapping[str, str], *, data_dir: Path) -> str:
    """The SQLAlchemy URL of Rasa's tracker store as ``bot/endpoints*.yml`` configure it
    from ``TRACKER_DIALECT``, ``TRACKER_DB`` and ``TRACKER_DB_HOST``/``PORT``/``USER``/
    ``PASSWORD``."""
    if env.get("TRACKER_DIALECT", "sqlite") == "sqlite":
        return f"sqlite:///{env.get('TRACKER_DB') or data_dir / 'rasa_tracker.db'}"
    user = env.get("TRACKER_DB_USER", "postgres")
    password = env.get("TRACKER_DB_PASSWORD", "")
    host, port = env.get("TRACKER_DB_HOST", "127.0.0.1"), env.get("TRACKER_DB_PORT", "5432")
    credentials = f"{user}:{password}" if password else user
    return f"postgresql+psycopg2://{credentials}@{host}:{port}/{env.get('TRACKER_DB', 'rasa')}"


@dataclass(frozen=True)
class Stores:
    """Where the shop keeps what it knows (URLs may be the same database)."""

    shop: str
    tracker: str
    channels: str
    handoff: str
    media: PhotoStore


@dataclass
class ExportReport:
    """What an export wrote: rows per table, photos, and the ZIP's path."""

    customer: str
    path: Path
    conversations: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    photos: int = 0


@dataclass
class ForgetReport:
    """What forgetting did: rows deleted and pseudonymised per table, photos deleted,
    and the pseudonym that now stands for the customer in the figures."""

    customer: str
    pseudonym: str
    conversations: int
    deleted: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)
    photos: int = 0


@dataclass
class PurgeReport:
    """What a purge removed: rows per table, whole conversations, photos."""

    cutoff: float
    deleted: dict[str, int] = field(default_factory=dict)
    erased: dict[str, int] = field(default_factory=dict)
    conversations: int = 0
    photos: int = 0


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key, value in out.items():  # JSON text columns are shown as what they hold
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                out[key] = json.loads(value)
    return out


class CustomerData:
    """Everything the shop holds about its customers, by customer.

    Args:
        stores: Where the shop keeps it.
        clock: Unix seconds now (tests pass their own).
    """

    def __init__(self, stores: Stores, *, clock: Callable[[], float] = time.time) -> None:
        self.stores = stores
        self._clock = clock
        self._engines: dict[str, sa.engine.Engine] = {}
        self._tables: dict[tuple[str, str], sa.Table | None] = {}

    # --- plumbing --------------------------------------------------------------------
    def _engine(self, store: str) -> sa.engine.Engine:
        url = getattr(self.stores, store)
        if url not in self._engines:
            self._engines[url] = sa.create_engine(url, future=True)
        return self._engines[url]

    def _table(self, spec: Table) -> sa.Table | None:
        """The reflected table, or ``None`` where this shop has no such table (a store
        not used in this mode: the stream's tables in the embedded mode)."""
        key = (spec.store, spec.name)
        if key not in self._tables:
            engine = self._engine(spec.store)
            self._tables[key] = (sa.Table(spec.name, sa.MetaData(), autoload_with=engine)
                                 if sa.inspect(engine).has_table(spec.name) else None)
        return self._tables[key]

    def _specs(self) -> Iterable[tuple[Table, sa.Table]]:
        for spec in TABLES:
            table = self._table(spec)
            if table is not None:
                yield spec, table

    def close(self) -> None:
        """Close the databases' connections."""
        for engine in self._engines.values():
            engine.dispose()

    # --- whom -------------------------------------------------------------------------
    def customer(self, customer: str) -> dict[str, Any] | None:
        """The customer's record in the shop database, or ``None``."""
        customers = self._table(Table(SHOP, "customers"))
        if customers is None:
            return None
        with self._engine(SHOP).connect() as conn:
            row = conn.execute(sa.select(customers).where(customers.c.id == customer)).first()
        return _row(row) if row else None

    def conversations(self, customer: str) -> list[str]:
        """Every conversation known to be the customer's: linked platform users,
        conversations their signed identity was used in (the tracker's user events),
        and those the quotes, coupons, recommendations and the stream name them in."""
        found: set[str] = set()
        for spec, table in self._specs():
            if spec.customer and spec.conversation:
                with self._engine(spec.store).connect() as conn:
                    found.update(str(v) for (v,) in conn.execute(
                        sa.select(table.c[spec.conversation]).distinct().where(
                            table.c[spec.customer] == customer)) if v)
        events = self._table(Table(TRACKER, "events"))
        if events is not None:
            needle = f'%"customer_id": "{customer}"%'
            with self._engine(TRACKER).connect() as conn:
                rows = conn.execute(sa.select(events.c.sender_id, events.c.data).where(
                    events.c.type_name == "user", events.c.data.like(needle)))
                for sender, data in rows:
                    verified = ((json.loads(data).get("metadata") or {}).get("verified")
                                or {})
                    if verified.get("customer_id") == customer:
                        found.add(sender)
        return sorted(found)

    def of_conversation(self, conversation: str) -> dict[str, list[dict[str, Any]]]:
        """Every row of every store about one conversation, by table (the tracker's
        ``events`` in order), for :mod:`shopctl.explain`."""
        handoffs = self._handoffs([conversation])
        out: dict[str, list[dict[str, Any]]] = {}
        for spec, table in self._specs():
            if not spec.conversation and not (spec.handoff and handoffs):
                continue
            where = (table.c[spec.conversation] == conversation if spec.conversation
                     else table.c[str(spec.handoff)].in_(handoffs))
            query = sa.select(table).where(where)
            if "id" in table.c:
                query = query.order_by(table.c.id)
            with self._engine(spec.store).connect() as conn:
                out[spec.name] = [_row(r) for r in conn.execute(query)]
        return out

    def _subject(self, customer: str
                 ) -> tuple[dict[str, Any] | None, list[str], list[int]]:
        """The customer's record, conversations and handoffs.

        Raises:
            UnknownCustomer: No store knows the customer.
        """
        record = self.customer(customer)
        conversations = self.conversations(customer)
        if record is None and not conversations:
            raise UnknownCustomer(customer)
        return record, conversations, self._handoffs(conversations)

    def _handoffs(self, conversations: list[str]) -> list[int]:
        handoffs = self._table(Table(HANDOFF, "handoffs"))
        if handoffs is None or not conversations:
            return []
        with self._engine(HANDOFF).connect() as conn:
            return [i for (i,) in conn.execute(sa.select(handoffs.c.id).where(
                handoffs.c.conversation.in_(conversations)))]

    def _where(self, spec: Table, table: sa.Table, customer: str, conversations: list[str],
               handoffs: list[int]) -> Any:
        """Rows of ``table`` that are the customer's."""
        clauses = []
        if spec.customer:
            clauses.append(table.c[spec.customer] == customer)
        if spec.conversation and conversations:
            clauses.append(table.c[spec.conversation].in_(conversations))
        if spec.handoff and handoffs:
            clauses.append(table.c[spec.handoff].in_(handoffs))
        return sa.or_(*clauses) if clauses else None

    def photos(self, conversations: list[str]) -> list[str]:
        """Media ids of the stored photos the conversations sent (``metadata.image`` of
        their messages in the tracker)."""
        if not conversations:
            return []
        return [media_id for media_id in sorted(self._sent_photos(conversations))
                if media_id in self.stores.media]

    def _sent_photos(self, conversations: list[str] | None) -> set[str]:
        """Media ids in the tracker's user messages of ``conversations`` (``None``:
        every conversation it keeps)."""
        events = self._table(Table(TRACKER, "events"))
        if events is None:
            return set()
        ids: set[str] = set()
        where = [events.c.type_name == "user", events.c.data.like('%"image"%')]
        if conversations is not None:
            where.append(events.c.sender_id.in_(conversations))
        with self._engine(TRACKER).connect() as conn:
            for (data,) in conn.execute(sa.select(events.c.data).where(*where)):
                image = (json.loads(data).get("metadata") or {}).get("image")
                if isinstance(image, str):  # the stored id, or the id bound to the sender
                    media_id = image.split(".")[0]
                    if media_id.isalnum():
                        ids.add(media_id)
        return ids

    def _photos_in_use(self) -> set[str]:
        """Photos a purge keeps whatever their age: the catalog's own (``media:`` URIs
        of products and their extra photos) and those of the conversations kept."""
        ids = self._sent_photos(None)
        for name, column in (("products", "image"), ("product_images", "uri")):
            table = self._table(Table(SHOP, name))
            if table is None or column not in table.c:
                continue
            with self._engine(SHOP).connect() as conn:
                ids.update(uri.removeprefix("media:") for (uri,) in conn.execute(
                    sa.select(table.c[column]).where(table.c[column].like("media:%"))))
        return ids

    # --- export -----------------------------------------------------------------------
    def export(self, customer: str, path: Path) -> ExportReport:
        """Write everything held about ``customer`` into the ZIP ``path``: one JSON file
        per table, the photos, and ``index.json`` saying what is where.

        Raises:
            UnknownCustomer: No store knows the customer.
        """
        record, conversations, handoffs = self._subject(customer)
        report = ExportReport(customer, Path(path), conversations)
        files: dict[str, Any] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            def put(name: str, rows: list[dict[str, Any]]) -> None:
                archive.writestr(name, json.dumps(rows, ensure_ascii=False, indent=2,
                                                  default=_json_default))
            if record is not None:
                put("shop/customer.json", [record])
                files["shop/customer.json"] = {"rows": 1, "what": "your account"}
            for spec, table in self._specs():
                where = self._where(spec, table, customer, conversations, handoffs)
                if where is None:
                    continue
                with self._engine(spec.store).connect() as conn:
                    rows = [_row(r) for r in conn.execute(sa.select(table).where(where))]
                if spec.name == "orders" and rows:
                    rows = self._with_lines(rows)
                name = f"{spec.store}/{spec.name}.json"
                put(name, rows)
                files[name] = {"rows": len(rows), "store": spec.store}
                report.rows[spec.name] = len(rows)
            for media_id in self.photos(conversations):
                with contextlib.suppress(KeyError):  # forgotten meanwhile
                    archive.writestr(f"photos/{self.stores.media.file_name(media_id)}",
                                     self.stores.media.get(media_id))
                    report.photos += 1
            archive.writestr("index.json", json.dumps({
                "customer": customer, "generated_at": dt.datetime.fromtimestamp(
                    self._clock(), dt.timezone.utc).isoformat(),
                "conversations": conversations, "files": files,
                "photos": report.photos}, ensure_ascii=False, indent=2))
        return report

    def _with_lines(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        lines = self._table(Table(SHOP, "order_lines"))
        if lines is None:
            return orders
        with self._engine(SHOP).connect() as conn:
            rows = [_row(r) for r in conn.execute(sa.select(lines).where(
                lines.c.order_number.in_([o["number"] for o in orders])))]
        for order in orders:
            order["lines"] = [r for r in rows if r["order_number"] == order["number"]]
        return orders

    # --- forget -----------------------------------------------------------------------
    def forget(self, customer: str) -> ForgetReport:
        """Erase or pseudonymise ``customer`` everywhere (see :mod:`privacy.tables`).

        Raises:
            UnknownCustomer: No store knows the customer.
        """
        record, conversations, handoffs = self._subject(customer)
        photos = self.photos(conversations)  # before the tracker's events go
        pseudonym = f"forgotten-{uuid.uuid4().hex[:12]}"
        renamed = {c: f"forgotten-{uuid.uuid4().hex}" for c in conversations}
        report = ForgetReport(customer, pseudonym, len(conversations))
        if record is not None:  # the orders' customer row becomes the pseudonym's
            self._pseudonymous_customer(record, pseudonym)
        for spec, table in self._specs():
            where = self._where(spec, table, customer, conversations, handoffs)
            if where is None:
                continue
            with self._engine(spec.store).begin() as conn:
                if spec.forget == "delete":
                    report.deleted[spec.name] = conn.execute(
                        sa.delete(table).where(where)).rowcount
                    continue
                blank = {c: self._blank(table, c, pseudonym) for c in spec.erase}
                count = 0
                if spec.customer:
                    count += conn.execute(sa.update(table).where(
                        table.c[spec.customer] == customer).values(
                        {spec.customer: pseudonym, **blank})).rowcount
                if spec.conversation:
                    for old, new in renamed.items():
                        count += conn.execute(sa.update(table).where(
                            table.c[spec.conversation] == old).values(
                            {spec.conversation: new, **blank})).rowcount
                report.pseudonymised[spec.name] = count
        self._close_handoffs(list(renamed.values()))
        if record is not None:
            customers = self._table(Table(SHOP, "customers"))
            assert customers is not None
            with self._engine(SHOP).begin() as conn:
                conn.execute(sa.delete(customers).where(customers.c.id == customer))
            report.deleted["customers"] = 1
        for media_id in photos:
            report.photos += self.stores.media.delete(media_id)
        return report

    def _close_handoffs(self, conversations: list[str]) -> None:
        """A forgotten customer's handoff still waiting or held leaves the queue."""
        handoffs = self._table(Table(HANDOFF, "handoffs"))
        if handoffs is None or not conversations:
            return
        with self._engine(HANDOFF).begin() as conn:
            conn.execute(sa.update(handoffs).where(
                handoffs.c.conversation.in_(conversations),
                handoffs.c.state.in_(("waiting", "assigned"))).values(
                state="cancelled", closed_at=self._clock()))

    @staticmethod
    def _blank(table: sa.Table, column: str, pseudonym: str) -> Any:
        if column == "email":
            return f"{pseudonym}@forgotten.invalid"  # still unique, never deliverable
        return None if table.c[column].nullable else ""

    def _pseudonymous_customer(self, record: dict[str, Any], pseudonym: str) -> None:
        customers = self._table(Table(SHOP, "customers"))
        assert customers is not None
        values = {c.name: record.get(c.name) for c in customers.columns}
        values.update({"id": pseudonym, "name": "", "email": f"{pseudonym}@forgotten.invalid"})
        with self._engine(SHOP).begin() as conn:
            conn.execute(sa.insert(customers).values(values))

    # --- retention --------------------------------------------------------------------
    def purge(self, days: float, *,
              progress: Callable[[str, int], None] | None = None) -> PurgeReport:
        """Delete what is older than ``days``: whole conversations whose last event is
        older (tracker), old messages, deliveries, transcripts, interaction logs and
        photos (not the catalog's, nor one a kept conversation sent); blank old handoff
        summaries. Safe while the servers answer: each table
        is one short statement, and a conversation still going on is never touched."""
        cutoff = self._clock() - days * 86400
        report = PurgeReport(cutoff)
        events = self._table(Table(TRACKER, "events"))
        if events is not None:
            with self._engine(TRACKER).begin() as conn:
                old = [s for (s,) in conn.execute(
                    sa.select(events.c.sender_id).group_by(events.c.sender_id).having(
                        sa.func.max(events.c.timestamp) < cutoff))]
                for start in range(0, len(old), 500):
                    conn.execute(sa.delete(events).where(
                        events.c.sender_id.in_(old[start:start + 500])))
            report.conversations = len(old)
            report.deleted["events"] = len(old)
            if progress:
                progress("events", len(old))
        for spec, table in self._specs():
            if spec.store == TRACKER or spec.purge == "keep" or spec.time is None:
                continue
            limit: Any = cutoff if spec.unix else dt.datetime.fromtimestamp(
                cutoff, dt.timezone.utc).replace(tzinfo=None)
            old_rows = table.c[spec.time] < limit
            with self._engine(spec.store).begin() as conn:
                if spec.purge == "erase":
                    report.erased[spec.name] = conn.execute(sa.update(table).where(
                        old_rows).values({c: None for c in spec.erase})).rowcount
                else:
                    report.deleted[spec.name] = conn.execute(
                        sa.delete(table).where(old_rows)).rowcount
            if progress:
                progress(spec.name, report.deleted.get(spec.name, 0))
        in_use = self._photos_in_use()  # after the old conversations went
        for media_id in self.stores.media.older_than(cutoff):
            if media_id not in in_use:
                report.photos += self.stores.media.delete(media_id)
        if progress:
            progress("photos", report.photos)
        return report


__all__ = ["CHANNELS", "CustomerData", "ExportReport", "ForgetReport", "PhotoStore",
           "PurgeReport", "Stores", "tracker_url"]
