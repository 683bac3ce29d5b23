"""Work off the request path: handlers (one module each, no loop of their own), the runner that
feeds them (`runner.py`) and its sources (`sources.py`): the relational store's job table
embedded, a JetStream consumer per worker kind at scale. Handlers are listed in
gochat/wiring/background.py (`event_handlers`); `gochat serve` runs them in-process unless
GOCHAT_WORKERS_IN_PROCESS is false, and `gochat worker NAME` runs one kind on its own.

Tasks a command queued (data exports, ban purges) are not events: `background_tasks.py` handles
them, run by `inprocess.py` in the process that queued them, from their rows in the database.
"""
