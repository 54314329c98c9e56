"""Real Redis and PostgreSQL for the whole suite, and private servers tests may kill.

Shared: ``LLMRELAY_TEST_REDIS_URL`` / ``LLMRELAY_TEST_DATABASE_URL``, else the local servers on
their standard ports, else throwaway ones started here from the binaries (installed with
apt-get when missing and we are root). Never skipped: when none can be had the run fails and
says why. Others use the shared servers too: keys carry this session's token (``SESSION``),
databases are created per session and dropped, nothing is flushed.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SESSION = os.urandom(4).hex()
REDIS_PREFIX = f"llmrelay-test:{SESSION}"  # every Redis key a test makes starts with this
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/bin", "/usr/bin")  # newest version first


class Unavailable(RuntimeError):
    """A service the tests need cannot be had; the message says why (the run fails with it)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_async(coro: Any) -> Any:
    """Run a coroutine to its end from sync code, even inside an async test's running loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _apt_install(package: str) -> None:
    """``apt-get install`` when we may (root, apt-get present); quiet, bounded."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        return
    subprocess.run(f"apt-get install -y -q {package} >/dev/null 2>&1 || "
                   f"(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q {package} >/dev/null 2>&1)",
                   shell=True, check=False, timeout=900)


# ---- Redis --------------------------------------------------------------------------------


def redis_reachable(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        _apt_install("redis-server")
        binary = shutil.which("redis-server")
    if binary is None:
        raise Unavailable("no redis-server binary (apt-get install -y redis-server): the tests "
                          "need a real Redis and are never skipped")
    return binary


class RedisServer:
    """A throwaway ``redis-server`` on a free port, ours to kill, pause and start again."""

    def __init__(self, *, persistent: bool = False) -> None:
        self.binary = redis_binary()
        self.persistent = persistent  # an append-only file: a restart keeps what was written
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="llmrelay-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.persistent else "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not redis_reachable(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise Unavailable(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class SharedRedis:
    """The session's Redis: the one named, the local one, or a throwaway started here."""

    def __init__(self) -> None:
        self.url = ""
        self._own: RedisServer | None = None

    def start(self) -> None:
        named = os.environ.get("LLMRELAY_TEST_REDIS_URL")
        if named:
            if not redis_reachable(named):
                raise Unavailable(f"LLMRELAY_TEST_REDIS_URL={named} does not answer PING")
            self.url = named
            return
        if redis_reachable(DEFAULT_REDIS_URL):
            self.url = DEFAULT_REDIS_URL
            return
        self._own = RedisServer()
        self.url = self._own.url

    def stop(self, patterns: tuple[str, ...]) -> None:
        """Delete this session's keys (never FLUSHDB: others share this Redis)."""
        if self._own is not None:
            self._own.stop()
            return
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            for pattern in patterns:
                keys = list(client.scan_iter(match=pattern, count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start:start + 500])
        finally:
            client.close()


# ---- PostgreSQL ---------------------------------------------------------------------------


async def _pg_ping(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception as exc:  # any failure means "not usable here"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def pg_binary(name: str) -> str | None:
    def find() -> str | None:
        for pattern in PG_BIN_DIRS:
            for directory in sorted(glob.glob(pattern), reverse=True):
                candidate = Path(directory) / name
                if candidate.exists():
                    return str(candidate)
        return shutil.which(name)

    found = find()
    if found is None:
        _apt_install("postgresql")
        found = find()
    return found


class PostgresServer:
    """A private PostgreSQL on a free port, from the binaries (stop / start at will)."""

    def __init__(self) -> None:
        initdb, ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        if initdb is None or ctl is None:
            raise Unavailable("no initdb/pg_ctl binaries to start a PostgreSQL of our own "
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
        try:
            subprocess.run([self._ctl, "-D", str(self.data), "-o",
                            f"-p {self.port} -k {self._tmp.name} -c fsync=off",
                            "-l", str(Path(self._tmp.name) / "log"), "-w", "start"],
                           check=True, capture_output=True, **self._as)
        except subprocess.CalledProcessError as exc:
            raise Unavailable(f"a private PostgreSQL did not start: {exc.stderr!r}") from None
        deadline = time.time() + 20
        while run_async(_pg_ping(self.url)) is not None:
            if time.time() > deadline:
                raise Unavailable("a private PostgreSQL did not answer")
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
        self._numbers = itertools.count()

    def start(self) -> None:
        url = os.environ.get("LLMRELAY_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
        problem = run_async(_pg_ping(url))
        if problem is None:
            self.admin_url = url
            return
        if os.environ.get("LLMRELAY_TEST_DATABASE_URL"):
            raise Unavailable(f"LLMRELAY_TEST_DATABASE_URL={url} answered {problem}")
        try:
            self._own = PostgresServer()
            self._own.start()
        except (Unavailable, subprocess.CalledProcessError) as exc:
            raise Unavailable(f"PostgreSQL is needed by the tests and none can be had: {url} "
                              f"answered {problem}, and starting one failed: {exc}") from None
        self.admin_url = self._own.url

    def database(self) -> str:
        """A new empty database (named for this session); its URL."""
        import asyncpg

        name = f"llmrelay_t_{SESSION}_{next(self._numbers)}"

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
