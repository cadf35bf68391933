"""Locust users for ``make bench-load`` (run by Locust in its own environment,
``.venv-load``; ``scripts/bench_load.py`` starts the servers and reads the results).

Each simulated customer holds whole shopping conversations over the REST channel, in
English or Chinese, with a think time between messages as a person has: a greeting, a
search, the price of an item of the list, recommendations, a comparison, thanks. A
message counts as failed when the answer is not a 200 with at least one message, or
comes back in the other language (a server under load must not answer a Chinese
customer in English).
"""

from __future__ import annotations

import itertools
import os
import re
import uuid

from locust import HttpUser, between, task

#: One conversation per language: (step name, message)
SCRIPTS = {
    "en": [("greet", "hi there"), ("search", "show me running shoes"),
           ("price", "how much is the second one?"),
           ("recommend", "what would you recommend under $150?"),
           ("compare", "compare the first and the second"), ("thanks", "thanks, bye")],
    "zh": [("greet", "你好"), ("search", "有没有跑鞋"), ("price", "第二个多少钱"),
           ("recommend", "有什么推荐的，1000元以下"), ("compare", "比较一下第一个和第二个"),
           ("thanks", "谢谢，再见")],
}
HAN = re.compile(r"[\u4e00-\u9fff]")
_languages = itertools.cycle(["en", "zh"])
#: Seconds between a customer's messages (reading the answer, typing the next one).
THINK = (float(os.environ.get("LOAD_THINK_MIN", "1")), float(os.environ.get("LOAD_THINK_MAX",
                                                                              "3")))


class Customer(HttpUser):
    """A shop customer chatting over REST."""

    wait_time = between(*THINK)

    def on_start(self) -> None:
        self.language = next(_languages)

    @task
    def conversation(self) -> None:
        """One whole conversation, in this customer's language."""
        sender = f"load-{self.language}-{uuid.uuid4().hex[:12]}"
        for step, text in SCRIPTS[self.language]:
            with self.client.post("/webhooks/rest/webhook", name=f"{self.language} {step}",
                                  json={"sender": sender, "message": text},
                                  catch_response=True, timeout=60) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")
                else:
                    try:
                        texts = " ".join(m.get("text") or "" for m in response.json())
                    except ValueError:
                        response.failure("not JSON")
                        continue
                    if not texts.strip():
                        response.failure("no answer")
                    elif (self.language == "zh") != bool(HAN.search(texts)):
                        response.failure("answered in the other language")
            self.wait()
