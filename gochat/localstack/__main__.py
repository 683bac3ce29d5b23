"""`python -m gochat.localstack up|down|status` (what `scripts/stack` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gochat.localstack.engines import REPOSITORY
from gochat.localstack.stack import OPTIONAL_ENGINES, Stack, StackError, port_open


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/stack",
        description="The scale topology on loopback from local binaries: PostgreSQL, Cassandra, "
        "NATS, Redis, OpenSearch, an S3 store, etcd; N API processes, one process per worker "
        "kind and an SFU.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        default=REPOSITORY / ".stack",
        help="state directory: pids, logs, data, the env file (default: .stack/)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up", parents=[common], help="start the stack and print where its APIs are"
    )
    up.add_argument("--api", type=int, default=2, help="API processes (default 2)")
    up.add_argument(
        "--without",
        default="",
        help=f"leave out slow engines, comma-separated ({','.join(OPTIONAL_ENGINES)}): "
        "messages then live in PostgreSQL, search runs on its full text",
    )
    commands.add_parser(
        "status", parents=[common], help="each process: alive or not, and its ports"
    )
    down = commands.add_parser(
        "down", parents=[common], help="stop everything (SIGTERM, then SIGKILL)"
    )
    down.add_argument(
        "--timeout", type=float, default=20.0, help="seconds before SIGKILL (default 20)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stack = Stack(args.dir)
    try:
        if args.command == "up":
            without = [name.strip() for name in args.without.split(",") if name.strip()]
            state = stack.up(apis=args.api, without=without)
            for process in state.processes:
                if process.name.startswith("api-"):
                    print(f"{process.name}: GraphiQL at {process.url}")
            sfu = next(p for p in state.processes if p.name == "sfu")
            print(f"sfu: {sfu.url}")
            print(f"settings: . {stack.env_path}   logs: {stack.logs}/")
            return 0
        if args.command == "status":
            listed = stack.status()
            if not listed:
                print(f"no stack recorded in {stack.root}")
                return 3
            for process, up in listed:
                ports = ",".join(
                    f"{port}{'' if port_open(port) else '(closed)'}" for port in process.ports
                )
                shown = f"  {process.url}" if process.url else ""
                print(
                    f"{process.name:<18} {'alive' if up else 'DEAD':<6} pid {process.pid:<8} "
                    f"ports {ports or '-'}{shown}"
                )
            return 0 if all(up for _, up in listed) else 1
        stack.down(timeout=args.timeout)
        return 0
    except StackError as error:
        print(f"scripts/stack: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
