"""The learner process a memory starts for itself with ``learning.mode = "process"``.

Learning on the memory's own threads shares one interpreter lock with the caller: every
millisecond a learning thread spends in Python is a millisecond the agent's next search or
completion waits. In ``process`` mode the memory stores episodes as in ``external`` mode
(marked unlearned) and starts one child process that learns them, the same work as
``memory-core learn --follow`` for its namespace, on its own interpreter.

The child runs `main` in a new interpreter (``sys.executable``). It reads its configuration and
namespace as one JSON line on standard input, then learns until standard input closes: the
memory closes it on `close` (the child then learns what is still pending and exits), and
the operating system closes it when the memory's process dies, so a learner never outlives
its memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from memory_core.config import MemoryConfig
from memory_core.errors import ConfigurationError

__all__ = ["LearnerProcess", "check_shareable", "main"]

logger = logging.getLogger("memory_core.learning")

_POLL_SECONDS = 0.05
"""How often the child looks for new episodes when idle, and the parent for progress."""

_CHILD = "from memory_core._learner_process import main; main()"
"""What the child interpreter runs."""

_KILL_GRACE_SECONDS = 5.0
"""How long a learner asked to terminate may take before it is killed."""

MAX_RESTARTS = 5
"""Children started again, at most, after one exited while its memory was open."""

RESTART_DELAY_SECONDS = 1.0
"""Wait before starting another child after one exited."""


def check_shareable(url: str) -> None:
    """Raise unless another process can open the database at ``url``.

    Raises:
        ConfigurationError: The URL names an in-memory SQLite database (or cannot be parsed).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"cannot parse the database URL: {exc}") from exc
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if parsed.get_backend_name() == "sqlite" and in_memory:
        raise ConfigurationError(
            'learning.mode="process" needs a database another process can open: a SQLite '
            "file or PostgreSQL, not an in-memory SQLite database; set database_url to a "
            'file, or use learning.mode="background"'
        )


class LearnerProcess:
    """A child process learning one namespace's stored episodes (see the module docstring).

    A watcher thread starts another child when one exits while the memory is open (after
    `RESTART_DELAY_SECONDS`, at most `MAX_RESTARTS` times), logging each exit as an error.

    Args:
        config: The memory's configuration, whose database `check_shareable` accepted; the
            child uses it with ``learning.mode = "external"`` (it learns through claims,
            as ``memory-core learn`` does).
        namespace: The namespace to learn.

    Raises:
        ConfigurationError: No Python interpreter could be started.
    """

    def __init__(self, config: MemoryConfig, namespace: str) -> None:
        url = config.resolved_database_url
        child = config.model_copy(
            update={
                "database_url": url,
                "learning": config.learning.model_copy(update={"mode": "external"}),
            }
        )
        request = {"namespace": namespace, "config": child.model_dump(mode="json")}
        self._request = json.dumps(request).encode() + b"\n"
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._gave_up = False
        self.restarts = 0
        """Children started again after one exited."""
        self._process = self._spawn()
        self._watcher = threading.Thread(
            target=self._watch, name=f"memory-core-learner-watch[{namespace}]", daemon=True
        )
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot start the learner process with {sys.executable!r} ({exc}); "
                'use learning.mode="external" and run memory-core learn --follow instead'
            ) from exc
        assert process.stdin is not None
        with contextlib.suppress(OSError):  # one that died at once is seen by the watcher
            process.stdin.write(self._request)
            process.stdin.flush()
        return process

    def _watch(self) -> None:
        """Start another child each time one exits while the memory is open."""
        while True:
            exited = self._process
            code = exited.wait()
            with self._lock:
                if self._closing.is_set():
                    return
                _close_input(exited)
                if self.restarts >= MAX_RESTARTS:
                    self._gave_up = True
                    logger.error(
                        "the learner process exited with code %s, %d times; not starting "
                        "it again: episodes stay unlearned until a learner runs "
                        "(memory-core learn)",
                        code,
                        self.restarts + 1,
                    )
                    return
                self.restarts += 1
            logger.error(
                "the learner process exited with code %s; starting another in %g s",
                code,
                RESTART_DELAY_SECONDS,
            )
            time.sleep(RESTART_DELAY_SECONDS)
            with self._lock:
                if self._closing.is_set():
                    return
                try:
                    self._process = self._spawn()
                except ConfigurationError as exc:
                    self._gave_up = True
                    logger.error("%s", exc)
                    return

    @property
    def pid(self) -> int:
        """The current child's process id."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """True while a child runs (False while one is being started again)."""
        return self._process.poll() is None

    def wait_until(self, done: Callable[[], bool], timeout: float | None) -> bool:
        """Poll ``done()`` until it is true (True), ``timeout`` runs out or no learner is left.

        A child that exited is started again meanwhile; once the watcher has given up,
        this returns False.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if self._gave_up or (deadline is not None and time.monotonic() >= deadline):
                return False
            time.sleep(_POLL_SECONDS)
        return True

    def stop(self, timeout: float) -> bool:
        """Ask the child to learn what is pending and exit; wait up to ``timeout`` seconds.

        A child still running then is terminated (what it had not learned stays unlearned
        and is learned by the next learner). Returns True when it exited on its own.
        """
        with self._lock:
            self._closing.set()
            process = self._process
        _close_input(process)
        try:
            process.wait(timeout)
            finished = True
        except subprocess.TimeoutExpired:
            logger.warning(
                "the learner process did not finish within %g s; stopping it (episodes it "
                "had not learned stay unlearned for the next learner)",
                timeout,
            )
            process.terminate()
            try:
                process.wait(_KILL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            finished = False
        self._watcher.join()  # it returns once the child has exited
        return finished


def _close_input(process: subprocess.Popen[bytes]) -> None:
    """Close a child's standard input: a running child then finishes and exits."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):  # broken pipe: the child is gone already
            process.stdin.close()


def _serve(stream: IO[bytes]) -> None:
    """The child: learn the requested namespace until ``stream`` closes, then what is left."""
    from memory_core.learning import follow
    from memory_core.memory import SyncSelfLearningMemory

    request = json.loads(stream.readline())
    config = MemoryConfig.model_validate(request["config"])
    namespace = request["namespace"]
    stop = threading.Event()

    def wait_for_close() -> None:
        stream.read()  # returns at end of file: the memory closed, or its process died
        stop.set()

    threading.Thread(target=wait_for_close, name="memory-core-learner-stop", daemon=True).start()
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        engine = memory.engine
        follow(
            lambda: engine.learn_pending(stop=stop),
            namespace=namespace,
            stop=stop,
            interval=_POLL_SECONDS,
        )
        engine.learn_pending()  # what was stored before the memory closed


def main() -> None:
    """The child's entry point: serve the request read from standard input.

    Ctrl-C in a terminal interrupts the whole foreground process group; the learner leaves
    it to its memory, which stops it by closing standard input (or by dying).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="memory-core learner: %(message)s")
    _serve(sys.stdin.buffer)
