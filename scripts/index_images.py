"""Keep the image index in step with the catalog's product photos.

``sync`` (the default) reads every photo of every product still sold (the main
image and extra photos, see :mod:`shop.images`), encodes only the photos that
are not indexed yet, drops photos of products no longer sold, learns the
projection from the shop's photos (``VISION_PROJECTION``) when enough
products have several photos, calibrates the score bounds of a match and of a guess, and
publishes a new index version under ``VISION_DIR`` when anything changed; a
running action server picks it up within ``VISION_RELOAD_SECONDS``.
``--rebuild`` re-encodes everything (after changing ``VISION_VIEWS``).

``tune`` fine-tunes the image network on the product photos (several photos
per product needed; about 15 minutes for 2,700 photos on 2 cores), records
the weights under ``VISION_DIR/tuned`` and rebuilds the index with them; a
running action server follows the new index (``make tune-vision``).

``add`` attaches extra photos to products (copied into the media store) and
then syncs: ``add --sku GS-001 a.jpg b.jpg`` or ``add --csv photos.csv`` (columns
``sku,path``).

Photo URIs: ``file://`` URIs or plain paths (relative to ``SHOP_DATA_DIR``)
and ``media:<id>``. Web URLs are not fetched (the server may have no internet
access): they are reported and skipped.

Usage: ``python -m scripts.index_images [sync|tune|add] ...`` (``make index-images``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
from tqdm import tqdm

from actions.services import image_encoder, upload_limits
from actions.settings import Settings, load_settings
from shop.db import make_engine, session_factory
from shop.images import CatalogImages, UnknownProduct
from vision.adapt import calibrate, default_reject, fit_projection
from vision.errors import ConfigError, ImageError, IndexFormatError, MediaNotFound
from vision.finetune import fine_tune, prune, record_current, shrink
from vision.images import Limits, decode
from vision.index import ImageIndex, IndexStore
from vision.media import Media, open_media


def read_photo(uri: str, settings: Settings, media: Media) -> bytes:
    """The bytes behind a product photo URI.

    Raises:
        FileNotFoundError: If the photo is missing or is a web URL (not fetched).
        MediaNotFound: If a ``media:`` id is unknown.
    """
    if uri.startswith("media:"):
        return media.get(uri.removeprefix("media:"))
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        raise FileNotFoundError(f"web URLs are not fetched: {uri}")
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
    if not path.is_absolute():
        path = settings.data_dir / path
    return path.read_bytes()


def catalog_photos(settings: Settings) -> tuple[list[tuple[str, str]], Limits, Media]:
    """``(sku, uri)`` of every photo of every product still sold, the upload
    limits and the media store the ``media:`` photos are read from."""
    engine = make_engine(settings.database_url)
    CatalogImages.ensure_table(engine)
    wanted = CatalogImages(session_factory(engine)).listed()
    engine.dispose()
    limits = upload_limits(settings)
    return wanted, limits, open_media(settings.media_dir, url=settings.media_db_url,
                                      limits=limits)


def tune_progress(model: str, *, quiet: bool = False
                  ) -> tuple[tqdm, Callable[[int, int, float], None]]:
    """A progress bar for fine-tuning and the callback that moves it."""
    bar = tqdm(total=1, desc=f"fine-tune EfficientNet-{model.title()}", unit="step",
               disable=quiet)

    def progress(step: int, steps: int, loss: float) -> None:
        bar.total = steps
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{loss:.3f}")

    return bar, progress


def sync(settings: Settings, *, rebuild: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Bring the published index in line with the catalog; returns what changed."""
    started = time.perf_counter()
    wanted, limits, media = catalog_photos(settings)
    encoder = image_encoder(settings)
    store = IndexStore(settings.vision_dir)
    try:
        index = None if rebuild else store.load_current()
    except IndexFormatError as exc:
        print(f"the live index is unreadable ({exc}); rebuilding", file=sys.stderr)
        index = None
    if index is None or index.model_version != encoder.version:
        index = ImageIndex(dim=encoder.dim, model_version=encoder.version)
    have = index.entries()
    gone = have - set(wanted)
    removed = index.remove(pairs=gone)
    todo = [pair for pair in wanted if pair not in have]
    skipped: list[str] = []
    bar = tqdm(total=len(todo), desc="encode product photos", unit="photo", disable=quiet)
    for start in range(0, len(todo), 32):
        batch, images = [], []
        for sku, uri in todo[start:start + 32]:
            try:
                images.append(decode(read_photo(uri, settings, media), limits))
                batch.append((sku, uri))
            except (OSError, ImageError, MediaNotFound) as exc:
                skipped.append(f"{sku} {uri}: {exc}")
        if images:
            index.add([s for s, _ in batch], [u for _, u in batch], encoder.encode(images))
        bar.update(len(todo[start:start + 32]))
    bar.close()
    products, _, raw = index.raw_vectors()
    projection = None if settings.vision_projection == "off" or not len(raw) else \
        fit_projection(raw, products, shrinkage=settings.vision_shrinkage,
                       dims="lda" if settings.vision_projection == "lda" else None)
    same = (projection is None and index.projection is None) or (
        projection is not None and index.projection is not None
        and projection.shape == index.projection.shape
        and np.allclose(projection, index.projection, atol=1e-5))
    changed = bool(removed or len(todo) - len(skipped) or store.version() is None or not same)
    index.set_projection(projection)
    reject = settings.vision_reject if settings.vision_reject is not None else \
        default_reject(settings.vision_decision, tuned=encoder.tuned is not None)
    calibrated = calibrate(index.project(raw), products, reject=reject,
                           floor_reject=settings.vision_floor_reject,
                           decision=settings.vision_decision) if len(raw) else None
    old_bounds = (index.threshold, index.floor, index.decision)
    index.threshold = round(calibrated.threshold, 4) if calibrated else None
    index.floor = round(calibrated.floor, 4) if calibrated else None
    index.decision = settings.vision_decision if calibrated else "score"
    changed = changed or old_bounds != (index.threshold, index.floor, index.decision)
    version = store.publish(index) if changed else store.version()
    report = {"photos": len(index), "products": len(index.products()),
              "added": len(todo) - len(skipped), "removed": removed, "skipped": skipped,
              "threshold": index.threshold, "floor": index.floor,
              "projection": projection is not None,
              "version": version, "seconds": round(time.perf_counter() - started, 1)}
    if not quiet:
        print(f"image index {version}: {report['photos']} photos of {report['products']} "
              f"products ({report['added']} encoded, {removed} removed, {len(skipped)} "
              f"skipped) in {report['seconds']} s; match from "
              f"{index.threshold if index.threshold is not None else 'default'}, guess from "
              f"{index.floor if index.floor is not None else 'default'}"
              f"{', projection learned' if projection is not None else ''}")
        for line in skipped[:20]:
            print(f"  skipped {line}", file=sys.stderr)
    return report


