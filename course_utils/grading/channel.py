"""How data leaves a box: files opened as hostile, and one framed stream the grader owns.

Everything a hand-in's box produces is read as an attacker's file would be (CMS/isolate
reads its boxes' output the same way: from a folder only the grader can replace):

- `read_regular(folder, name, cap)`: opens name inside folder without following links
  (O_NOFOLLOW, and the folder itself opened with O_NOFOLLOW | O_DIRECTORY), without
  blocking (O_NONBLOCK: a FIFO does not stop the reader), accepts a regular file with
  one link only (fstat: no device such as /dev/zero, no hard link to someone else's
  file) and reads at most `cap` bytes. Anything else raises `Refused` with the reason.
- The runner in the box sends its results on a pipe that the grader created (fd 3 in the
  box; the student's kernel does not inherit it): records `name size\\n<size bytes>`, one
  per answer file and one for the executed notebook. `Frames` takes the pipe's bytes as
  they come and keeps at most a byte budget; a record that does not fit is dropped, and
  `parse` never trusts a size it was given.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class Refused(ValueError):
    """A file the grader will not read (a link, a FIFO, a device, too large, ...)."""


def read_regular(folder: Path | int, name: str, cap: int) -> bytes:
    """The bytes of the regular file folder/name, at most cap of them (see the module docstring).

    folder: a path or an open directory descriptor. Refused says why the file is not read.
    """
    if not _NAME.match(name):
        raise Refused(f"the name {name!r} is not one the grader uses")
    own = not isinstance(folder, int)
    dir_fd = (os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
              if own else folder)
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
        except FileNotFoundError:
            raise
        except OSError as error:      # ELOOP: a symbolic link; ENXIO: a FIFO or socket
            raise Refused(f"{name} cannot be opened as a plain file ({error.strerror})") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise Refused(f"{name} is not a regular file")
            if info.st_nlink != 1:
                raise Refused(f"{name} has {info.st_nlink} links (a hard link is not an answer)")
            if info.st_size > cap:
                raise Refused(f"{name} holds {info.st_size:,} bytes, more than the "
                              f"{cap:,} allowed")
            chunks, left = [], cap + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
            if len(data) > cap:          # it grew while being read
                raise Refused(f"{name} holds more than the {cap:,} bytes allowed")
            return data
        finally:
            os.close(fd)
    finally:
        if own:
            os.close(dir_fd)


def frame(name: str, data: bytes) -> bytes:
    """One record of the runner's stream."""
    return f"{name} {len(data)}\n".encode() + data


class Frames:
    """The records of a stream, from bytes fed as they arrive; at most `budget` bytes kept."""

    def __init__(self, budget: int):
        self.budget = budget
        self.buffer = bytearray()
        self.overflow = False

    def feed(self, data: bytes) -> None:
        if len(self.buffer) + len(data) > self.budget:
            self.overflow = True         # the rest is read and dropped: the box never blocks
            data = data[:max(0, self.budget - len(self.buffer))]
        self.buffer += data

    @property
    def ended(self) -> bool:
        """The runner sent its last record ("end"): the box has nothing more to say."""
        return self.buffer.endswith(b"end 0\n")

    def parse(self) -> dict[str, bytes]:
        """name -> bytes of every whole record (the last one of a name wins; a torn one is lost)."""
        found, at, view = {}, 0, bytes(self.buffer)
        while at < len(view):
            end = view.find(b"\n", at, at + 200)
            if end < 0:
                break
            header = view[at:end].decode("ascii", "replace").split(" ")
            if len(header) != 2 or not _NAME.match(header[0]) or not header[1].isdigit():
                break
            size = int(header[1])
            if end + 1 + size > len(view):
                break
            found[header[0]] = view[end + 1:end + 1 + size]
            at = end + 1 + size
        return found
