"""CPU time and peak resident memory of a process, read from /proc (Linux)."""

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system since the process started
    peak_rss_mb: float  # VmHWM: the high-water mark of resident memory


def usage(pid: int) -> Usage:
    """The process and its descendants together (the worker's inference process counts)."""
    found = [own_usage(p) for p in [pid, *descendants(pid)]]
    cpu = sum(u.cpu_seconds for u in found)
    peak = sum(u.peak_rss_mb for u in found)  # each one's own peak: an upper bound of the sum
    return Usage(round(cpu, 2), round(peak, 1))


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(stat_fields(int(entry.name))[1])
            except OSError:
                continue  # exited meanwhile
    found: list[int] = []
    wanted = [pid]
    while wanted:
        parent = wanted.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(children)
        wanted.extend(children)
    return found


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces, so it is cut at the
    last ')'): state, ppid, ... utime at [11], stime at [12]."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def own_usage(pid: int) -> Usage:
    fields = stat_fields(pid)
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    peak_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return Usage(round(cpu, 2), round(peak_kb / 1024, 1))


def kafka_pid() -> int | None:
    """The local Kafka broker's process (`make infra`), if there is one."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"kafka.Kafka" in command:
                return int(entry.name)
    return None


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent on anything but idling, since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / TICKS


@dataclass
class Profiler:
    """py-spy sampling each process; collapsed stacks (flamegraph input) on stop."""

    processes: list[subprocess.Popen[bytes]]

    @classmethod
    def start(cls, pids: dict[str, int], out_dir: Path) -> "Profiler":
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        options = [spy, "record", "--rate", "100", "--format", "raw", "--subprocesses"]
        out_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            [
                subprocess.Popen(
                    [*options, "--pid", str(pid), "--output", str(out_dir / f"{name}.txt")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for name, pid in pids.items()
            ]
        )

    def stop(self) -> None:
        for p in self.processes:
            p.send_signal(signal.SIGINT)  # py-spy writes its output on interrupt
        for p in self.processes:
            p.wait(timeout=60)
