"""Prometheus metrics an operator watches."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INBOUND = Counter(
    "krishi_inbound_total", "Inbound deliveries by channel and outcome", ["channel", "outcome"]
)
OUTBOUND = Counter(
    "krishi_outbound_total", "Outbound send results by channel and status", ["channel", "status"]
)
TURN_SECONDS = Histogram(
    "krishi_turn_seconds",
    "Time to handle one inbound turn, commit included",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SEND_SECONDS = Histogram(
    "krishi_send_seconds",
    "Provider call latency",
    ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
INBOX_BATCH = Histogram(
    "krishi_inbox_batch_size",
    "Inbound messages recorded by one inbox write (requests that arrived together)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
TURN_BATCH = Histogram(
    "krishi_turn_batch_size",
    "Turns committed together by one turn worker batch",
    buckets=(1, 2, 5, 10, 20, 50, 100),
)
INBOX_LAG_SECONDS = Histogram(
    "krishi_inbox_lag_seconds",
    "From a message's arrival in the inbox to its turn's commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0),
)
