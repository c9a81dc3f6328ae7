"""The box a hand-in's kernel runs in: bubblewrap, a cgroup, a uid of its own, capped output.

Inside the box the hand-in sees a read-only system (/usr, the Python installation, this
environment, the course's data) and a copy of the course package without the exercises'
references (`box_package`); its job (the notebook and the inputs) read-only at /job; and
three writable memory-backed folders of capped size: /scratch (its working folder), /tmp
and /dev/shm. These are mounted first, so that a course under /tmp is still visible. It has
no network, no view of the rest of the machine, its own process tree (killed as a whole
when the box ends), and:

- an address-space limit (`memory`), a largest-file limit, no core files;
- a cgroup of its own where one can be made (`cgroup`): resident memory (tmpfs pages
  included), processes and threads, CPU, and a kill of every process at the end;
- when the grader runs as root, a uid of its own (one per box running at once, from
  FIRST_UID, like isolate's per-box uids), so the process limit (RLIMIT_NPROC) is the box's
  alone; otherwise the grader's own user inside a user namespace;
- a wall-clock limit for the whole notebook, after which the box is killed.

The box's stdout and stderr are read as they come, keeping the last `log_bytes`; its
results arrive on a pipe of the grader's (`channel`), of at most `result_bytes`.
`bwrap` comes from Debian's package bubblewrap (the Makefile installs it where it can).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import course_utils
from course_utils.grading import channel
from course_utils.grading.cgroup import Cgroup

END_GRACE = 5.0           # seconds a box may take to end after the runner's last report
FIRST_UID = 61000          # box uids FIRST_UID ... FIRST_UID + MAX_BOXES - 1 (as root)
MAX_BOXES = 256
PACKAGE = Path(course_utils.__file__).resolve().parent
CHECKS_STAND_IN = '''"""In the grading box the self-checks are not available: the grader judges outside it."""


def points(passed, out_of=1.0):
    return 0.0


def __getattr__(name):
    if name.startswith("check_"):
        def check(*args, **kwargs):
            print("(judged by the grader, outside this kernel)")
            return False
        return check
    raise AttributeError(name)
'''


JOIN_CGROUP = ('for f in $GRADING_CGROUP_PROCS; do echo $$ > "$f" || exit 125; done; '
               'unset GRADING_CGROUP_PROCS; exec "$@"')


class SandboxUnavailable(RuntimeError):
    """No sandbox can start here; the message says what to install or allow."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 300.0        # whole notebook
    cell_seconds: float = 60.0         # one cell (then interrupted)
    memory: int = 6 * 2**30            # address space; TensorFlow alone reserves about 3 GiB
    resident: int = 3 * 2**30          # resident memory of the whole box (cgroup)
    file_size: int = 64 * 2**20        # largest file the hand-in may write
    scratch_bytes: int = 512 * 2**20   # /scratch, the box's working folder (memory-backed)
    tmpfs_bytes: int = 64 * 2**20      # /tmp and /dev/shm in the box
    processes: int = 512               # processes and threads of one box (TensorFlow starts dozens)
    cpus: float = 1.0                  # CPU time per second of the whole box (cgroup)
    log_bytes: int = 64 * 2**10        # the box's stdout and stderr kept (the last bytes)
    result_bytes: int = 64 * 2**20     # everything the runner reports


DEFAULT_LIMITS = Limits()


@dataclass
class Finished:
    """How a box ended: exit code (None when killed at the wall-clock limit), log, reports."""

    returncode: int | None
    seconds: float
    log: str
    frames: dict[str, bytes] = field(default_factory=dict)
    overflow: bool = False             # the runner reported more than result_bytes
    confinement: str = ""              # which limits held (for the report)
    cpu_seconds: float | None = None   # CPU time of the whole box (from its cgroup, if any)

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def started(self) -> bool:
        """The runner started in the box (before any student code): else the box failed."""
        return "hello" in self.frames

    @property
    def kernel_started(self) -> bool:
        return "kernel" in self.frames


# ----------------------------------------------------------------------------- what the box sees
_package_lock = threading.Lock()
_package_copy: Path | None = None


