"""A proxy in front of moto that injects the faults AWS shows under load, for the tests' fault suite:

- throttling, in each protocol's own error shape (S3's 503 SlowDown, the query protocols' Throttling,
  EC2's RequestLimitExceeded, the JSON protocols' ThrottlingException, Cognito's TooManyRequestsException), refused before moto sees it;
- server errors (500 InternalError), refused before moto sees it;
- lost answers: the request reaches moto and is carried out, then the connection is closed before the
  client hears back, as when a network path drops mid-response (one operation's first COUNT with
  --lose, or a seeded share of all requests with --resets);
- failed requests: the first COUNT requests of one operation get a 500 before moto sees them;
- latency: each answer is held back a seeded random time up to MS milliseconds.

Usage: fault_proxy.py UPSTREAM_URL [--lose OPERATION:COUNT] [--fail OPERATION:COUNT] [--throttle RATE] [--server-errors RATE]
       [--resets RATE] [--latency MS] [--seed N]

OPERATION is an AWS operation name as the request carries it (the JSON protocols' X-Amz-Target
suffix, or the query protocols' Action parameter); its first COUNT answers are lost. RATE is the
share of requests (0 to 1) that get the fault, drawn from a generator seeded with N. STS passes
untouched: the SDK's credential provider, not the operator, makes those calls. Prints the port on
the first line of stdout once it accepts connections, then serves until stdin reaches end-of-file
(the test process holds that pipe).
"""

import argparse
import http.client
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
# The JSON protocols' services, by the signing name their requests carry.
JSON_SERVICES = {
    "ecs", "ecr", "kms", "logs", "application-autoscaling", "secretsmanager", "servicediscovery", "acm", "cognito-idp",
}


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


def service_of(handler: BaseHTTPRequestHandler) -> str:
    """The service a SigV4-signed request is for: its credential scope names it."""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", handler.headers.get("Authorization", ""))
    return scope.group(1) if scope else ""


def error_response(service: str, code: str, status: int) -> tuple[int, dict, bytes]:
    message = "injected by the tests' fault proxy"
    if service in JSON_SERVICES:
        body = '{"__type":"%s","message":"%s"}' % (code, message)
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body.encode()
    if service == "s3":
        body = "<Error><Code>%s</Code><Message>%s</Message><RequestId>fault</RequestId></Error>" % (code, message)
    elif service == "ec2":
        body = (
            "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>"
            "<RequestID>fault</RequestID></Response>" % (code, message)
        )
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>fault</RequestId></ErrorResponse>" % (code, message)
        )
    return status, {"Content-Type": "text/xml"}, body.encode()


def throttling(service: str) -> tuple[int, dict, bytes]:
    if service == "s3":
        return error_response(service, "SlowDown", 503)
    if service == "ec2":
        return error_response(service, "RequestLimitExceeded", 503)
    if service == "cognito-idp":  # Cognito's own name for it
        return error_response(service, "TooManyRequestsException", 400)
    if service in JSON_SERVICES:
        return error_response(service, "ThrottlingException", 400)
    return error_response(service, "Throttling", 400)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream")
    parser.add_argument("--lose", default="")
    parser.add_argument("--fail", default="")
    parser.add_argument("--throttle", type=float, default=0.0)
    parser.add_argument("--server-errors", type=float, default=0.0)
    parser.add_argument("--resets", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    upstream = urllib.parse.urlparse(args.upstream)
    lose_operation, _, count = args.lose.partition(":")
    remaining = [int(count or 0)]
    fail_operation, _, fail_count = args.fail.partition(":")
    failing = [int(fail_count or 0)]
    draw = random.Random(args.seed)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # one line per request drowns the test output
            pass

        def reply(self, status: int, headers, payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            service = service_of(self)
            reset = False
            if service != "sts":
                with lock:
                    roll = draw.random()
                    # Drawn only with --resets, so the other faults' seeded sequence stays as it was.
                    reset = draw.random() < args.resets if args.resets else False
                    # Drawn only with --latency, so the other faults' seeded sequence stays as it was.
                    delay = draw.uniform(0, args.latency) / 1000 if args.latency else 0
                if delay:
                    time.sleep(delay)
                if roll < args.throttle:
                    status, headers, payload = throttling(service)
                    return self.reply(status, headers.items(), payload)
                if roll < args.throttle + args.server_errors:
                    status, headers, payload = error_response(service, "InternalError", 500)
                    return self.reply(status, headers.items(), payload)
            with lock:
                fail = fail_operation and operation_of(self, body) == fail_operation and failing[0] > 0
                if fail:
                    failing[0] -= 1
            if fail:
                status, headers, payload = error_response(service, "InternalError", 500)
                return self.reply(status, headers.items(), payload)
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            with lock:
                lose = lose_operation and operation_of(self, body) == lose_operation and remaining[0] > 0
                if lose:
                    remaining[0] -= 1
            lose = lose or reset
            if lose:
                # Carried out upstream; the answer never arrives.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.reply(response.status, response.getheaders(), payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    # A longer listen queue than socketserver's 5: under a burst the kernel refuses connections beyond it.
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
