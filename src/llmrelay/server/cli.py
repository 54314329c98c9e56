"""``llmrelay serve``: the command line of the gateway (``python -m llmrelay.server`` too).

Imports only the standard library until the arguments are read, so a missing ``[server]``
extra is a one-line message, not a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import socket
import sys

__all__ = ["main"]

NEEDED = ("uvicorn", "httptools", "yaml", "asyncpg")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmrelay", description="llmrelay command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the OpenAI-compatible gateway",
                           description="Run the OpenAI-compatible gateway.")
    serve.add_argument("--config", help="YAML config (LiteLLM proxy configs load unchanged)")
    serve.add_argument("--model", help="with no config: serve this one model as a group of that name")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=4000, help="default 4000")
    serve.add_argument("--workers", type=int, default=1, help="processes on the one port (default 1)")
    serve.add_argument("--grace", type=float, default=30.0,
                       help="seconds SIGTERM waits for requests in flight (default 30)")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])
    serve.add_argument("--access-log", action="store_true",
                       help="log one line per request (never the query string of /key/* or /spend/*)")
    serve.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    return parser


class _Scrub(logging.Filter):
    """Masks the config's secrets out of every log record, whatever logged it."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        from ..masking import scrub

        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            clean += "\n" + scrub(formatted, self.secrets)
            record.exc_info = None
            record.exc_text = None
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _logging(level: str, access_log: bool) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("llmrelay.server.access").setLevel("INFO" if access_log else "WARNING")
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # The pool retries on its own and logs each retry with a traceback; the gateway says once
    # that the database is down and once that it is back.
    logging.getLogger("asyncpg").setLevel(logging.CRITICAL)
    return handler


def _missing() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def serve(args: argparse.Namespace, argv: list[str]) -> int:
    handler = _logging(args.log_level, args.access_log)
    if _missing():
        print("llmrelay serve needs the server extra: pip install 'llmrelay[server]' "
              f"(missing: {', '.join(_missing())})", file=sys.stderr)
        return 2
    from .config import ConfigError, load_config
    from .runner import EXIT_CONFIG, EXIT_START, ServeOptions, bind, run_supervisor, run_worker

    if args.workers < 1:
        print("llmrelay serve: --workers must be 1 or more", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config, model=args.model)
    except ConfigError as exc:
        print(f"llmrelay serve: invalid config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    handler.addFilter(_Scrub(config.secrets()))
    options = ServeOptions(args.host, args.port, args.workers, args.grace)
    if args.worker_fd is not None:
        sock = socket.socket(fileno=args.worker_fd)
        return run_worker(config, options, sock, supervised=True)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"llmrelay serve: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_START
    if args.workers == 1:
        return run_worker(config, options, sock)
    from .app import build_router
    from .config import log_ignored

    try:
        build_router(config)  # the workers would all fail the same way: say it once
    except ConfigError as exc:
        print(f"llmrelay serve: invalid config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    log_ignored(config)  # once, here, not once per worker
    return run_supervisor(options, argv, sock)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.command == "serve":
        worker_argv = [a for a in argv[argv.index("serve") + 1:]]
        sys.exit(serve(args, worker_argv))


if __name__ == "__main__":
    main()
