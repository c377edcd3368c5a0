"""A proxy in front of moto that loses answers: the request reaches moto and is carried out, then the
connection is closed before the client hears back, as when a network path drops mid-response.

Usage: fault_proxy.py UPSTREAM_URL OPERATION COUNT

OPERATION is an AWS operation name as the request carries it (the JSON protocols' X-Amz-Target
suffix, or the query protocols' Action parameter); its first COUNT answers are lost, every other
request passes through untouched. Prints the port on the first line of stdout once it accepts
connections, then serves until stdin reaches end-of-file (the test process holds that pipe).
"""

import http.client
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def operation_of(handler: BaseHTTPRequestHandler, body: bytes) -> str:
    target = handler.headers.get("X-Amz-Target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    query = urllib.parse.urlparse(handler.path).query
    form = body.decode("utf-8", "replace") if handler.headers.get("Content-Type", "").startswith(
        "application/x-www-form-urlencoded"
    ) else ""
    for source in (query, form):
        action = urllib.parse.parse_qs(source).get("Action")
        if action:
            return action[0]
    return ""


def main() -> None:
    upstream = urllib.parse.urlparse(sys.argv[1])
    operation, remaining = sys.argv[2], [int(sys.argv[3])]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # one line per request drowns the test output
            pass

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            with lock:
                lose = operation_of(self, body) == operation and remaining[0] > 0
                if lose:
                    remaining[0] -= 1
            if lose:
                # Carried out upstream; the answer never arrives.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
