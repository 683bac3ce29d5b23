"""Fault injection for the tests of GoChat's delivery guarantees (GOCHAT_FAULT_INJECTION).

Testing only: each fault is a hook that wiring installs at the exact point it simulates, so a
test can kill a real `gochat serve` process where a power loss would hurt most and check that
nothing is lost. With the default setting none of this code runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import structlog

from gochat.bus import Envelope

log = structlog.get_logger("gochat.faults")

# EX_SOFTWARE: tells a test this exit was the injected fault, not a startup failure or a signal.
CRASH_EXIT_STATUS = 70


def crash_before_publish(envelopes: Sequence[Envelope]) -> None:
    """A publisher listener (it runs once the change committed, before the bus sees its events):
    ends the process at once, with no cleanup, as a kill -9 would."""
    log.warning("fault.crash_before_publish", count=len(envelopes))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(CRASH_EXIT_STATUS)


def crash_after_nonce_claim() -> None:
    """Runs in the Cassandra message store between a send's nonce claim and its message batch:
    ends the process at once, as a kill -9 would, leaving a claim with no message."""
    log.warning("fault.crash_after_nonce_claim")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(CRASH_EXIT_STATUS)
