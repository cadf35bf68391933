"""The agent desk: a small web application where support agents and supervisors
answer the conversations the assistant handed over (``python -m desk``).

- :mod:`desk.accounts`: accounts (argon2id password hashes), expiring sessions
  with CSRF tokens, roles, canned responses;
- :mod:`desk.bot`: the Rasa server's internal routes (send into a conversation,
  record notes, wake it when the handoff record changed, read a conversation's history);
- :mod:`desk.live`: the live feed (server-sent events) and the scheduler
  (automatic assignment, queue updates and timeouts told to waiting customers);
- :mod:`desk.app`: the app; :mod:`desk.web` what its routes share; :mod:`desk.routes`
  the routes, one module per resource (pages, queue, conversations, catalog);
  :mod:`desk.i18n` the pages' words in English and Chinese.

The queue itself is :mod:`handoff`; the shop context (orders, quotes, product
search) comes from the same services the assistant uses (:mod:`actions.services`).
"""
