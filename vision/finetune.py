"""Fine-tuning the image network on the shop's own product photos, on the CPU.

ImageNet features tell a lime from a tennis ball, not a lime from a Granny
Smith apple. Retraining the whole network to tell the shop's products apart
(a classifier over its products, trained on its product photos with random
crops, mirroring and lighting changes) makes the features fit them; the
classifier is then dropped and the retrained network encodes photos as before.
On the Grocery Store data (2,721 photos of 81 products) this took fine-grained
Recall@1 on shoppers' photos taken in other shops from 0.764 to 0.86 with Lite0
(13 minutes on 2 cores) and from 0.807 to 0.909 with Lite2 (18 minutes;
``make bench-vision``, docs/benchmarks.md).

The weights are saved content-addressed (``<digest>.pt``, the network's body
without its ImageNet classifier); :class:`vision.encoder.ImageEncoder` loads
them with ``tuned=`` and names the digest in its version, so an index built
with other weights is reported stale instead of searched.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vision.encoder import BACKBONES, DIM, MEAN, STD, file_digest
from vision.errors import ConfigError


@dataclass(frozen=True)
class TuneResult:
    """Fine-tuned weights and how they were made.

    Attributes:
        path: The saved weights (``<digest>.pt``).
        digest: The first characters of the file's SHA-256.
        model: The network (:data:`vision.encoder.BACKBONES`).
        products: How many products the network learned to tell apart.
        photos: How many photos it learned from.
        epochs: Passes over the photos.
        seconds: Training time.
        losses: Mean training loss per epoch (should fall).
    """

    path: Path
    digest: str
    model: str
    products: int
    photos: int
    epochs: int
    seconds: float
    losses: tuple[float, ...]


def _augment(image: Image.Image, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of 30-100% of the photo, maybe mirrored, with lighting changes."""
    w, h = image.size
    for _ in range(10):
        area = w * h * rng.uniform(0.3, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            break
    else:
        cw = ch = min(w, h)
        x, y = (w - cw) // 2, (h - ch) // 2
    crop = image.crop((x, y, x + cw, y + ch)).resize((size, size), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    a = np.asarray(crop, np.float32) / 255.0
    a = a * rng.uniform(0.8, 1.2) + rng.uniform(-0.08, 0.08)  # brightness
    gray = a.mean(axis=2, keepdims=True)
    a = gray + (a - gray) * rng.uniform(0.8, 1.2)  # saturation
    return ((np.clip(a, 0, 1) - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)


def shrink(image: Image.Image, model: str) -> Image.Image:
    """``image`` in RGB at the size fine-tuning crops from (shorter side 1.15 times
    the network's input; about 0.3 MB for Lite0), so many photos fit in memory."""
    short = round(BACKBONES[model].image_size * 1.15)
    image = image.convert("RGB") if image.mode != "RGB" else image
    if min(image.size) == short:
        return image
    scale = short / min(image.size)
    return image.resize((max(short, round(image.width * scale)),
                         max(short, round(image.height * scale))), Image.Resampling.BILINEAR)


def fine_tune(images: Sequence[Image.Image], labels: Sequence[str], *, out_dir: Path,
              model: str = "lite0", epochs: int = 8, batch_size: int = 32, threads: int = 2,
              body_lr: float = 3e-4, head_lr: float = 3e-3, seed: int = 0,
              progress: Callable[[int, int, float], None] | None = None,
              head_out: Path | None = None) -> TuneResult:
    """Retrain the whole network to tell the products of ``labels`` apart.

    AdamW with a one-cycle schedule, label smoothing 0.1, batch-norm statistics
    kept from ImageNet (batches of one shop's photos are too small to
    re-estimate them). Deterministic for a given ``seed`` and thread count.

    Args:
        images: RGB product photos (several per product).
        labels: The product of each photo.
        out_dir: Where the weights file is written.
        model: Which network of :data:`vision.encoder.BACKBONES`.
        epochs: Passes over the photos (8 measured; see the module docstring).
        batch_size: Photos per step.
        threads: torch intra-op threads (process-wide).
        body_lr: Peak learning rate of the pretrained network.
        head_lr: Peak learning rate of the new product classifier.
        seed: Seeds the crops, the order and the classifier's initial weights.
        progress: Called after every step with (step, steps, running loss).
        head_out: Where the product classifier is kept (``.npz``: ``names``,
            ``weight``, ``bias``), when wanted; it is not part of the weights.

    Returns:
        Where the weights are and how training went.

    Raises:
        ConfigError: If fewer than two products have two or more photos, the
            inputs disagree in length, or a setting is out of range.
    """
    if model not in BACKBONES:
        raise ConfigError(f"model must be one of {', '.join(BACKBONES)}")
    if len(images) != len(labels) or epochs < 1 or batch_size < 2 or threads < 1 \
            or not (0 < body_lr <= 1 and 0 < head_lr <= 1):
        raise ConfigError("as many labels as images, epochs >= 1, batch_size >= 2, "
                          "threads >= 1 and learning rates in (0, 1] required")
    names, codes, counts = np.unique(np.asarray(labels), return_inverse=True,
                                     return_counts=True)
    if (counts >= 2).sum() < 2:
        raise ConfigError("fine-tuning needs at least two products with two or more photos")
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    backbone = BACKBONES[model]
    size = backbone.image_size
    small = [shrink(image, model) for image in images]
    net = EfficientNet.from_pretrained(f"efficientnet-{model}",
                                       weights_path=backbone.weights_path())
    imagenet_head = {k: v.clone() for k, v in net._fc.state_dict().items()}
    net._fc = torch.nn.Linear(DIM, len(names))
    body = [p for n, p in net.named_parameters() if not n.startswith("_fc.")]
    optimizer = torch.optim.AdamW([{"params": body, "lr": body_lr},
                                   {"params": net._fc.parameters(), "lr": head_lr}],
                                  weight_decay=1e-4)
    # a last batch of one photo is skipped: it adds noise and nothing else
    per_epoch = len(small) // batch_size + (len(small) % batch_size >= 2)
    steps = epochs * per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[body_lr, head_lr],
                                                   total_steps=steps, pct_start=0.1)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    started, losses, step = time.perf_counter(), [], 0
    for _ in range(epochs):
        net.train()
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
        order, total = rng.permutation(len(small)), 0.0
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            if len(rows) < 2:
                continue
            x = torch.from_numpy(np.stack([_augment(small[i], size, rng) for i in rows]))
            loss = loss_fn(net(x), torch.from_numpy(codes[rows]).long())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.item())
            step += 1
            if progress is not None:
                progress(step, steps, total / (start // batch_size + 1))
        losses.append(total / per_epoch)
    if head_out is not None:
        np.savez(head_out, names=names, weight=net._fc.weight.detach().numpy(),
                 bias=net._fc.bias.detach().numpy())
    net._fc = torch.nn.Linear(DIM, len(imagenet_head["bias"]))
    net._fc.load_state_dict(imagenet_head)  # the screenshot check uses ImageNet's classes
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".tuned.{os.getpid()}.pt"
    torch.save({k: v for k, v in net.state_dict().items() if not k.startswith("_fc.")}, tmp)
    digest = file_digest(tmp)
    path = out_dir / f"{digest}.pt"
    os.replace(tmp, path)
    return TuneResult(path, digest, model, len(names), len(small), epochs,
                      round(time.perf_counter() - started, 1), tuple(losses))


CURRENT = "CURRENT.json"


def record_current(result: TuneResult) -> None:
    """Make ``result`` the shop's fine-tuned weights (atomically)."""
    folder = result.path.parent
    tmp = folder / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(json.dumps({**asdict(result), "path": result.path.name}, indent=1))
    os.replace(tmp, folder / CURRENT)


def prune(folder: Path, keep: Path | None) -> int:
    """Remove fine-tuned weights other than ``keep`` (once no index needs them)."""
    removed = 0
    for old in Path(folder).glob("*.pt"):
        if keep is None or old.resolve() != Path(keep).resolve():
            old.unlink(missing_ok=True)
            removed += 1
    return removed


def current_tuned(folder: Path, model: str) -> Path | None:
    """The shop's fine-tuned weights for ``model`` in ``folder``, if any.

    Returns ``None`` when nothing was fine-tuned, the record is unreadable, or
    the weights are for another network (after a change of ``VISION_MODEL``).
    """
    try:
        record = json.loads((Path(folder) / CURRENT).read_text())
        path = Path(folder) / Path(str(record["path"])).name
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if record.get("model") == model and path.is_file() else None
