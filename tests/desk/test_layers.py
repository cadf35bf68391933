"""The agent desk stands on the domain packages and the shop's presentation, not on
Rasa: importing every desk module loads neither Rasa nor its SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_desk_loads_no_rasa_sdk() -> None:
    probe = ("import sys, desk.web, desk.context, desk.bot, desk.routes.pages, "
             "desk.routes.queue, desk.routes.conversations, desk.routes.catalog; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'rasa', 'rasa_sdk'}))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(ROOT),
                                                        "PATH": "/usr/bin:/bin"})
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
