"""Three servers start at once on one database (the Rasa server, the action server and
the desk): each creates the queue's tables that are missing, and none fails because
another created one a moment before it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from handoff import HandoffService

ROOT = Path(__file__).resolve().parents[2]
START = ("import sys; from handoff import HandoffService; "
         "HandoffService(url=sys.argv[1]).create_schema()")


def test_servers_starting_together_all_get_the_schema(tmp_path: Path) -> None:
    for round_ in range(4):  # a race: several rounds, each on a fresh database
        url = f"sqlite:///{tmp_path / f'handoff-{round_}.db'}"
        starts = [subprocess.Popen([sys.executable, "-c", START, url], cwd=ROOT,
                                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                                   stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for start in starts:
            _, err = start.communicate(timeout=120)
            assert start.returncode == 0, err[-2000:]
        tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
        assert {"handoffs", "conversation_holders", "handoff_queue_told"} <= tables
    HandoffService(url=url).create_schema()  # and again, with everything there
