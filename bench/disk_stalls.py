#!/usr/bin/env python3
"""disk_stalls.py — how often the disk itself stalls a commit, with nothing
of PostgreSQL running: what the writers' benchmarks cannot do better than.

    python3 bench/disk_stalls.py [--seconds S] [--dir DIR]

Writes 8 kB blocks in turn over a 16 MB file made beforehand and syncs
each (os.fdatasync), as a WAL writer does into a recycled segment, about
1000 times a second, for S seconds (default 10), in DIR (default: the
current directory, which should be on the disk the cluster uses). Prints
one line: syncs, p50/p99/p99.9/max ms, and stalls per second (syncs of
20 ms or more). On the 2-core VM of bench/, the rate ranged from none to
about one a second between hours of the same day.
"""
import argparse
import os
import tempfile
import time

BLOCK = 8192
SEGMENT = 16 * 1024 * 1024
STALL_MS = 20.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()

    fd, path = tempfile.mkstemp(prefix="disk_stalls.", dir=args.dir)
    try:
        zeros = bytes(SEGMENT)
        os.write(fd, zeros)
        os.fsync(fd)
        block = b"x" * BLOCK
        latencies = []
        offset = 0
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            os.pwrite(fd, block, offset)
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - start) * 1000.0)
            offset = (offset + BLOCK) % SEGMENT
            time.sleep(0.001)
    finally:
        os.close(fd)
        os.unlink(path)

    latencies.sort()
    n = len(latencies)
    stalls = sum(1 for ms in latencies if ms >= STALL_MS)
    print("disk alone: %d syncs of 8 kB in %.0f s; p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.1f ms; "
          "%.2f stalls/s (syncs of %.0f ms or more)"
          % (n, args.seconds, latencies[n // 2], latencies[int(n * 0.99)], latencies[int(n * 0.999)],
             latencies[-1], stalls / args.seconds, STALL_MS))


if __name__ == "__main__":
    main()
