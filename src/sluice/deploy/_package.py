"""Deployment packages: a function's local code as the zip CreateFunction takes.

As `sam deploy` packages `CodeUri`: a folder is zipped whole (symlinks followed, no files
left out), a `.zip`/`.jar` file is sent as it is, and any other file is zipped on its own.
Two differences, both on purpose: entries are sorted and stamped with a fixed date, so
unchanged code gives the same bytes and the same CodeSha256 on every deploy; and a folder
holding `sluice.db` (a sluice data directory, e.g. `.sluice/` when `sluice serve` runs in the
project folder) is left out, or each deploy would pack the previous deploys' code again.
Each file keeps its permission bits, so a `bootstrap` stays executable.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from sluice.errors import TemplateError

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
_DATA_DIR_MARKER = "sluice.db"
# CloudFormation writes inline code (`Code.ZipFile`) to this file, by runtime family.
_INLINE_FILES = {"python": "index.py", "nodejs": "index.js"}


def package_path(path: Path, where: str) -> bytes:
    """The zip for a local `CodeUri`/`Code` path (already made absolute by the caller).

    Raises:
        TemplateError: "`where`: ..." when the path does not exist or cannot be read.
    """
    try:
        if path.is_dir():
            return _zip_entries(_folder_entries(path))
        if path.is_file():
            # A ready archive is uploaded as it is, as `sam deploy` does for these suffixes;
            # any other file (even one that happens to be a zip: .whl, .docx) is zipped.
            if path.suffix.lower() in (".zip", ".jar") and zipfile.is_zipfile(path):
                return path.read_bytes()
            return _zip_entries([(path.name, path)])
    except OSError as exc:
        raise TemplateError(f"{where}: cannot package {path}: {exc}") from None
    raise TemplateError(f"{where}: no file or folder at {path}")


def package_inline(source: str, runtime: str, where: str) -> bytes:
    """The zip CloudFormation makes of inline code: one `index.py` or `index.js`.

    Raises:
        TemplateError: the runtime is neither Python nor Node.js (CloudFormation's rule).
    """
    family = next((f for f in _INLINE_FILES if runtime.startswith(f)), None)
    if family is None:
        raise TemplateError(
            f"{where}: inline code (ZipFile) needs a python or nodejs runtime, not {runtime!r}"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry(_INLINE_FILES[family], 0o644), source)
    return buffer.getvalue()


def _folder_entries(root: Path) -> list[tuple[str, Path]]:
    """Every file under `root` as (name in the zip, path), sorted by name.

    Symlinked folders are followed once each: a link back to an ancestor is not a loop.
    """
    entries: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        real = Path(folder).resolve()
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        subfolders[:] = [
            name for name in subfolders if not (Path(folder, name, _DATA_DIR_MARKER)).exists()
        ]
        for name in files:
            path = Path(folder, name)
            entries.append((path.relative_to(root).as_posix(), path))
    return sorted(entries)


def _zip_entries(entries: list[tuple[str, Path]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries:
            mode = path.stat().st_mode  # follows a symlink to the file it names
            archive.writestr(_entry(name, stat.S_IMODE(mode)), path.read_bytes())
    return buffer.getvalue()


def _entry(name: str, permissions: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.create_system = 3  # Unix, so the permission bits below are honoured
    info.external_attr = (stat.S_IFREG | permissions) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
