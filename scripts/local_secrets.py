"""Create the demo's local secrets once: ``python -m scripts.local_secrets FILE``.

``make run`` keeps them in ``$SHOP_DATA_DIR/secrets.env`` (mode 600) and loads
them into both servers unless the environment already sets them. A real shop
sets its own (docs/security.md). Existing values are never changed, so signed
customer ids and uploaded photos stay valid across restarts.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

NAMES = ("CUSTOMER_ID_SECRET", "ACTION_SERVER_TOKEN", "CHANNEL_SECRET", "CHANNEL_PUSH_TOKEN",
         "DESK_TOKEN", "METRICS_TOKEN", "LOG_KEY")


def ensure(path: Path) -> dict[str, str]:
    """Read ``path``, add any missing secret, write it back (owner-only); returns them."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text("utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip() in NAMES and value.strip():
                values[name.strip()] = value.strip()
    missing = [n for n in NAMES if n not in values]
    if missing or not path.exists():
        values.update({n: secrets.token_hex(32) for n in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("# Local secrets made by `make run` for the demo; keep this file private.\n")
            out.writelines(f"{n}={values[n]}\n" for n in NAMES)
    os.chmod(path, 0o600)
    return values


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) != 2:
        sys.exit("usage: python -m scripts.local_secrets FILE")
    ensure(Path(sys.argv[1]))
