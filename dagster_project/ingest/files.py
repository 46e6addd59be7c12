"""Discover landing files of one raw table and tell new files from already loaded ones."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    """One file under ``<landing>/<table>/``; ``rel_path`` is relative to the landing dir (posix)."""

    path: Path
    rel_path: str
    sha256: str
    size: int
    modified_ns: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def discover_files(landing_dir: Path, table: str,
                   known: dict[tuple[str, int, int], str] | None = None) -> list[LandingFile]:
    """Every regular file under ``<landing>/<table>/``, in path order.

    Hidden files and folders (name starting with ``.``) are skipped: EL tools write partial
    files under such names and rename them when complete. Files of any other extension are
    returned, so that an unknown file type is reported rather than silently ignored.
    ``known`` maps (relative path, size, modification time in ns) of files seen before to their
    sha256: such a file is not read again (a rewritten file has a new modification time).
    """
    root = Path(landing_dir) / table
    if not root.is_dir():
        return []
    known = known or {}
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        stat = path.stat()
        rel_path = path.relative_to(landing_dir).as_posix()
        sha = known.get((rel_path, stat.st_size, stat.st_mtime_ns)) or sha256_of(path)
        found.append(LandingFile(path=path, rel_path=rel_path, sha256=sha, size=stat.st_size,
                                 modified_ns=stat.st_mtime_ns))
    return found


def new_files(files: list[LandingFile], loaded: set[tuple[str, str]]) -> list[LandingFile]:
    """Files whose (relative path, sha256) pair is not recorded as loaded yet.

    A file whose content changed under the same path is new (its rows are validated again, and
    keys already in raw are quarantined as ``duplicate_key``).
    """
    return [f for f in files if (f.rel_path, f.sha256) not in loaded]