def box_package() -> Path:
    """A copy of course_utils for the box: no `exercises` (references, cases), `checks` a stand-in.

    Made once per grading process, in a folder of the grader's that the box user may read.
    """
    global _package_copy
    with _package_lock:
        if _package_copy is None:
            folder = Path(tempfile.mkdtemp(prefix="course-grading-package-"))
            atexit.register(shutil.rmtree, folder, True)
            copy = folder / "course_utils"
            shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "exercises", "exercises.py", "checks.py"))
            (copy / "checks.py").write_text(CHECKS_STAND_IN, encoding="utf-8")
            for path in [folder, *folder.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            _package_copy = copy
        return _package_copy


def _read_only_paths() -> list[Path]:
    """What the hand-in needs to read: the system, Python, this environment, the course's data."""
    from course_utils.data import DATA_DIR

    paths = [Path("/usr"), Path(sys.base_prefix), Path(sys.prefix), DATA_DIR]
    paths += [Path("/etc") / name for name in ("ld.so.cache", "fonts", "localtime", "mime.types")]
    return [p for p in dict.fromkeys(p.resolve() for p in paths) if p.exists()]


def _bwrap() -> str:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` (Debian/Ubuntu), "
            "or run the grader with --unsafe-no-sandbox on a machine where hand-ins can do no harm")
    return bwrap


def command(job: Path, argv: list[str], limits: Limits, uid: int | None) -> list[str]:
    """The bwrap command line that runs argv in a box (see the module docstring)."""
    box = [_bwrap(), "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
           "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if uid is None:
        box.append("--unshare-user")
    # The memory-backed folders first: a read-only path below /tmp is mounted over them.
    box += ["--proc", "/proc", "--dev", "/dev"]
    for folder, size in (("/dev/shm", limits.tmpfs_bytes), ("/tmp", limits.tmpfs_bytes),
                         ("/scratch", limits.scratch_bytes)):
        box += ["--perms", "1777", "--size", str(size), "--tmpfs", folder]
    for link, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"),
                         ("/sbin", "usr/sbin")):
        box += ["--symlink", target, link]
    made = {Path("/"), Path("/tmp"), Path("/dev")}
    mounts = [(path, path) for path in _read_only_paths()]
    mounts += [(box_package(), PACKAGE), (job, Path("/job"))]
    for source, target in mounts:
        for parent in reversed(target.parents):   # bwrap would make missing parents 0700
            if parent not in made:
                box += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        box += ["--ro-bind", str(source), str(target)]
    box += ["--chdir", "/scratch", "--clearenv"]
    environment = {
        "HOME": "/scratch", "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
        "TMPDIR": "/tmp", "MPLCONFIGDIR": "/scratch/.matplotlib",
        "JUPYTER_RUNTIME_DIR": "/scratch/.runtime", "IPYTHONDIR": "/scratch/.ipython",
        "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "agg", "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "NBGRADER_EXECUTION": "autograde",
        # the package copy wherever the grader's course_utils came from (venv, wheel, PYTHONPATH)
        "PYTHONPATH": str(PACKAGE.parent),
    }
    for key, value in environment.items():
        box += ["--setenv", key, value]
    box.append("--")
    if uid is not None:
        box += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}",
                f"--regid={uid}", "--clear-groups", "--no-new-privs", "--bounding-set=-all",
                "--inh-caps=-all"]
    return box + _prlimit(limits) + argv


def _prlimit(limits: Limits) -> list[str]:
    """prlimit's command line for the box's limits, up to the program it runs."""
    return [shutil.which("prlimit") or "/usr/bin/prlimit", f"--as={limits.memory}",
            f"--fsize={limits.file_size}", f"--nproc={limits.processes}", "--core=0", "--"]


# ----------------------------------------------------------------------------- a uid per box
_uid_lock = threading.Lock()
_uids_here: set[int] = set()
_LOCKS = Path("/run/lock/course-grading")


@contextlib.contextmanager
def box_uid():
    """A uid no other running box has (as root; a lock file per uid across processes), else None."""
    if os.geteuid() != 0:
        yield None
        return
    shared = _lock_folder()
    for uid in range(FIRST_UID, FIRST_UID + MAX_BOXES):
        with _uid_lock:
            if uid in _uids_here:
                continue
            handle = None
            if shared is not None:
                handle = os.open(shared / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(handle)
                    continue
            _uids_here.add(uid)
        try:
            yield uid
        finally:
            with _uid_lock:
                _uids_here.discard(uid)
                if handle is not None:
                    os.close(handle)
        return
    raise SandboxUnavailable(f"all {MAX_BOXES} box uids from {FIRST_UID} are in use")


def _lock_folder() -> Path | None:
    """Root's folder of uid locks, if it is safely root's own (not a planted link)."""
    with contextlib.suppress(OSError):
        _LOCKS.mkdir(mode=0o700, exist_ok=True)
        info = _LOCKS.lstat()
        if info.st_uid == 0 and (info.st_mode & 0o777) == 0o700 and _LOCKS.is_dir() \
                and not _LOCKS.is_symlink():
            return _LOCKS
    return None


# ----------------------------------------------------------------------------- running a box
def run(job: Path, python_args: list[str], limits: Limits, unsafe: bool = False,
        scratch: Path | None = None) -> Finished:
    """Run this environment's Python with python_args (then the report pipe's fd) in a box.

    job: the grader's folder, read-only at /job in the box. The box is killed at the
    wall-clock limit; nothing the hand-in does raises here. unsafe=True runs without the
    box (resource limits only, in `scratch`): for trusted hand-ins where bwrap cannot start.
    """
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    argv = [str(Path(sys.prefix) / "bin" / "python"), *python_args, str(write_end)]
    with box_uid() as uid:
        group = None if unsafe else Cgroup.create(limits.resident, limits.processes, limits.cpus)
        confinement = _confinement(unsafe, group, uid)
        cmd = _prlimit(limits) + argv if unsafe else command(job, argv, limits, uid)
        environment = dict(os.environ)
        if group is not None:   # joins the cgroup, then becomes bwrap
            environment["GRADING_CGROUP_PROCS"] = " ".join(map(str, group.procs))
            cmd = ["/bin/sh", "-c", JOIN_CGROUP, "sh", *cmd]
        start = time.monotonic()
        try:
            process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=scratch, env=environment,
                                       pass_fds=(write_end,), start_new_session=True)
        except OSError as error:
            os.close(read_end)
            os.close(write_end)
            if group is not None:
                group.remove()
            return Finished(127, 0.0, f"could not start the box: {error}", {}, False, confinement)
        os.close(write_end)
        cpu = None
        try:
            log, frames, timed_out = _collect(process, read_end, limits, start)
        finally:
            os.close(read_end)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            if group is not None:
                group.kill()
                cpu = group.cpu_seconds()
                group.remove()
            process.wait()
    tail = bytes(log).decode("utf-8", "replace")
    code = None if timed_out else (0 if frames.ended else process.returncode)
    return Finished(code, time.monotonic() - start, tail, frames.parse(), frames.overflow,
                    confinement, cpu)


def _collect(process: subprocess.Popen, report: int, limits: Limits, start: float):
    """Read the box's output and reports as they come, within their byte caps.

    Until both pipes close, the wall-clock limit passes (then timed out), or the runner has
    sent its last report and END_GRACE seconds passed: processes the hand-in left behind
    (a sleeping child keeps the box's init waiting) do not keep the box alive.
    """
    log, frames = bytearray(), channel.Frames(limits.result_bytes)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, "log")
    selector.register(report, selectors.EVENT_READ, "report")
    deadline, ended_at = start + limits.wall_seconds, None
    try:
        while selector.get_map():
            now = time.monotonic()
            if ended_at is not None and now > ended_at + END_GRACE:
                return log, frames, False
            if now >= deadline:
                return log, frames, True
            for key, _ in selector.select(timeout=min(deadline - now, 1.0)):
                data = os.read(key.fd, 1 << 16)
                if not data:
                    selector.unregister(key.fileobj)
                elif key.data == "log":
                    log += data
                    del log[:-limits.log_bytes]     # the last bytes say what went wrong
                else:
                    frames.feed(data)
                    if ended_at is None and frames.ended:
                        ended_at = time.monotonic()
        limit = deadline if ended_at is None else min(deadline, ended_at + END_GRACE)
        try:
            process.wait(timeout=max(0.1, limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            return log, frames, ended_at is None
        return log, frames, False
    finally:
        selector.close()
        process.stdout.close()


def _confinement(unsafe: bool, group: Cgroup | None, uid: int | None) -> str:
    if unsafe:
        return "no sandbox (--unsafe-no-sandbox): resource limits only"
    parts = ["bubblewrap", f"uid {uid}" if uid is not None else "the grader's uid (user namespace)",
             f"cgroup v{group.version}" if group else "no cgroup (resource limits per process)"]
    return ", ".join(parts)


def confinement_here() -> str:
    """Which limits the boxes get on this machine, as the report states it."""
    group = Cgroup.create(2**30, 64, 1.0)
    if group is not None:
        group.remove()
    return _confinement(False, group, FIRST_UID if os.geteuid() == 0 else None)


def check_available() -> None:
    """Start an empty box once; SandboxUnavailable with bwrap's own words if it cannot."""
    with tempfile.TemporaryDirectory(prefix="sandbox-check-") as folder:
        os.chmod(folder, 0o755)
        probe = ("import os, sys, course_utils.grading.channel as c; "
                 "os.write(int(sys.argv[1]), c.frame('hello', b''))")
        finished = run(Path(folder), ["-c", probe], Limits(wall_seconds=60))
        if finished.returncode != 0 or not finished.started:
            raise SandboxUnavailable(
                "bubblewrap could not start a sandbox here (user namespaces may be disabled, or "
                f"this is a container without the rights): {finished.log.strip()[-500:]}")
