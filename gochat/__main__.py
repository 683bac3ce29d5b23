"""`python -m gochat` runs the CLI."""

from gochat.cli import main

main()
