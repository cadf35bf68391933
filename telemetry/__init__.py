"""What an operator watches: Prometheus metrics, JSON log lines without personal data,
request and conversation ids across processes, liveness and readiness.

Shared by every process (the Rasa server, the action server, the desk, the demo shop,
the stream's consumer), in both environments: standard library, ``prometheus_client``
and Sanic only, nothing heavy at import time. The domain packages never import it
(they return typed results; the actions and channels count them).

- :mod:`telemetry.metrics`: every metric, in one place (the dashboard's and the alert
  rules' names are checked against it).
- :mod:`telemetry.logs`: the JSON log format, personal data masked.
- :mod:`telemetry.web`: a Sanic app's request ids, HTTP metrics, ``/metrics``,
  ``/health/live`` and ``/health/ready``.
"""
