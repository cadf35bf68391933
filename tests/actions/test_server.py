"""The action server answers only our Rasa server (finding 3 of issue 18).

Runs the real server (``python -m actions.server``) on the demo shop and talks
to it over HTTP, as an attacker on the machine would.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import ROOT, free_port, wait_until_up

TOKEN = secrets.token_hex(16)
EMAIL = "victim.person@example.com"


def call(action: str = "action_search_products", **tracker: Any) -> dict[str, Any]:
    """An action call as Rasa 3.6 sends it."""
    base = {"sender_id": "conv-1", "slots": {"language": "en"}, "events": [],
            "latest_message": {"text": "red running shoes", "intent": {"name": "search_product"},
                               "entities": [{"entity": "category", "value": "running shoes"}],
                               "metadata": {}},
            "paused": False, "followup_action": None, "active_loop": {},
            "latest_action_name": "action_listen"}
    base.update(tracker)
    return {"next_action": action, "sender_id": "conv-1", "tracker": base,
            "domain": {"version": "3.1"}, "version": "3.6.21"}


@pytest.fixture(scope="module")
def server(demo_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path_factory.mktemp("action-server") / "actions.log"
    env = {**demo_env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "ACTION_SERVER_TOKEN": TOKEN}
    process = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", process, log, 60)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def post(url: str, body: Any = None, *, token: str | None = TOKEN, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> requests.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return requests.post(f"{url}/webhook", data=raw if raw is not None else json.dumps(body),
                         headers=sent, timeout=60)


def test_without_a_token_it_does_not_start(demo_env: dict[str, str]) -> None:
    env = {**demo_env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    env.pop("ACTION_SERVER_TOKEN", None)
    done = subprocess.run([sys.executable, "-m", "actions.server", "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ACTION_SERVER_TOKEN" in done.stderr


def test_it_listens_on_loopback_only(server: tuple[str, Path]) -> None:
    port = int(server[0].rsplit(":", 1)[1])
    listening = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    local = [fields[1] for fields in listening if fields[3] == "0A"  # LISTEN
             and int(fields[1].split(":")[1], 16) == port]
    assert local == ["0100007F:" + f"{port:04X}"]  # 127.0.0.1, not 0.0.0.0


def test_a_forged_call_without_the_token_is_refused(server: tuple[str, Path]) -> None:
    url, _ = server
    cancel = call("action_cancel_order", slots={"language": "en", "order_number": "SH-100001"},
                  latest_message={"text": "cancel", "intent": {"name": "cancel_order"},
                                  "metadata": {"verified": {"customer_id": "C10002"}}})
    for token in (None, "", "wrong", TOKEN[:-1], TOKEN + "x"):
        response = post(url, cancel, token=token)
        assert response.status_code == 401, token
        assert "C10002" not in response.text
    assert requests.get(f"{url}/actions", timeout=10).status_code == 401
    assert requests.get(f"{url}/health", timeout=10).json() == {"status": "ok"}


def test_the_real_caller_gets_answers(server: tuple[str, Path]) -> None:
    response = post(server[0], call())
    assert response.status_code == 200, response.text
    assert response.json()["responses"], response.json()
    listed = requests.get(f"{server[0]}/actions", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10)
    assert {"name": "action_search_products"} in listed.json()


@pytest.mark.parametrize(("body", "raw"), [
    (None, b"{not json"),
    (None, b"[1, 2]"),
    (None, b"\xff\xfe\x00"),
    (None, b"[" * 100_000 + b"]" * 100_000),
    ({"next_action": "action_search_products"}, None),
    ({"next_action": 5, "tracker": {}}, None),
    ({**call(), "tracker": "x"}, None),
    ({**call(), "domain": [1]}, None),
])
def test_malformed_calls_get_a_4xx_and_never_a_500(server: tuple[str, Path], body: Any,
                                                    raw: bytes | None) -> None:
    response = post(server[0], body, raw=raw)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("field", [
    {"events": {"event": "slot"}}, {"events": [{"no": "type"}]}, {"slots": [1]},
    {"latest_message": []}, {"latest_message": {"metadata": [EMAIL]}},
    {"latest_message": {"entities": "x"}}, {"sender_id": 42}, {"active_loop": "order_form"},
])
def test_a_malformed_tracker_is_a_400_whose_logs_hold_no_personal_data(
        server: tuple[str, Path], field: dict[str, Any]) -> None:
    url, log = server
    body = call(**field)
    body["tracker"]["email_on_file"] = EMAIL
    response = post(url, body)
    assert response.status_code == 400, response.text
    assert EMAIL not in response.text
    assert EMAIL not in log.read_text(errors="replace")


def test_odd_slot_values_are_answered_and_not_logged(server: tuple[str, Path]) -> None:
    url, log = server
    # a well-formed call whose slot values no action expects
    body = call("action_order_status", slots={"language": "en", "order_number": {"x": EMAIL},
                                              "order_email": [EMAIL]})
    response = post(url, body)
    assert response.status_code == 200, response.text
    assert response.json()["responses"][0]["response"] == "utter_order_not_found"
    assert EMAIL not in log.read_text(errors="replace")


def test_a_compressed_bomb_is_refused(server: tuple[str, Path]) -> None:
    bomb = zlib.compress(b" " * (64 * 1024 * 1024), 9)
    assert len(bomb) < 100_000
    response = post(server[0], raw=bomb, headers={"Content-Encoding": "deflate"})
    assert response.status_code == 413
    garbage = post(server[0], raw=b"not deflate", headers={"Content-Encoding": "deflate"})
    assert garbage.status_code == 400
    fine = post(server[0], raw=zlib.compress(json.dumps(call()).encode()),
                headers={"Content-Encoding": "deflate"})
    assert fine.status_code == 200, fine.text


def test_an_unknown_action_is_a_404(server: tuple[str, Path]) -> None:
    assert post(server[0], call("action_drop_tables")).status_code == 404
