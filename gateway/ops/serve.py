"""Running the gateway: one server process, or a supervisor with N worker processes on one port.

One process (`serve`): an aiohttp runner with our access logger, a deadline for request headers
and a bounded keep-alive (gateway/ops/header_deadline.py), upload bodies read by the gateway's
own decoder (gateway/ops/owned_bodies.py), HTTPS when configured (SIGHUP
reloads the certificate) and a graceful stop on SIGTERM or SIGINT: the listening socket closes
at once, requests in flight (a long blob upload, say) get up to `server.shutdown_grace`
seconds to finish, then the application's resources close (events flushed, pools closed).

Several (`serve --workers N`): the supervisor starts N copies of `serve --worker INDEX`, each
binding the same port with SO_REUSEPORT so the kernel spreads connections over them. It
forwards SIGTERM/SIGINT and SIGHUP, restarts a worker that dies, and points all of them at one
PROMETHEUS_MULTIPROC_DIR so /metrics on any worker reports the sum of all.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from types import FrameType

from aiohttp import web

from gateway import keys
from gateway.config import Settings
from gateway.ops.access_log import AccessLogger
from gateway.ops.connections import GatewayRunner
from gateway.ops.heap import keep_freed_buffers
from gateway.ops.logs import ACCESS_LOGGER_NAME, log_output
from gateway.ops.metrics import MULTIPROC_ENV
from gateway.ops.parser_rejections import install_parser_rejections
from gateway.ops.tls import ServerCertificate
from gateway.registry.routes import is_upload_body

log = logging.getLogger(__name__)

# A worker that exits this soon after its start is failing to start (port taken, store down):
# restarting it would only spin, so the supervisor stops instead.
EARLY_EXIT_SECONDS = 5.0
_POLL_SECONDS = 0.2


# After the grace period, what aiohttp's own cleanup may still wait for a cut request to unwind.
_AFTER_GRACE_SECONDS = 1.0


def _on_sighup(certificate: ServerCertificate | None) -> None:
    """SIGHUP reloads the certificate; without TLS it is logged and ignored (never a crash)."""
    if certificate is None:
        log.info("SIGHUP: no TLS certificate configured, nothing to reload")
    else:
        certificate.reload()


def _freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, settings, keys, the app) out of the
    cyclic collector's reach: a full collection then walks only what requests created, ~1 ms
    instead of ~25 ms of a stalled event loop."""
    gc.collect()
    gc.freeze()


