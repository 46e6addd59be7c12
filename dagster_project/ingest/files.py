"""Discover landing files of one raw table and tell new files from already loaded ones."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    """One file under ``<landing>/<table>/``; ``rel_path`` is relative to the landing dir (posix).

    A refused entry (see :func:`discover_files`) is never read: its ``sha256`` is None and its
    ``size`` 0."""

    path: Path
    rel_path: str
    sha256: str | None
    size: int
    modified_ns: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def visible_paths(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` in path order, except hidden ones (a name starting with ``.``
    anywhere below ``root``): EL tools write partial files under such names and rename them
    when complete. Symbolic links to folders are listed, not descended into."""
    for path in sorted(root.rglob("*")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def _refusal(path: Path, real_landing: Path) -> str | None:
    """Why ``path`` is not read, or None for a regular file (or a link to one) inside the
    landing folder."""
    if path.is_symlink():
        target = os.readlink(path)
        try:
            resolved = path.resolve(strict=True)
        except FileNotFoundError:
            return f"dangling symbolic link (to {target}); not read"
        except (RuntimeError, OSError) as exc:  # a loop of links, a permission error
            return f"symbolic link (to {target}) that cannot be resolved ({exc}); not read"
        if not resolved.is_relative_to(real_landing):
            return f"symbolic link to {resolved}, outside the landing folder; refused"
        if not resolved.is_file():
            return f"symbolic link to {resolved}, which is not a regular file; not followed"
        return None
    if path.is_dir():
        return None
    if not path.is_file():
        return "not a regular file (a pipe, socket or device); not read"
    return None


def _display(rel_path: str) -> str | None:
    """``rel_path`` when it is valid UTF-8, else None (the name holds undecodable bytes)."""
    try:
        rel_path.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return rel_path


def discover_files(landing_dir: Path, table: str,
                   known: dict[tuple[str, int, int], str] | None = None
                   ) -> tuple[list[LandingFile], list[tuple[LandingFile, str]]]:
    """The files under ``<landing>/<table>/`` to consider, in path order, and the entries refused
    with their reason.

    Files of any extension are returned, so that an unknown file type is reported rather than
    silently ignored. Refused, never read, and reported: symbolic links that are dangling, lead
    outside the landing folder (resolved, so ``..`` and chains of links count) or to anything
    but a regular file; pipes, sockets and devices; names that are not valid UTF-8 (recorded
    with the undecodable bytes as ``\\xNN``); files that cannot be read (permissions).
    ``known`` maps (relative path, size, modification time in ns) of files seen before to their
    sha256: such a file is not read again (a rewritten file has a new modification time).
    """
    root = Path(landing_dir) / table
    if not root.is_dir():
        return [], []
    real_landing = Path(landing_dir).resolve()
    known = known or {}
    found, refused = [], []
    for path in visible_paths(root):
        rel_path = path.relative_to(landing_dir).as_posix()
        reason = _refusal(path, real_landing)
        if reason is None and path.is_dir():
            continue
        name = _display(rel_path)
        if name is None:
            name = os.fsencode(rel_path).decode("utf-8", "backslashreplace")
            reason = reason or "file name is not valid UTF-8; rename the file"
        if reason is not None:
            refused.append((LandingFile(path, name, None, 0, 0), reason))
            continue
        try:
            stat = path.stat()
            sha = known.get((rel_path, stat.st_size, stat.st_mtime_ns)) or sha256_of(path)
        except OSError as exc:  # no read permission; removed since it was listed
            refused.append((LandingFile(path, name, None, 0, 0),
                            f"cannot be read ({exc.strerror or exc}); not read"))
            continue
        found.append(LandingFile(path=path, rel_path=rel_path, sha256=sha, size=stat.st_size,
                                 modified_ns=stat.st_mtime_ns))
    return found, refused


def new_files(files: list[LandingFile], loaded: set[tuple[str, str]]) -> list[LandingFile]:
    """Files whose (relative path, sha256) pair is not recorded as loaded yet.

    A file whose content changed under the same path is new (its rows are validated again, and
    keys already in raw are quarantined as ``duplicate_key``).
    """
    return [f for f in files if (f.rel_path, f.sha256) not in loaded]
