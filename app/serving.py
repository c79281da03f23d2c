"""Serving with several worker processes, each listening on a socket of its own.

uvicorn's own workers share one listening socket, and a worker takes every connection waiting
when it next looks: a burst of connections lands on whichever worker was free at that moment.
Measured with wrk's 32 keep-alive connections against two workers: 30 went to one worker, 2 to
the other, for the whole run, so one worker queued while the other idled. Here every worker
binds its own socket with SO_REUSEPORT and the kernel spreads new connections across them by
their addresses, so each worker gets its share (Linux; elsewhere uvicorn's workers are used).

The parent process only supervises: it starts the workers, starts a worker again when one
dies, and stops them all on SIGINT or SIGTERM (each finishes the requests it has in hand).

The kernel's spread is by a hash, so a few long-lived connections (a benchmark's, or a
proxy's pool) land unevenly: 32 of them went 21 to one worker and 11 to the other, and the
busier worker answered a quarter slower. So the workers keep, in memory they share, how many
connections each holds, and a worker holding more than its share (`Balance`) closes one kept-
alive connection at a time after its response (`Connection: close`); the client connects
again and the kernel places the new connection afresh, until the shares are even.
"""

from __future__ import annotations

import logging
import logging.config
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

log = logging.getLogger("uvicorn.error")

STARTUP_FAILURE = 3
"""uvicorn's exit status for a server that could not start (the app failed to load, ...); also
this server's when a worker could not start."""
STOP_SECONDS = 30.0
"""How long stopping waits for a worker to finish its requests before killing it."""
BACKLOG = 2048
BALANCE_EVERY_S = 0.1
"""How often a worker publishes its count of connections, and at most how often it closes
one to even the shares."""


class Balance:
    """The connections each worker of one server holds (`counts`, shared memory, one slot per
    worker), seen from worker `index`."""

    def __init__(self, counts: Any, index: int) -> None:
        self.counts = counts
        self.index = index
        self._last_shed = 0.0

    def publish(self, connections: int) -> None:
        """Record how many connections this worker holds now."""
        self.counts[self.index] = connections

    def shed_one(self, now: float | None = None) -> bool:
        """True when this worker holds more than its share (the even share, rounded up, plus
        one) and has not closed a connection in the last BALANCE_EVERY_S: the caller closes
        one. The count is taken down at once, so one surplus closes one connection."""
        counts = self.counts
        mine, total = counts[self.index], sum(counts)
        share = -(-total // len(counts))
        now = time.monotonic() if now is None else now
        if mine <= share + 1 or now - self._last_shed < BALANCE_EVERY_S:
            return False
        self._last_shed = now
        counts[self.index] = mine - 1
        return True


balance: Balance | None = None
"""This worker's view of its server's shares, when served by serve_workers (else None)."""


def spreads_connections() -> bool:
    """True where the kernel spreads connections across sockets bound with SO_REUSEPORT."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port that other workers of this user may bind too."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(BACKLOG)
    return sock


def _worker(
    app: str, host: str, port: int, options: dict[str, Any], ready: Any, counts: Any, index: int
) -> None:
    """One worker process: its own socket, one uvicorn server on it; `ready` is set once the
    server has started; `counts[index]` is where it publishes its connections (Balance)."""
    import uvicorn

    global balance
    shares = balance = Balance(counts, index)

    config = uvicorn.Config(app, host=host, port=port, **options)
    server = uvicorn.Server(config)
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error("Cannot listen on %s:%s: %s", host, port, exc)
        sys.exit(STARTUP_FAILURE)

    parent = os.getppid()

    def tell_when_started_then_watch_the_parent() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            ready.set()
        # A parent killed outright (SIGKILL) cannot stop its workers: each stops itself, as
        # on SIGTERM, rather than serving on as an orphan nobody supervises.
        while not server.should_exit:
            if os.getppid() != parent:
                log.warning("The parent process is gone; stopping.")
                server.should_exit = True
            shares.publish(len(server.server_state.connections))
            time.sleep(BALANCE_EVERY_S)

    threading.Thread(target=tell_when_started_then_watch_the_parent, daemon=True).start()
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_workers(app: str, *, host: str, port: int, workers: int, **options: Any) -> int:
    """Serve `app` (an import string) with `workers` processes until SIGINT or SIGTERM; the exit
    status: 0, or STARTUP_FAILURE when a worker died before it served (the next would fail the
    same way, so all are stopped rather than started again and again).

    `options` go to each worker's uvicorn.Config (log_config, access_log, proxy_headers, ...).
    """
    if isinstance(options.get("log_config"), dict):
        logging.config.dictConfig(options["log_config"])  # the parent logs like its workers
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    status = 0
    counts = context.Array("i", workers, lock=False)  # each worker's connections (Balance)

    def start(index: int) -> tuple[Any, Any]:
        """A new worker in slot `index` and the event it sets once it serves."""
        counts[index] = 0
        started = context.Event()
        process = context.Process(
            target=_worker, args=(app, host, port, options, started, counts, index), daemon=False
        )
        process.start()
        return process, started

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("Received %s, stopping the workers.", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start(index) for index in range(workers)]
    log.info(
        "Started parent process [%d]: %d workers, each on its own socket", os.getpid(), workers
    )
    try:
        while not stop.wait(0.5):
            for index, (process, started) in enumerate(running):
                if process.is_alive():
                    continue
                process.join()
                if process.exitcode == STARTUP_FAILURE or not started.is_set():
                    log.error("Worker [%d] could not start (exit %s); stopping.", process.pid,
                              process.exitcode)  # fmt: skip
                    status = STARTUP_FAILURE
                    stop.set()
                    break
                log.warning("Worker [%d] died (exit %s); starting another.", process.pid,
                            process.exitcode)  # fmt: skip
                running[index] = start(index)
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + STOP_SECONDS
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def serve(app: str, *, host: str, port: int, workers: int, **options: Any) -> int:
    """Serve `app` (an import string) until stopped and return the exit status: with several
    workers each on its own socket where the kernel spreads connections (serve_workers), else
    with uvicorn's own serving. `options` go to uvicorn.Config."""
    if workers > 1 and spreads_connections():
        return serve_workers(app, host=host, port=port, workers=workers, **options)
    import uvicorn

    uvicorn.run(app, host=host, port=port, workers=workers, **options)
    return 0