async def _serve(app: web.Application, settings: Settings, certificate: ServerCertificate | None, reuse_port: bool) -> None:
    """Serve until SIGTERM/SIGINT, then stop gracefully.

    Not `web.run_app`: its cleanup calls `Server.pre_shutdown()` first, and aiohttp 3.14's
    `RequestHandler.close()` makes `data_received` drop every later byte, so an upload whose body
    is still arriving stalls until the timeout and fails. Here the listening socket closes, the
    requests in flight get the grace period untouched, and only then does aiohttp clean up.
    """
    loop = asyncio.get_running_loop()
    runner = GatewayRunner(
        app, header_timeout=settings.header_timeout, owns=is_upload_body, keepalive_timeout=settings.keepalive_timeout,
        handle_signals=False, access_log=logging.getLogger(ACCESS_LOGGER_NAME),
        access_log_class=AccessLogger.bound(app[keys.METRICS], log_output()), shutdown_timeout=_AFTER_GRACE_SECONDS,
    )
    await runner.setup()
    stop, force = asyncio.Event(), asyncio.Event()

    def on_stop() -> None:
        (force if stop.is_set() else stop).set()  # a second signal cuts the grace period short

    try:
        site = web.TCPSite(
            runner, settings.listen_host, settings.listen_port,
            ssl_context=certificate.context if certificate else None, reuse_port=reuse_port or None,
        )
        await site.start()
        _freeze_startup_objects()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_stop)
        loop.add_signal_handler(signal.SIGHUP, _on_sighup, certificate)
        log.info(
            "serving on %s://%s:%d (pid %d)", "https" if certificate else "http",
            settings.listen_host, settings.listen_port, os.getpid(),
        )
        await stop.wait()
        await site.stop()
        in_flight = app[keys.IN_FLIGHT]
        grace = settings.shutdown_grace
        log.info("stopping: no new connections; %d requests in flight have up to %gs to finish", in_flight.count, grace)
        forced = asyncio.ensure_future(force.wait())
        drained = asyncio.ensure_future(in_flight.wait_idle(grace))
        await asyncio.wait((forced, drained), return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        if not (drained.done() and drained.result()):
            drained.cancel()
            log.warning("stopping: cutting %d requests still in flight", in_flight.count)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed (the `speed` extra): the same code, less CPU per request."""
    try:
        import uvloop
    except ImportError:
        log.info("event loop: asyncio (install uvloop for less CPU per request)")
        return None
    log.info("event loop: uvloop %s", getattr(uvloop, "__version__", "?"))
    return uvloop.new_event_loop


def run_server(
    settings: Settings, certificate: ServerCertificate | None, *,
    reuse_port: bool = False, announce_setup: bool = True, worker: int = 0,
) -> None:
    from gateway.app import create_app

    keep_freed_buffers()
    install_parser_rejections()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        app = create_app(settings, announce_setup=announce_setup, worker=worker)
        runner.run(_serve(app, settings, certificate, reuse_port))
    log.info("stopped (pid %d)", os.getpid())


class Supervisor:
    """Starts, watches and stops the worker processes; all of it synchronous and signal-driven.
    Each worker gets its index as the last argument, and one started again gets the same one
    (it names the worker's webhook leases, see gateway.ops.holder)."""

    def __init__(self, command: Sequence[str], count: int) -> None:
        self.command = list(command)
        self.count = count
        self.metrics_dir = tempfile.mkdtemp(prefix="portus-gateway-metrics-")
        self.env = {**os.environ, MULTIPROC_ENV: self.metrics_dir}
        self.workers: dict[int, tuple[subprocess.Popen[bytes], float, int]] = {}
        self.stopping = False
        self.failed = 0

    def _start_one(self, index: int) -> None:
        # Own session: a terminal's Ctrl-C reaches only the supervisor, which stops workers once.
        process = subprocess.Popen([*self.command, str(index)], env=self.env, start_new_session=True)
        self.workers[process.pid] = (process, time.monotonic(), index)

    def _signal_all(self, signum: int) -> None:
        for process, _, _ in self.workers.values():
            if process.poll() is None:
                process.send_signal(signum)

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("supervisor: %s, stopping %d workers", signal.Signals(signum).name, len(self.workers))
        self.stopping = True
        self._signal_all(signal.SIGTERM)

    def _on_hup(self, _signum: int, _frame: FrameType | None) -> None:
        self._signal_all(signal.SIGHUP)

    def _reap(self) -> None:
        from prometheus_client.multiprocess import mark_process_dead

        for pid, (process, started, index) in list(self.workers.items()):
            code = process.poll()
            if code is None:
                continue
            del self.workers[pid]
            mark_process_dead(pid, self.metrics_dir)
            if self.stopping:
                continue
            if time.monotonic() - started < EARLY_EXIT_SECONDS:
                log.error("supervisor: worker %d exited with %d right after starting; stopping", pid, code)
                self.failed = code or 1
                self._on_stop(signal.SIGTERM, None)
                continue
            log.error("supervisor: worker %d exited with %d; starting a new one", pid, code)
            self._start_one(index)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        try:
            for index in range(self.count):
                self._start_one(index)
            log.info("supervisor (pid %d): started %d workers", os.getpid(), self.count)
            while self.workers:
                self._reap()
                time.sleep(_POLL_SECONDS)
        finally:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        log.info("supervisor: all workers stopped")
        return self.failed


def run_workers(config_args: Sequence[str], count: int) -> int:
    command = [sys.executable, "-m", "gateway", *config_args, "serve", "--worker"]
    return Supervisor(command, count).run()
