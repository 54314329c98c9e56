"""Real PostgreSQL for the gateway tests: the local server, ``LLMRELAY_TEST_DATABASE_URL``, or a
throwaway one started from the binaries. Never skipped: no PostgreSQL fails the run, saying why.

Each gateway gets its own database, created with a per-session random name and dropped after.
Fault tests start a private server (``PostgresServer``) they may stop and start again: the
shared one is never touched.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SESSION = secrets.token_hex(4)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin",
               "/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_async(coro: Any) -> Any:
    """Run a coroutine to its end from sync code, even inside an async test's running loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _ping(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception as exc:  # any failure means "not usable here"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def _binary(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


class PostgresServer:
    """A private PostgreSQL on a free port, from the binaries (stop / start at will)."""

    def __init__(self) -> None:
        initdb, ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or ctl is None:
            raise RuntimeError("no initdb/pg_ctl binaries to start a PostgreSQL of our own "
                               "(apt-get install postgresql)")
        self._ctl = ctl
        self._tmp = tempfile.TemporaryDirectory(prefix="llmrelay-pg-")
        self.data = Path(self._tmp.name) / "data"
        self.port = free_port()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:  # postgres refuses to run as root
            import pwd

            account = pwd.getpwnam("postgres")
            os.chown(self._tmp.name, account.pw_uid, account.pw_gid)
            self._as = {"user": account.pw_uid, "group": account.pw_gid}
        subprocess.run([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True, **self._as)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run([self._ctl, "-D", str(self.data), "-o",
                        f"-p {self.port} -k {self._tmp.name} -c fsync=off",
                        "-l", str(Path(self._tmp.name) / "log"), "-w", "start"],
                       check=True, capture_output=True, **self._as)
        deadline = time.time() + 20
        while run_async(_ping(self.url)) is not None:
            if time.time() > deadline:
                raise RuntimeError("a private PostgreSQL did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run([self._ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, **self._as)

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()


class Postgres:
    """An admin URL (the shared server, or a private one) and the databases made from it."""

    def __init__(self) -> None:
        self.admin_url = ""
        self._own: PostgresServer | None = None
        self._created: list[str] = []

    def start(self) -> None:
        url = os.environ.get("LLMRELAY_TEST_DATABASE_URL", DEFAULT_URL)
        problem = run_async(_ping(url))
        if problem is None:
            self.admin_url = url
            return
        try:
            self._own = PostgresServer()
            self._own.start()
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            raise RuntimeError(f"PostgreSQL is needed by the gateway tests and none can be had: "
                               f"{url} answered {problem}, and starting one failed: {exc}") from None
        self.admin_url = self._own.url

    def database(self) -> str:
        """A new empty database (named for this session); its URL."""
        import asyncpg

        name = f"llmrelay_gw_{SESSION}_{len(self._created)}"

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        run_async(create())
        self._created.append(name)
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"

    def drop(self, url: str) -> None:
        import asyncpg

        name = url.rpartition("/")[2]

        async def drop() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        run_async(drop())
        if name in self._created:
            self._created.remove(name)

    def stop(self) -> None:
        for name in list(self._created):
            base, _, _ = self.admin_url.rpartition("/")
            self.drop(f"{base}/{name}")
        if self._own is not None:
            self._own.close()
