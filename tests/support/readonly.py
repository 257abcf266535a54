"""Make a file really not writable for a while, also for root (the tests may run as root).

For an ordinary user, taking the write bits away is enough. Root writes through any mode
(CAP_DAC_OVERRIDE), so as root the file gets the immutable attribute (`chattr +i`, which needs
CAP_LINUX_IMMUTABLE and a file system that has it: ext4, xfs, btrfs; not tmpfs). Either way the
helper checks that a write is refused before it yields, and says why when it cannot make it so.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path


def _writable(path: Path) -> bool:
    try:
        with path.open("ab"):
            return True
    except OSError:
        return False


def _chattr(flag: str, path: Path) -> None:
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(
            f"as root, only `chattr +i` stops writes to {path}, and it failed: "
            f"{done.stderr.strip()} (a file system without the attribute, or no "
            "CAP_LINUX_IMMUTABLE): run these tests as an ordinary user"
        )


@contextlib.contextmanager
def not_writable(path: Path) -> Iterator[None]:
    """`path` refuses every write (open for writing fails) inside the block; as it was after."""
    root = os.geteuid() == 0
    mode = path.stat().st_mode
    if root:
        _chattr("+i", path)
    else:
        path.chmod(stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        if _writable(path):
            raise RuntimeError(f"{path} is still writable: this test cannot stop its store")
        yield
    finally:
        if root:
            _chattr("-i", path)
        else:
            path.chmod(stat.S_IMODE(mode))
