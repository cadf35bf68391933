"""Fail on any `rasa data validate` warning except two known false positives.

Rasa's validator reports responses that no story or rule uses. Ours are sent by
custom actions (listed in ``actions.constants.Response``) or by forms asking for
a slot (``utter_ask_<slot>``), which the validator cannot see. It also reports
intents without NLU examples: the channel-only ones
(``actions.constants.Intent.NO_EXAMPLES``, e.g. a photo message) are never
typed, so they have none. Exactly those warnings are allowed; every other
warning fails.

Usage: ``python -m scripts.check_validation results/validate.log``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from actions.constants import Intent, Response, Slot

UNUSED = re.compile(r"The utterance '(\w+)' is not used in any story or rule")
NO_EXAMPLES = re.compile(r"The intent '(\w+)' is listed in the domain file, but is not found "
                         r"in the NLU training data")
WARNING = re.compile(r"UserWarning: (.*)")


def problems(log: str) -> list[str]:
    """Warnings in a validation log that are not allowed."""
    sent_by_actions = {v for k, v in vars(Response).items() if not k.startswith("_")}
    sent_by_actions |= {f"utter_ask_{v}" for k, v in vars(Slot).items() if not k.startswith("_")}
    prefix = Response.ORDER_STATUS_PREFIX
    found = []
    for match in WARNING.finditer(log):
        text = match.group(1)
        unused = UNUSED.search(text)
        if unused and (unused.group(1) in sent_by_actions or unused.group(1).startswith(prefix)):
            continue
        no_examples = NO_EXAMPLES.search(text)
        if no_examples and no_examples.group(1) in Intent.NO_EXAMPLES:
            continue
        found.append(text)
    return found


def main(argv: list[str]) -> int:
    """Exit 1 and list the offending warnings, if any."""
    log = Path(argv[0]).read_text(encoding="utf-8", errors="replace")
    bad = problems(log)
    for text in bad:
        print(f"validation warning: {text}", file=sys.stderr)
    print(f"rasa data validate: {len(bad)} unexpected warning(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
