"""``python -m shopctl explain CONVERSATION`` (``make explain CONVERSATION=…``): the trail
of every decision shown to the customer in one conversation, turn by turn.

For each customer message: what the assistant understood (intent, confidence, entities,
language, a photo's id), and then what it decided and from what —

- a **price**: the quote's audited record (``price_quotes``: list price, the price
  said, the policy's status and version, the guardrails that changed it, whether it
  was a shadow decision, the context it saw);
- a **recommendation**: the list's request id, experiment variant, model version and
  the products shown, and which were clicked (``recommendation_events``);
- a **photo answer**: the encoder's model version, each product's score and the
  catalog photo it matched (the answer's own record in the tracker);

and any handoff to a person. Read from the stores (:mod:`privacy`), never from logs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from privacy import CustomerData


def _when(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp()
    return 0.0


def _stamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def trail(rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The conversation's decisions in time order, each a dict with ``at``, ``kind``
    (``message``, ``answer``, ``price``, ``recommendation``, ``photo``, ``handoff``)
    and its inputs and versions."""
    steps: list[dict[str, Any]] = []
    for event in rows.get("events", []):
        data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
        at = float(event.get("timestamp") or 0)
        if event.get("type_name") == "user":
            parse = data.get("parse_data") or {}
            metadata = data.get("metadata") or {}
            steps.append({"at": at, "kind": "message", "text": data.get("text"),
                          "intent": (parse.get("intent") or {}).get("name"),
                          "confidence": round((parse.get("intent") or {}).get("confidence")
                                              or 0.0, 3),
                          "entities": [{e.get("entity"): e.get("value")}
                                       for e in parse.get("entities") or []],
                          "photo": metadata.get("image"),
                          "customer": (metadata.get("verified") or {}).get("customer_id")})
        elif event.get("type_name") == "bot":
            custom = ((data.get("data") or {}).get("custom") or {})
            if custom.get("type") == "product_cards" and custom.get("source") == "photo":
                steps.append({"at": at, "kind": "photo", "confident": custom.get("confident"),
                              "model_version": custom.get("model_version"),
                              "matches": [{"product": c.get("sku") or c.get("title"),
                                           "score": c.get("score"),
                                           "matched": c.get("matched_image")}
                                          for c in custom.get("cards") or []]})
            else:
                steps.append({"at": at, "kind": "answer", "text": data.get("text"),
                              "response": (data.get("metadata") or {}).get("utter_action")})
    for quote in rows.get("price_quotes", []):
        steps.append({"at": _when(quote.get("created_at")), "kind": "price",
                      "product": quote.get("sku"), "decision": quote.get("kind"),
                      "list_price": quote.get("list_price"), "price": quote.get("price"),
                      "currency": quote.get("currency"), "status": quote.get("status"),
                      "policy": f"{quote.get('policy_kind') or '-'} "
                                f"{quote.get('policy_version') or '-'}",
                      "guardrails": quote.get("adjustments") or "",
                      "shadow": bool(quote.get("shadow")), "context": quote.get("context")})
    lists: dict[str, dict[str, Any]] = {}
    for shown in rows.get("recommendation_events", []):
        entry = lists.setdefault(shown.get("request_id") or "?", {
            "at": _when(shown.get("timestamp")), "kind": "recommendation",
            "request": shown.get("request_id"), "list": shown.get("list_kind"),
            "variant": shown.get("variant"), "experiment": shown.get("experiment"),
            "model_version": shown.get("model_version"), "shown": [], "clicked": [],
            "bought": []})
        key = {"shown": "shown", "click": "clicked", "purchase": "bought"}.get(
            str(shown.get("kind")))
        if key:
            entry[key].append(shown.get("product_sku"))
    steps.extend(lists.values())
    for handoff in rows.get("handoffs", []):
        steps.append({"at": _when(handoff.get("requested_at")), "kind": "handoff",
                      "reason": handoff.get("reason"), "state": handoff.get("state"),
                      "agent": handoff.get("agent")})
    return sorted(steps, key=lambda s: s["at"])


def _line(step: dict[str, Any]) -> str:
    kind = step["kind"]
    head = f"{_stamp(step['at'])}  {kind:<14}"
    if kind == "message":
        extra = "".join([f" entities {step['entities']}" if step["entities"] else "",
                         f" photo {step['photo']}" if step["photo"] else "",
                         f" customer {step['customer']}" if step["customer"] else ""])
        return f"{head}{step['text']!r} -> {step['intent']} ({step['confidence']}){extra}"
    if kind == "answer":
        return f"{head}{step['response'] or '-'}: {str(step['text'] or '')[:80]!r}"
    if kind == "price":
        guarded = f", guardrails {step['guardrails']}" if step["guardrails"] else ""
        return (f"{head}{step['product']} {step['decision']}: {step['price']} "
                f"{step['currency']} (list {step['list_price']}), {step['status']}, policy "
                f"{step['policy']}{guarded}{', shadow' if step['shadow'] else ''}")
    if kind == "recommendation":
        return (f"{head}{step['list']} list {step['request']}: variant {step['variant']}, "
                f"model {step['model_version']}; shown {step['shown']}"
                f"{'; clicked ' + str(step['clicked']) if step['clicked'] else ''}"
                f"{'; bought ' + str(step['bought']) if step['bought'] else ''}")
    if kind == "photo":
        return (f"{head}model {step['model_version']}, "
                f"{'sure' if step['confident'] else 'unsure'}: "
                + ", ".join(f"{m['product']} {m['score']}" for m in step["matches"]))
    return f"{head}{step.get('reason')} ({step.get('state')}, agent {step.get('agent') or '-'})"


def main(argv: list[str] | None = None) -> int:
    """Print the trail (``--json``: as JSON lines)."""
    from shopctl.settings import settings
    from telemetry.logs import setup

    parser = argparse.ArgumentParser(prog="python -m shopctl explain", description=__doc__)
    parser.add_argument("conversation")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    setup("shopctl")  # reads LOG_KEY: the conversation's tag as the servers write it
    data = CustomerData(settings().stores)
    try:
        steps = trail(data.of_conversation(args.conversation))
    finally:
        data.close()
    if not steps:
        print(f"nothing is known about conversation {args.conversation}", file=sys.stderr)
        return 1
    if not args.json and os.environ.get("LOG_KEY"):
        from telemetry.logs import conversation_tag

        print(f"its log lines: \"conversation\": \"{conversation_tag(args.conversation)}\"")
    for step in steps:
        print(json.dumps(step, ensure_ascii=False, default=str) if args.json else _line(step))
    return 0


if __name__ == "__main__":
    sys.exit(main())
