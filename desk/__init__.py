"""The agent desk: a small web application where support agents and supervisors
answer the conversations the assistant handed over (``python -m desk``).

- :mod:`desk.accounts`: accounts (argon2id password hashes), expiring sessions
  with CSRF tokens, roles, canned responses;
- :mod:`desk.bot`: the Rasa server's internal routes (send into a conversation,
  record notes and handoff events, read a conversation's history);
- :mod:`desk.live`: the live feed (server-sent events) and the scheduler
  (automatic assignment, queue updates and timeouts told to waiting customers);
- :mod:`desk.app`: the routes and pages.

The queue itself is :mod:`handoff`; the shop context (orders, quotes, product
search) comes from the same services the assistant uses (:mod:`actions.services`).
"""
