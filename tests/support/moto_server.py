"""Start moto in server mode on a free 127.0.0.1 port for one test process.

Prints the port on the first line of stdout once the server accepts connections, then serves until
stdin reaches end-of-file: the test process holds the other end of that pipe, so the server ends
with it, however it ends (success, panic, or a kill).
"""

import logging
import os
import sys

# A DNS-validated ACM certificate is issued a second after it is requested (moto's default: a
# minute), so a test sees it pending, then issued. Read by moto when it is imported.
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "1")

from moto.server import ThreadedMotoServer  # noqa: E402
from werkzeug import serving

# Keep-alive: under HTTP/1.0 (werkzeug's default) every request is a new connection, and under the
# benchmark's load the connections queue faster than the one accepting thread takes them (SYNs are
# dropped, accepted connections wait unserved). A longer listen queue absorbs bursts.
serving.WSGIRequestHandler.protocol_version = "HTTP/1.1"
serving.BaseWSGIServer.request_queue_size = 1024


def main() -> None:
    # One line per request drowns the test output; errors still reach stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
