"""A real HTTP endpoint for webhook tests: answers by a script, records every request."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.processes import free_port

# What the receiver does with a request: an HTTP status, or "hang" (answer after the sender's
# timeout, as a stuck endpoint would).
Action = int | str
HANG_SECONDS = 3.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: Action


@dataclass
class Receiver:
    port: int
    script: list[Action] = field(default_factory=list)  # consumed in order, then `default`
    default: Action = 200
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def next_action(self) -> Action:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def succeeded(self) -> list[Received]:
        return [r for r in self.requests if r.answered == 200]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            action = receiver.next_action()
            receiver.requests.append(Received(dict(self.headers.items()), body, action))
            if action == "hang":
                time.sleep(HANG_SECONDS)
                action = 504
            self.send_response(int(action))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiving(script: list[Action] | None = None, default: Action = 200) -> Iterator[Receiver]:
    receiver = Receiver(free_port(), list(script or []), default)
    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
