"""`gochat bench`: size a running deployment (gochat/sizing.py)."""

from __future__ import annotations

import asyncio
import sys

import click

from gochat import sizing


@click.command("bench")
@click.option(
    "--url", default="http://127.0.0.1:8000", show_default=True, help="The API's base URL."
)
@click.option(
    "--users",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="WebSocket connections, each holding `events`.",
)
@click.option(
    "--accounts",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="Accounts the users share (each one is a registration and a sign-in).",
)
@click.option(
    "--guilds",
    type=click.IntRange(1, 1_000),
    default=4,
    show_default=True,
    help="Guilds the accounts are spread over; a message reaches its guild's users.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(1, 3600),
    default=30.0,
    show_default=True,
    help="Length of the measured load.",
)
@click.option(
    "--rate",
    "messages_per_user_minute",
    type=click.FloatRange(0.01, 600),
    default=2.0,
    show_default=True,
    help="Messages each user sends per minute, on average.",
)
@click.option(
    "--metrics-url",
    "metrics_urls",
    multiple=True,
    help="Each API process's /metrics (repeat; default URL/metrics).",
)
def bench(  # noqa: PLR0917 - one parameter per click option
    url: str,
    users: int,
    accounts: int,
    guilds: int,
    seconds: float,
    messages_per_user_minute: float,
    metrics_urls: tuple[str, ...],
) -> None:
    """Run a short mixed load (sign-ups, sockets, subscriptions, sends) against a running
    deployment and print its CPU, memory and bandwidth per 1,000 users."""
    if guilds > accounts:
        raise click.BadParameter("at most one guild per account", param_hint="--guilds")
    plan = sizing.Plan(
        url=url,
        users=users,
        accounts=accounts,
        guilds=guilds,
        seconds=seconds,
        messages_per_user_minute=messages_per_user_minute,
        metrics_urls=metrics_urls,
    )
    try:
        report = asyncio.run(sizing.run(plan))
    except sizing.SizingError as exc:
        click.echo(f"gochat bench: {exc}", err=True)
        sys.exit(1)
    click.echo(report.render())
