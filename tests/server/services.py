"""Real PostgreSQL for the gateway tests: the local server, ``LLMRELAY_TEST_DATABASE_URL``, or a
throwaway one started from the binaries. Never skipped: no PostgreSQL fails the run, saying why.

Each gateway gets its own database, created with a per-session random name and dropped after.
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
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/bin", "/usr/bin")


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


class Postgres:
    """An admin URL and the databases made from it."""

    def __init__(self) -> None:
        self.admin_url = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ctl: str | None = None
        self._created: list[str] = []

    def start(self) -> None:
        url = os.environ.get("LLMRELAY_TEST_DATABASE_URL", DEFAULT_URL)
        problem = run_async(_ping(url))
        if problem is None:
            self.admin_url = url
            return
        initdb, ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or ctl is None:
            raise RuntimeError(f"PostgreSQL is needed by the gateway tests and none can be had: "
                               f"{url} answered {problem}, and no initdb/pg_ctl binaries were "
                               "found to start a throwaway one (apt-get install postgresql).")
        self._tmp = tempfile.TemporaryDirectory(prefix="llmrelay-pg-")
        data = Path(self._tmp.name) / "data"
        port = free_port()
        user = ["-U", "postgres"]
        run_as: dict[str, Any] = {}
        if os.geteuid() == 0:  # postgres refuses to run as root
            import pwd

            account = pwd.getpwnam("postgres")
            os.chown(self._tmp.name, account.pw_uid, account.pw_gid)
            run_as = {"user": account.pw_uid, "group": account.pw_gid}
        subprocess.run([initdb, "-D", str(data), "-A", "trust", *user], check=True,
                       capture_output=True, **run_as)
        subprocess.run([ctl, "-D", str(data), "-o", f"-p {port} -k {self._tmp.name} -c fsync=off",
                        "-l", str(Path(self._tmp.name) / "log"), "-w", "start"], check=True,
                       capture_output=True, **run_as)
        self._ctl = ctl
        self._run_as = run_as
        self._data = data
        self.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.time() + 20
        while run_async(_ping(self.admin_url)) is not None:
            if time.time() > deadline:
                raise RuntimeError("a throwaway PostgreSQL did not start")
            time.sleep(0.2)

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
        if self._ctl is not None:
            subprocess.run([self._ctl, "-D", str(self._data), "-m", "immediate", "stop"],
                           capture_output=True, **self._run_as)
        if self._tmp is not None:
            self._tmp.cleanup()
