"""Peak memory of this process, for the benchmarks."""

from __future__ import annotations


def peak_rss_mb() -> float:
    """The high-water mark of this process's resident memory since it started (exec), in MB.

    Not ``getrusage().ru_maxrss``: Linux carries that over from the parent through fork and
    exec, so a measuring subprocess of a benchmark that has just seeded 100,000 items would
    report the parent's peak instead of its own.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")
