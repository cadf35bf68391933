"""Every port setting of ``make run`` is honoured together.

``ACTIONS_PORT=7055 make run`` used to start the action server on 7055 while Rasa
still called 5055 (the Makefile exported ``ACTION_ENDPOINT_URL`` with the port
written in): on a machine running two stacks, one Rasa called the other's action
server. These read the values the Makefile and ``scripts/run_stack.sh`` hand to the
servers, from the files themselves.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make_value(name: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"ACTION_ENDPOINT_URL", "ACTIONS_PORT", "RASA_PORT"}}
    out = subprocess.run(["make", "-s", "--no-print-directory", "--eval",
                          "print-%: ; @echo $($*)", f"print-{name}"],
                         cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


@pytest.mark.parametrize(("env", "url"), [
    ({}, "http://127.0.0.1:5055/webhook"),
    ({"ACTIONS_PORT": "7055"}, "http://127.0.0.1:7055/webhook"),
    ({"ACTIONS_PORT": "7055", "ACTION_ENDPOINT_URL": "http://actions.internal:80/webhook"},
     "http://actions.internal:80/webhook"),
])
def test_rasa_calls_the_action_server_on_the_port_it_was_started_on(
        env: dict[str, str], url: str) -> None:
    assert make_value("ACTION_ENDPOINT_URL", **env) == url
    if "ACTIONS_PORT" in env:
        assert make_value("ACTIONS_PORT", **env) == env["ACTIONS_PORT"]


def test_the_stack_script_derives_every_url_from_the_ports_it_was_given() -> None:
    """run_stack.sh's derived settings, read by running its assignments alone."""
    script = (ROOT / "scripts" / "run_stack.sh").read_text("utf-8")
    head = script.split("# secrets:")[0]  # the settings, before anything starts
    shown = subprocess.run(
        ["bash", "-c", head + "\necho \"$ACTION_ENDPOINT_URL|$DESK_URL|$WIDGET_ORIGINS|"
                              "$PRODUCT_IMAGE_URL|$RASA_PORT\""],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": os.environ["PATH"], "RASA_PORT": "7005", "ACTIONS_PORT": "7055",
             "STOREFRONT_PORT": "7080", "DESK_PORT": "7090"}).stdout.strip()
    action, desk, origins, images, rasa = shown.split("|")
    assert action == "http://127.0.0.1:7055/webhook"
    assert desk == "http://127.0.0.1:7090"
    assert origins == "http://127.0.0.1:7080,http://localhost:7080"
    assert images == "http://127.0.0.1:7080/images/{sku}"
    assert rasa == "7005"
