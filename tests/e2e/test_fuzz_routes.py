"""Every public route of the real servers fuzzed from its OpenAPI description (issue 36),
bounded for `make test` (`make fuzz` runs the same for longer): no 5xx, no status code,
content type or body the description does not allow, no request left unanswered."""

from __future__ import annotations

import pytest
import requests

from scripts.fuzz import SERVERS, cases, run
from scripts.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", SERVERS)
def test_schemathesis_finds_nothing(stack: Stack, name: str) -> None:
    urls = {"rasa": stack.rasa_url, "actions": f"http://127.0.0.1:{stack.actions_port}",
            "desk": stack.desk_url, "storefront": stack.storefront_url}
    status, output = run(name, urls[name], examples=5, seed=36)
    generated, failures = cases(output)
    assert generated > 0, output[-3000:]
    assert status == 0 and failures == 0, output[-6000:]


def test_what_schemathesis_found_stays_fixed(stack: Stack) -> None:
    """A Cookie header with an illegal name failed every desk route with 500; a plain
    GET of the widget's socket with an empty Upgrade header failed Sanic's handshake
    with 500; a desk file name too long for the file system was a 500; Sanic's own 404
    was an HTML page."""
    desk = requests.get(f"{stack.desk_url}/desk/api/agents", timeout=10,
                        headers={"Cookie": "%)EwI-#,&?=1"})
    assert desk.status_code == 401, desk.text
    socket = requests.get(f"{stack.rasa_url}/webhooks/widget/socket", timeout=10,
                          headers={"Upgrade": ""})
    assert socket.status_code == 426 and socket.json()["error"], socket.text
    long_name = requests.get(f"{stack.desk_url}/desk/static/{'𝕿' * 80}", timeout=10)
    assert long_name.status_code == 404, long_name.text  # was a 500 (make fuzz)
    missing = requests.post(f"{stack.rasa_url}/webhooks/internal/deliveries/x/retry",
                            timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/json")
