"""The loopback servers moved to :mod:`testbed.servers` (shared with the benchmarks); this name
stays for tests written against it."""

from testbed.servers import (
    HttpServer,
    Request,
    Route,
    SmtpHandler,
    SmtpServer,
    free_port,
    recorder,
)

__all__ = ["HttpServer", "Request", "Route", "SmtpHandler", "SmtpServer", "free_port", "recorder"]
