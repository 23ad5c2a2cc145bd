"""Loopback fixtures shared by the tests and the benchmarks, importing neither.

* :mod:`testbed.farm`: a feed farm, one asyncio HTTP server serving many synthetic feeds
  (some hostile) under several loopback hosts; also runnable as a process
  (``python testbed/farm.py``), so a benchmark does not count its memory;
* :mod:`testbed.newstext`, :mod:`testbed.realnews`: the farm's item text, synthetic or
  real wire stories read from ``../shared`` at run time;
* :mod:`testbed.servers`: a threaded HTTP server with routes set per test, an SMTP server;
* :mod:`testbed.daemon`: ``monitor run`` as a subprocess;
* :mod:`testbed.pgschema`: a fresh PostgreSQL schema per run;
* :mod:`testbed.realfeeds`: the real-world feed files served on loopback and polled.

``tests/`` and ``bench/`` both import from here; neither imports the other.
"""
