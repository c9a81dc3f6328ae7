"""The box a hand-in's kernel runs in: bubblewrap, resource limits, an unprivileged user.

Inside the box the hand-in sees a read-only system (/usr, the Python installation, this
environment and the course package with its data) and one writable folder, its scratch
folder, mounted at /scratch. It has no network (its own empty network namespace), no
view of the rest of the machine (the gradebook, the course's notebooks, other hand-ins,
the grader's files), its own process tree (killed as a whole when the box ends), and:

- an address-space limit (`memory` bytes; a larger allocation fails with MemoryError),
- a limit on the size of any file it writes, on /tmp, and on the number of its processes,
- a wall-clock limit for the whole notebook, after which the box is killed,
- when the grader runs as root, the user `nobody` (uid 65534) with no capabilities;
  otherwise the grader's own user inside a user namespace.

`bwrap` comes from Debian's package bubblewrap (the Makefile installs it where it can).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import course_utils

NOBODY = 65534
PROJECT = Path(course_utils.__file__).resolve().parents[1]


class SandboxUnavailable(RuntimeError):
    """No sandbox can start here; the message says what to install or allow."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 300.0        # whole notebook
    cell_seconds: float = 60.0         # one cell (then interrupted)
    memory: int = 6 * 2**30            # address space; TensorFlow alone reserves about 3 GiB
    file_size: int = 200 * 2**20       # largest file the hand-in may write
    tmpfs_bytes: int = 512 * 2**20     # /tmp and /dev/shm in the box (they take memory)
    processes: int = 1024              # threads count too (TensorFlow starts dozens)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Finished:
    """How a box ended: its exit code (None when killed at the wall-clock limit) and output."""

    returncode: int | None
    seconds: float
    log: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def _read_only_paths() -> list[Path]:
    """What the hand-in needs to read: the system, Python, this environment, the course package."""
    paths = [Path("/usr"), Path(sys.base_prefix), Path(sys.prefix),
             PROJECT / "course_utils", PROJECT / "data"]
    paths += [Path("/etc") / name for name in ("ld.so.cache", "fonts", "localtime", "mime.types")]
    return [p for p in dict.fromkeys(p.resolve() for p in paths) if p.exists()]


def command(scratch: Path, argv: list[str], limits: Limits) -> list[str]:
    """The bwrap command line that runs argv inside a box whose only writable folder is scratch."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` (Debian/Ubuntu), "
            "or run the grader with --unsafe-no-sandbox on a machine where hand-ins can do no harm")
    root = os.geteuid() == 0
    box = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
           "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if not root:
        box.append("--unshare-user")
    for link, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"),
                         ("/sbin", "usr/sbin")):
        box += ["--symlink", target, link]
    made = {Path("/")}
    for path in _read_only_paths():
        for parent in reversed(path.parents):   # bwrap would make missing parents 0700
            if parent not in made:
                box += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        box += ["--ro-bind", str(path), str(path)]
    # Memory-backed folders are capped; /scratch (on disk) holds the job and the answers.
    ram = str(limits.tmpfs_bytes)
    box += ["--proc", "/proc", "--dev", "/dev", "--size", ram, "--tmpfs", "/dev/shm",
            "--size", ram, "--tmpfs", "/tmp", "--bind", str(scratch), "/scratch",
            "--chdir", "/scratch", "--clearenv"]
    environment = {
        "HOME": "/scratch", "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
        "MPLCONFIGDIR": "/scratch/.matplotlib", "JUPYTER_RUNTIME_DIR": "/scratch/.runtime",
        "IPYTHONDIR": "/scratch/.ipython", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "agg",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "NBGRADER_EXECUTION": "autograde",
    }
    for key, value in environment.items():
        box += ["--setenv", key, value]
    box.append("--")
    if root:
        box += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={NOBODY}",
                f"--regid={NOBODY}", "--clear-groups", "--no-new-privs", "--bounding-set=-all",
                "--inh-caps=-all"]
    return box + _prlimit(limits) + argv


def _prlimit(limits: Limits) -> list[str]:
    """prlimit's command line for the box's limits, up to the program it runs."""
    return [shutil.which("prlimit") or "/usr/bin/prlimit", f"--as={limits.memory}",
            f"--fsize={limits.file_size}", f"--nproc={limits.processes}", "--core=0", "--"]


def prepare(scratch: Path) -> None:
    """Make the scratch folder (only its owner may read it)."""
    scratch.mkdir(parents=True, exist_ok=True)
    scratch.chmod(0o700)


def _hand_over(scratch: Path) -> None:
    """Give scratch and what the grader put there to the box's user (nobody, when root)."""
    if os.geteuid() == 0:
        for path in [scratch, *scratch.rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def run(scratch: Path, python_args: list[str], limits: Limits, unsafe: bool = False) -> Finished:
    """Run this environment's Python with python_args in a box on scratch.

    The box is killed at the wall-clock limit; nothing the hand-in does raises here.
    unsafe=True runs without the box (limits and a scratch folder only): for a machine
    where bubblewrap cannot start and the hand-ins are trusted.
    """
    argv = [str(Path(sys.prefix) / "bin" / "python"), *python_args]
    if unsafe:
        cmd, cwd = _prlimit(limits) + argv, scratch
    else:
        _hand_over(scratch)
        cmd, cwd = command(scratch, argv, limits), None
    start = time.monotonic()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=cwd,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        out, _ = process.communicate(timeout=limits.wall_seconds)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)      # bwrap is pid 1's parent: the whole box goes with it
        out, _ = process.communicate()
        code = None
    log = out.decode("utf-8", "replace")[-20_000:]
    return Finished(code, time.monotonic() - start, log)


def check_available() -> None:
    """Start an empty box once; SandboxUnavailable with bwrap's own words if it cannot."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sandbox-check-") as folder:
        scratch = Path(folder) / "scratch"
        prepare(scratch)
        finished = run(scratch, ["-c", "pass"], Limits(wall_seconds=60))
        if finished.returncode != 0:
            raise SandboxUnavailable(
                "bubblewrap could not start a sandbox here (user namespaces may be disabled, or "
                f"this is a container without the rights): {finished.log.strip()[-500:]}")
