"""The HTTP side of `fcaudit listen`: a small threaded server with bounded work.

At most `concurrency` deliveries are handled at once (the accept loop waits for a free
slot, so the kernel's backlog, not memory, holds the rest); a body is read only up to
MAX_BODY and only with a Content-Length; a slow client is dropped after CLIENT_TIMEOUT; a
handler never lets an exception out as a traceback. `stop()` stops accepting and waits for
the deliveries in flight to be answered (SIGTERM).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from fcaudit.listen.receive import MAX_BODY, Answer, Receiver
from fcaudit.model.findings import Finding
from fcaudit.text import dumps_bytes, safe

CLIENT_TIMEOUT = 10.0  # seconds a client may take to send its request
EXEC_TIMEOUT = 60.0  # seconds one --exec run may take


class Announcer:
    """Writes each category change as one NDJSON line and runs --exec with it, in the order
    recorded, on one thread of its own (a slow command never holds a delivery's answer)."""

    def __init__(self, out: TextIO, err: TextIO, command: str | None) -> None:
        self._out, self._err, self._command = out, err, command
        self._queue: queue.Queue[Finding | None] = queue.Queue()
        self._out_broken = False
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()

    def announce(self, finding: Finding) -> None:
        """Queue a change for its line and its command."""
        self._queue.put(finding)

    def close(self) -> None:
        """Announce what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (finding := self._queue.get()) is not None:
            line = dumps_bytes(finding.to_record(), newline=True)
            self._write(line)
            if self._command:
                self._exec(line, finding.id)

    def _write(self, line: bytes) -> None:
        if self._out_broken:
            return
        try:
            binary = getattr(self._out, "buffer", None)
            if binary is not None:
                binary.write(line)
                binary.flush()
            else:
                self._out.write(line.decode())
            self._out.flush()
        except (OSError, ValueError):
            # Nobody reads stdout any more: events are still recorded and --exec still runs.
            self._out_broken = True
            log(self._err, "stdout is closed; changes are still recorded in the journal")

    def _exec(self, line: bytes, oid: str) -> None:
        assert self._command is not None
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", self._command],
                input=line,
                stdout=subprocess.DEVNULL,
                timeout=EXEC_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log(self._err, f"--exec for {oid} was stopped after {EXEC_TIMEOUT:g} s")
            return
        except OSError as err:
            log(self._err, f"--exec for {oid} could not start: {err.strerror or err}")
            return
        if done.returncode != 0:
            log(self._err, f"--exec for {oid} exited with status {done.returncode}")


def log(err: TextIO, message: str) -> None:
    """One line on stderr, untrusted parts already passed through `safe`."""
    try:
        err.write(f"fcaudit listen: {safe(message, limit=500)}\n")
        err.flush()
    except (OSError, ValueError):
        pass


class ListenServer(ThreadingHTTPServer):
    """The webhook server: `path` takes POSTs; everything else is 404/405."""

    daemon_threads = False  # stop() waits for the deliveries in flight
    block_on_close = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        receiver: Receiver,
        announcer: Announcer,
        *,
        path: str = "/webhook",
        concurrency: int = 8,
        err: TextIO = sys.stderr,
    ) -> None:
        self.receiver = receiver
        self.announcer = announcer
        self.path = path
        self.err = err
        self._slots = threading.BoundedSemaphore(concurrency)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a thread once one of the `concurrency` slots is free."""
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Handle one connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, never a traceback: a client that went away is not even that."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        log(self.err, f"a request failed: {type(exc).__name__}: {exc}")

    def serve_in_thread(self) -> threading.Thread:
        """Serve until `stop()`, on a thread of its own."""
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2})
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop accepting, and wait for the deliveries in flight to be answered: those being
        handled, and those whose connection is already waiting to be accepted (closing the
        socket would reset them)."""
        self.shutdown()
        self.socket.setblocking(False)
        while True:
            try:
                request, client_address = self.socket.accept()
            except OSError:  # BlockingIOError: none left waiting
                break
            request.setblocking(True)
            self.process_request(request, client_address)
        self.server_close()  # joins the request threads (block_on_close)


class _Handler(BaseHTTPRequestHandler):
    server: ListenServer
    timeout = CLIENT_TIMEOUT
    # The status line and headers, then the body, are two small writes: with Nagle's
    # algorithm and the client's delayed ACK the second waits ~40 ms on a keep-alive connection.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "fcaudit-listen"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr: rejected deliveries are logged by `_answer`."""

    def do_POST(self) -> None:
        """A delivery."""
        if self.path.split("?", 1)[0] != self.server.path:
            self._send(404, f"POST webhooks to {self.server.path}")
            return
        if self.headers.get("Transfer-Encoding"):
            self._send(411, "send the body with a Content-Length", close=True)
            return
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._send(411, "send the body with a Content-Length", close=True)
            return
        if not 0 <= length <= MAX_BODY:
            self._send(413, f"the body is over {MAX_BODY} bytes", close=True)
            self._log_rejected(413, f"a body of {length} bytes refused (over {MAX_BODY})")
            return
        body = self.rfile.read(length)
        if len(body) < length:
            return  # the client went away mid-body
        answer = self.server.receiver.receive(body, self.headers.get("Stripe-Signature"))
        self._answer(answer)

    def do_GET(self) -> None:
        """Anything but a POST to the path: 405 there, 404 elsewhere."""
        if self.path.split("?", 1)[0] == self.server.path:
            self._send(405, "POST webhooks here")
        else:
            self._send(404, "not found")

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _answer(self, answer: Answer) -> None:
        self._send(answer.status, answer.message)
        if answer.status >= 300:
            self._log_rejected(answer.status, answer.message)
        if answer.change is not None:
            self.server.announcer.announce(answer.change)

    def _log_rejected(self, status: int, message: str) -> None:
        log(self.server.err, f"answered {status}: {message}")

    def _send(self, status: int, message: str, *, close: bool = False) -> None:
        body = json.dumps({"ok" if status < 300 else "error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
