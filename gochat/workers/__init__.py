"""Work off the request path: handlers (one module each, no loop of their own) and the runner
that feeds them.

Today the runner is in-process (`inprocess.py`): handlers are fed right after the change they
follow has committed, and a catch-up scan at start finds the work a crash or a full queue left
undone, so nothing is lost, only delayed. A durable queue (the outbox relay into a JetStream
work queue, shared by N worker processes) is the scale runner still to come.
"""