def tune(settings: Settings, *, epochs: int | None = None, quiet: bool = False) -> int:
    """Fine-tune the network on the catalog's photos, then re-index with it."""
    wanted, limits, media = catalog_photos(settings)
    images, labels, skipped = [], [], 0
    for sku, uri in tqdm(wanted, desc="read product photos", unit="photo", disable=quiet):
        try:
            images.append(shrink(decode(read_photo(uri, settings, media), limits),
                                 settings.vision_model))
            labels.append(sku)
        except (OSError, ImageError, MediaNotFound):
            skipped += 1
    epochs = epochs or settings.vision_tune_epochs
    bar, progress = tune_progress(settings.vision_model, quiet=quiet)
    try:
        result = fine_tune(images, labels, out_dir=settings.vision_dir / "tuned",
                           model=settings.vision_model, epochs=epochs,
                           threads=settings.vision_threads, progress=progress)
    except ConfigError as exc:
        bar.close()
        print(f"not fine-tuned: {exc} (attach shelf photos with `python -m "
              "scripts.index_images add`)", file=sys.stderr)
        return 2
    bar.close()
    record_current(result)
    if not quiet:
        print(f"fine-tuned on {result.photos} photos of {result.products} products "
              f"({skipped} unreadable skipped), {result.epochs} epochs in "
              f"{result.seconds / 60:.1f} min; loss {result.losses[0]:.3f} -> "
              f"{result.losses[-1]:.3f}; weights {result.digest}")
    if settings.vision_tuned == "off":
        print("VISION_TUNED=off: the index keeps ImageNet's weights until it is set to auto",
              file=sys.stderr)
        return 0
    sync(settings, quiet=quiet)  # a new encoder version: every photo is encoded again
    prune(result.path.parent, keep=result.path)
    return 0


def add(settings: Settings, pairs: list[tuple[str, Path]], *, quiet: bool = False) -> int:
    """Store photos in the media store, attach them to products, then sync.

    Unknown products are refused before anything is stored.
    """
    engine = make_engine(settings.database_url)
    CatalogImages.ensure_table(engine)
    images = CatalogImages(session_factory(engine))
    if missing := images.unknown(sku for sku, _ in pairs):
        engine.dispose()
        print(f"nothing added: unknown product(s): {', '.join(missing[:5])}", file=sys.stderr)
        return 2
    media = open_media(settings.media_dir, url=settings.media_db_url,
                       limits=upload_limits(settings))
    attached, rejected = [], []
    for sku, path in tqdm(pairs, desc="store photos", unit="photo", disable=quiet):
        try:
            attached.append((sku, f"media:{media.put(path.read_bytes()).media_id}"))
        except (OSError, ImageError) as exc:
            rejected.append(f"{path}: {exc}")
    try:
        new = images.add(attached)
    except UnknownProduct as exc:
        print(f"nothing added: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"attached {new} new photos ({len(attached) - new} already attached, "
          f"{len(rejected)} rejected)")
    for line in rejected[:20]:
        print(f"  rejected {line}", file=sys.stderr)
    sync(settings, quiet=quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    sync_cmd = commands.add_parser("sync", help="update the index from the catalog (default)")
    sync_cmd.add_argument("--rebuild", action="store_true", help="re-encode every photo")
    tune_cmd = commands.add_parser("tune", help="fine-tune the network on the product "
                                   "photos, then re-index with it")
    tune_cmd.add_argument("--epochs", type=int, help="default: VISION_TUNE_EPOCHS (8)")
    add_cmd = commands.add_parser("add", help="attach extra photos to products, then sync")
    add_cmd.add_argument("--sku", help="the product the photos show")
    add_cmd.add_argument("--csv", type=Path, help="a CSV with columns sku,path")
    add_cmd.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.command == "add":
        pairs: list[tuple[str, Path]] = [(args.sku, p) for p in args.photos] if args.sku else []
        if args.csv:
            with args.csv.open(newline="", encoding="utf-8") as f:
                pairs += [(row["sku"], Path(row["path"])) for row in csv.DictReader(f)]
        if not pairs:
            parser.error("add needs --sku with photo files, or --csv")
        return add(settings, pairs)
    if args.command == "tune":
        if args.epochs is not None and not 1 <= args.epochs <= 100:
            parser.error("--epochs must be between 1 and 100")
        return tune(settings, epochs=args.epochs)
    sync(settings, rebuild=getattr(args, "rebuild", False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
