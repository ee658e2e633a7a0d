"""Start and stop the real Neo4j 5.26 of tools/neo4j (Maven Central jars, no Docker) for tests, CI and benchmarks.

The launcher keeps its databases in ``data_dir/data``, so a server started again on the same directory (even
after a kill) sees everything committed before. It stops when its stdin closes, so it never outlives us.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

TOOLS_DIR = Path(os.environ.get("KGBUILD_NEO4J_TOOLS") or Path(__file__).resolve().parents[2] / "tools" / "neo4j")


class Neo4jUnavailable(RuntimeError):
    """Neo4j cannot be started here (no Java or Maven, jars not resolvable, or it did not come up)."""


def missing_tools() -> list[str]:
    """Which of java, javac and mvn are not on PATH (the launcher needs all three to be prepared)."""
    return [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]


def prepare(tools_dir: Path = TOOLS_DIR) -> None:
    """Run tools/neo4j/prepare.sh (fast when already done): resolve the jars and compile the launcher."""
    missing = missing_tools()
    if missing:
        raise Neo4jUnavailable(f"cannot prepare Neo4j: {', '.join(missing)} not found on PATH (install a JDK 17+ and Maven)")
    proc = subprocess.run(["bash", str(tools_dir / "prepare.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise Neo4jUnavailable(f"{tools_dir / 'prepare.sh'} failed (exit {proc.returncode}): {tail}")


class Neo4jServer:
    """One Neo4j process on a free loopback port; ``uri`` is its Bolt URI once started."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        heap: str = os.environ.get("KGBUILD_NEO4J_HEAP", "1g"),
        page_cache_mb: int = int(os.environ.get("KGBUILD_NEO4J_PAGECACHE_MB", "512")),
        startup_timeout: float = 240.0,
        tools_dir: Path = TOOLS_DIR,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="kgbuild-neo4j-"))
        self.heap = heap
        self.page_cache_mb = page_cache_mb
        self.startup_timeout = startup_timeout
        self.tools_dir = tools_dir
        self.uri: str | None = None
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        """Start the launcher, wait until Bolt answers and return its URI."""
        prepare(self.tools_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        classpath = f"{self.tools_dir / 'target'}{os.pathsep}{self.tools_dir / 'lib'}/*"
        command = [
            shutil.which("java") or "java",
            f"-Xmx{self.heap}",
            "-XX:+UseParallelGC",
            f"-Dkgbuild.pagecache.mb={self.page_cache_mb}",
            "-cp",
            classpath,
            "Neo4jLauncher",
            str(self.data_dir),
        ]
        self._stderr = open(self.data_dir / "launcher.err", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        line = self._first_line(self.startup_timeout)
        if not line.startswith("bolt://"):
            self.stop()
            err = (self.data_dir / "launcher.err").read_text(errors="replace").strip().splitlines()
            raise Neo4jUnavailable(f"Neo4j launcher in {self.data_dir} did not start: {' | '.join(err[-3:]) or 'no output'}")
        self.uri = line
        self._wait_for_bolt(time.monotonic() + self.startup_timeout)
        return line

    def _first_line(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        return result[0].strip() if result else ""

    def _wait_for_bolt(self, deadline: float) -> None:
        from neo4j import GraphDatabase

        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with GraphDatabase.driver(self.uri, auth=None) as driver:
                    driver.verify_connectivity()
                    return
            except Exception as exc:  # noqa: BLE001 - retried until the deadline
                last = exc
                time.sleep(0.2)
        self.stop()
        raise Neo4jUnavailable(f"Neo4j at {self.uri} did not answer on Bolt: {last}")

    def kill(self) -> None:
        """SIGKILL the server (a crash, for tests): nothing is flushed beyond what Neo4j already committed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
        self._cleanup(remove_dir=False)

    def stop(self) -> None:
        """Close its stdin (the launcher shuts Neo4j down cleanly); terminate or kill it if it lingers."""
        if self.process is not None and self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(60)
            except (subprocess.TimeoutExpired, OSError):
                self.process.terminate()
                try:
                    self.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(30)
        self._cleanup(remove_dir=self._own_dir)

    def _cleanup(self, remove_dir: bool) -> None:
        if self.process is not None:
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        if getattr(self, "_stderr", None) is not None:
            self._stderr.close()
        if remove_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "Neo4jServer":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def bulk_import(export_dir: str | Path, data_dir: str | Path, tools_dir: Path = TOOLS_DIR) -> float:
    """Run ``import.sh`` of a ``kgbuild export --format neo4j-import`` folder for real: ``neo4j-admin database
    import full`` (tools/neo4j/neo4j-admin, the Maven Central jars) into ``data_dir``, the directory a
    :class:`Neo4jServer` then opens. Returns the import's wall seconds; raises :class:`Neo4jUnavailable` on failure.
    """
    prepare(tools_dir)
    data_dir = Path(data_dir).resolve()
    conf = data_dir / "admin-conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "neo4j.conf").write_text(f"server.directories.data={data_dir / 'data'}\n", encoding="utf-8")
    env = {**os.environ, "NEO4J_CONF": str(conf), "NEO4J_HOME": str(data_dir), "PATH": f"{tools_dir}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    proc = subprocess.run(["bash", str(Path(export_dir) / "import.sh")], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or "IMPORT DONE" not in proc.stdout:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-4:])
        raise Neo4jUnavailable(f"neo4j-admin database import full failed (exit {proc.returncode}): {tail}")
    return seconds
