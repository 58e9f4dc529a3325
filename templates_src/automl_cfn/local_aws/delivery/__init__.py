"""Deliveries between services, as AWS makes them: the permission each needs, and the payload's shape.

moto stores rules, pipes, schedules and alarms but delivers little, and
what it delivers it delivers whatever the policies say.  Each module here
plays one service's delivery and asks the evaluator (../policy/) first:

- events.py: an EventBridge rule sends to an SQS queue as
  events.amazonaws.com (the queue's policy, and the key policy of its
  customer key);
- pipes.py: an EventBridge pipe reads its SQS source and starts its Step
  Functions target as the pipe's role;
- scheduler.py: a schedule starts its target as the schedule's role, and
  parks what failed in its dead-letter queue as that role;
- alarms.py: a CloudWatch alarm publishes to its SNS actions as
  cloudwatch.amazonaws.com;
- config.py: AWS Config checks its delivery channel's bucket, and delivers
  configuration history to it, as the configuration recorder's role.

A refused delivery is dropped, as AWS drops it (it counts it in the rule's,
pipe's or schedule's failure metrics), and kept in `LOG` with AWS's reason,
served at GET /_automl/deliveries.
"""

from __future__ import annotations

import threading
import time
from collections import deque

LOG: deque = deque(maxlen=1000)
_LOCK = threading.Lock()


def record(channel: str, source: str, target: str, delivered: bool, detail: str = "") -> dict:
    entry = {"time": time.time(), "channel": channel, "source": source, "target": target, "delivered": delivered,
             "detail": detail}
    with _LOCK:
        LOG.append(entry)
    return entry


def log() -> list[dict]:
    with _LOCK:
        return list(LOG)


def reset() -> None:
    with _LOCK:
        LOG.clear()


def install() -> None:
    from . import alarms, config, events

    events.install()
    alarms.install()
    config.install()
