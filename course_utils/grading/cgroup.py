"""A control group per box: memory, processes and CPU of everything a hand-in starts, together.

Resource limits (RLIMIT_*) hold per process, or per user for the number of processes; a
cgroup holds for the whole box, and `kill` ends every process in it. Like CMS/isolate's
`--cg` mode, the grader makes one cgroup per box under its own, where it may:

- cgroup v2 (one hierarchy, /sys/fs/cgroup/cgroup.controllers lists memory and pids):
  memory.max, pids.max, cpu.max, and cgroup.kill;
- cgroup v1 (separate hierarchies, as on this project's build machine): memory, pids and
  cpu, each where it is mounted and writable;
- neither (not root, no delegated cgroup): `Cgroup.create` returns None and the box keeps
  only its resource limits (docs/grading.md says what holds where).

A process joins the box's cgroup by writing its pid to the `procs` files (the sandbox's
command line does it as its first step, before bubblewrap starts).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()
_lock = threading.Lock()


@dataclass
class Cgroup:
    """The folders of one box's cgroup (one per hierarchy) and how to put a process in them."""

    folders: list[Path]
    version: int

    @property
    def procs(self) -> list[Path]:
        return [folder / "cgroup.procs" for folder in self.folders]

    @classmethod
    def create(cls, memory: int, pids: int, cpus: float) -> Cgroup | None:
        """A new cgroup with these limits, or None where this process may not make one."""
        with _lock:
            name = f"course-grading-{os.getpid()}-{next(_counter)}"
        for make in (_v2, _v1):
            try:
                group = make(name, memory, pids, cpus)
            except OSError:
                group = None
            if group is not None:
                return group
        return None

    def pids(self) -> list[int]:
        found = set()
        for procs in self.procs:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(line) for line in procs.read_text().split())
        return sorted(found)

    def kill(self) -> None:
        """Kill every process in the cgroup (v2: cgroup.kill; v1: each pid, until none is left)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                (self.folders[0] / "cgroup.kill").write_text("1")
        for _ in range(50):
            alive = self.pids()
            if not alive:
                return
            for pid in alive:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) of every process that ran in the cgroup so far."""
        for folder in self.folders:
            with contextlib.suppress(OSError, ValueError):
                if self.version == 2:
                    for line in (folder / "cpu.stat").read_text().splitlines():
                        if line.startswith("usage_usec "):
                            return int(line.split()[1]) / 1e6
                elif (folder / "cpuacct.usage").exists():
                    return int((folder / "cpuacct.usage").read_text()) / 1e9
        return None

    def peak_memory(self) -> int | None:
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            for folder in self.folders:
                with contextlib.suppress(OSError, ValueError):
                    return int((folder / name).read_text())
        return None

    def remove(self) -> None:
        self.kill()
        for folder in self.folders:
            for _ in range(20):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def _own(hierarchy: Path, controller: str) -> Path:
    """This process's cgroup in a hierarchy (from /proc/self/cgroup)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if (controller == "" and number == "0") or controller in controllers.split(","):
            return hierarchy / path.lstrip("/")
    return hierarchy


def _v2(name: str, memory: int, pids: int, cpus: float) -> Cgroup | None:
    if not (ROOT / "cgroup.controllers").exists():
        return None
    parent = _own(ROOT, "")
    available = (parent / "cgroup.controllers").read_text().split()
    if not {"memory", "pids"} <= set(available):
        return None
    wanted = [c for c in ("memory", "pids", "cpu") if c in available]
    enabled = (parent / "cgroup.subtree_control").read_text().split()
    missing = [c for c in wanted if c not in enabled]
    if missing:   # fails where the parent holds processes itself (cgroup v2's rule)
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))
    folder = parent / name
    folder.mkdir()
    (folder / "memory.max").write_text(str(memory))
    with contextlib.suppress(OSError):
        (folder / "memory.swap.max").write_text("0")
    (folder / "pids.max").write_text(str(pids))
    if "cpu" in wanted:
        (folder / "cpu.max").write_text(f"{int(cpus * 100_000)} 100000")
    return Cgroup([folder], 2)


def _v1(name: str, memory: int, pids: int, cpus: float) -> Cgroup | None:
    settings = {"memory": {"memory.limit_in_bytes": memory},
                "pids": {"pids.max": pids},
                "cpu": {"cpu.cfs_period_us": 100_000, "cpu.cfs_quota_us": int(cpus * 100_000)},
                "cpuacct": {}}
    folders = []
    try:
        for controller, values in settings.items():
            hierarchy = ROOT / controller
            if not (hierarchy / "cgroup.procs").exists():
                if controller in ("cpu", "cpuacct"):
                    continue          # CPU is a share (and a measure), not a safety limit
                return None
            folder = _own(hierarchy, controller) / name
            folder.mkdir()
            folders.append(folder)
            for key, value in values.items():
                (folder / key).write_text(str(value))
    except OSError:
        for folder in folders:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return Cgroup(folders, 1)
