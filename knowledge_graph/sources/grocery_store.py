"""Derive a product catalog from the Grocery Store dataset.

The dataset (Klasson et al., WACV 2019) has 81 fine-grained product classes of
fruit, vegetables and packaged goods from Swedish grocery stores, each with an
iconic catalog image, an English description and a product information sheet
scraped from the store's web shop. ``dataset/classes.csv`` lists them with a
coarse class (42 in all) and the paths of the image and the description.

For each class:

* **id**: ``GS-<class id>`` (the dataset's numeric class id);
* **name**: the class name with its coarse class appended when it is not part of
  it ("Granny-Smith" under "Apple" becomes "Granny Smith Apple";
  "Arla-Standard-Milk" stays "Arla Standard Milk");
* **category**: the top folder of the iconic image (Fruit, Vegetables,
  Packages) and the coarse class: "Fruit > Apple";
* **brand**: packaged goods only: the words the class name shares with the
  manufacturer on the information sheet ("GOD MORGON" → "God Morgon"), else the
  first word of the class name; loose fruit and vegetables have none;
* **size** and **origin**: from the sheet's "volume" and "country" lines;
* **description**: the English description; **image**: the iconic image, as a
  ``file:`` URI into the dataset folder.

The dataset has **no prices and no stock levels**: the products are imported at
a price on request (the shipped mapping has no price column, and offers carry no
price) in the store's currency (SEK), and the mapping assumes they are in stock.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from knowledge_graph.errors import KnowledgeGraphError

FIELDS = ["sku", "name", "category", "brand", "description", "size", "origin", "image"]


@dataclass(frozen=True)
class DerivedCatalog:
    """The rows to import and what was derived."""

    rows: list[dict[str, str]]
    by_category: dict[str, int]
    with_brand: int
    missing_sheets: int


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[-_\s]+", text.strip()) if w]


def _sheet(path: Path) -> dict[str, str]:
    """The ``Key: value`` lines of an information sheet (empty if there is none)."""
    if not path.is_file():
        return {}
    fields = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not line.startswith(" "):
            fields[key.strip().lower()] = value.strip()
    return fields


def _brand(class_words: list[str], manufacturer: str | None) -> str:
    maker = [w.lower() for w in _words(manufacturer or "")]
    shared = 0
    while (shared < min(len(maker), len(class_words) - 1)
           and class_words[shared].lower() == maker[shared]):
        shared += 1
    return " ".join(class_words[:max(shared, 1)])


def derive_catalog(dataset: Path) -> DerivedCatalog:
    """Read ``dataset/classes.csv`` and the files it points at.

    Args:
        dataset: The ``grocery-store/dataset`` folder.

    Raises:
        KnowledgeGraphError: If ``classes.csv`` is missing or lacks its columns.
    """
    listing = dataset / "classes.csv"
    if not listing.is_file():
        raise KnowledgeGraphError(f"no classes.csv in {dataset}")
    reader = csv.reader(io.StringIO(listing.read_text(encoding="utf-8-sig"), newline=""))
    header = next(reader, [])
    if len(header) < 6:
        raise KnowledgeGraphError(f"{listing}: expected 6 columns, got {header}")
    rows, by_category, with_brand, missing = [], Counter[str](), 0, 0
    for record in reader:
        if len(record) < 6 or not record[0].strip():
            continue
        name, class_id, coarse, _, image, description_path = (c.strip() for c in record[:6])
        image_file = dataset / image.lstrip("/")
        folder = image_file.parent
        top = Path(image.lstrip("/")).parts[1] if len(Path(image.lstrip("/")).parts) > 1 else ""
        words = _words(name)
        coarse_words = _words(coarse)
        title = " ".join(words)
        if not set(w.lower() for w in coarse_words) <= {w.lower() for w in words}:
            title = f"{title} {' '.join(coarse_words)}"
        info = _sheet(next(folder.glob("*Information.txt"), folder / "-"))
        missing += not info
        maker_line = info.get("manufacturer and volume") or ""
        volume_line = info.get("country and volume") or maker_line
        size = volume_line.rsplit(",", 1)[-1].strip() if "," in volume_line else ""
        origin = (info.get("manufacturing country")
                  or (volume_line.split(",", 1)[0].strip() if "country and volume" in info
                      else ""))
        brand = _brand(words, maker_line.split(",", 1)[0]) if top == "Packages" else ""
        with_brand += bool(brand)
        description_file = dataset / description_path.lstrip("/")
        description = (description_file.read_text(encoding="utf-8", errors="replace").strip()
                       if description_file.is_file() else "")
        category = f"{top} > {' '.join(coarse_words)}" if top else " ".join(coarse_words)
        by_category[category] += 1
        rows.append({
            "sku": f"GS-{int(class_id):03d}", "name": title, "category": category,
            "brand": brand, "description": " ".join(description.split()), "size": size,
            "origin": origin,
            "image": image_file.resolve().as_uri() if image_file.is_file() else "",
        })
    return DerivedCatalog(rows=rows, by_category=dict(by_category), with_brand=with_brand,
                          missing_sheets=missing)


def write_catalog(catalog: DerivedCatalog, path: Path) -> None:
    """Write the derived rows as a CSV file for the importer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(catalog.rows)


def write_shelf_photos(dataset: Path, path: Path, *, split: str = "train.txt") -> int:
    """Write ``sku,path`` rows for the shoppers' photos of one split; returns the count.

    These are the photos a shop would take of its own shelves: attached to the
    products, they let visual lookup match customers' photos taken in similar
    conditions. Only the training split is meant for this; the validation
    split stays for measuring.
    """
    rows = []
    for line in (dataset / split).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rel, class_id, _ = (part.strip() for part in line.split(","))
            rows.append({"sku": f"GS-{int(class_id):03d}", "path": str((dataset / rel).resolve())})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["sku", "path"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
