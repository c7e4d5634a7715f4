#!/usr/bin/env python3
"""How long a disk flush takes on this machine: writes 32 KiB and calls fdatasync, 20 times
a second, for DURATION seconds, in a file under DIR (default: the current directory, so run
it on the disk the database lives on). Prints each flush over 50 ms as it happens (UTC time
and milliseconds, to line up with the server's log) and the distribution at the end.

A SQLite WAL restart (src/store/checkpoint.rs) holds the writing connection for two such
flushes, so this is the floor under `authserver_db_writer_hold_seconds{by="wal_restart"}`.

    python3 bench/fsync_latency.py 90 /var/lib/authserver
"""
import os
import sys
import time

duration = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
directory = sys.argv[2] if len(sys.argv) > 2 else "."
path = os.path.join(directory, f".fsync-latency-{os.getpid()}")
block = os.urandom(32 * 1024)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
latencies = []
try:
    end = time.monotonic() + duration
    i = 0
    while time.monotonic() < end:
        os.pwrite(fd, block, (i % 256) * len(block))
        i += 1
        start = time.perf_counter()
        os.fdatasync(fd)
        ms = (time.perf_counter() - start) * 1000
        latencies.append(ms)
        if ms > 50:
            print(time.strftime("%H:%M:%S", time.gmtime()), f"flush took {ms:.0f} ms", flush=True)
        time.sleep(0.05)
finally:
    os.close(fd)
    os.unlink(path)

latencies.sort()
n = len(latencies)
print(
    f"flushes={n} p50={latencies[n // 2]:.1f} ms p99={latencies[int(n * 0.99)]:.1f} ms "
    f"max={latencies[-1]:.1f} ms over_50ms={sum(x > 50 for x in latencies)} "
    f"over_100ms={sum(x > 100 for x in latencies)}"
)
