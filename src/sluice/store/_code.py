"""Content-addressed function code: validated zips and their extracted folders.

Theory of operation
-------------------
Code is kept by the SHA-256 of the uploaded zip bytes, so functions deployed from the same zip
share one blob and one extracted tree, and "is this code already here?" is a `stat`, not a
comparison. Under ``<data_dir>/code/``::

    <hex>.zip   the upload, byte for byte: the source of truth a database row points at
    <hex>/      that zip extracted once: what execution environments run
    .tmp-*      work in progress, never a final name; swept when the store opens

A final name only ever appears through an atomic rename of a finished temp file or folder,
so a crash at any instant leaves either the complete thing or a ``.tmp-`` leftover, never a
half-written blob or a half-extracted tree under the final name. The zip is fsynced before
its rename because a committed row may point at it; the extracted tree is not, because it is
a cache that `CodeRepo.path` rebuilds from the zip whenever the folder is missing.

Nothing in an uploaded zip is trusted. `inspect_zip` reads the central directory and refuses
unsafe names, links, duplicates, too many entries, too large a declared size and implausible
compression ratios before one byte is written. `_extract` then streams every member through
a read loop that counts the bytes actually produced, so a header that lies about sizes cannot
push past the limit, and it reads every member to its end, which is where `zipfile` verifies
the CRC: the same check `ZipFile.testzip` makes, done on the extraction pass instead of
decompressing up to 250 MiB twice.

Threads: `CodeRepo` never touches SQLite, so `put` and `path` may run in a worker thread (a
large upload takes seconds to extract) while the event loop keeps serving. A pin count kept
under a lock stops `collect` from removing code that was put but is not yet referenced by a
committed row.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import lzma
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sluice.errors import InvalidZipFile

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIP_ENTRIES",
    "UNZIPPED_SIZE_MESSAGE",
    "UNZIP_MESSAGE",
    "CodeBlob",
    "CodeRepo",
    "ZipEntry",
    "inspect_zip",
    "is_sha256_hex",
]

_log = logging.getLogger(__name__)

MAX_UNZIPPED_BYTES = 262_144_000
"""Lambda's limit on a function's unzipped code size (250 MiB)."""

MAX_ZIP_ENTRIES = 20_000
"""More entries than any real deployment package has; bounds the work one upload can cause."""

MAX_COMPRESSION_RATIO = 100
"""Unzipped size / zip size above which an archive is treated as a bomb (see `_RATIO_FLOOR`).

Code compresses 2-10x; a deflate bomb reaches ~1000x. The cap on total size already bounds
the damage, this guard refuses to let a few hundred KiB make us write hundreds of MiB.
"""

_RATIO_FLOOR = 16 * 1024 * 1024
"""Below this many unzipped bytes the ratio is not checked: a small, very compressible
archive (a file of padding, a test fixture) is harmless."""

UNZIP_MESSAGE = "Could not unzip uploaded file. Please check your file, then try to upload again."
"""What Lambda says for code it cannot unzip; the specific reason goes in ``__cause__``."""

UNZIPPED_SIZE_MESSAGE = f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
"""What Lambda says (InvalidParameterValueException, 400) for code over `MAX_UNZIPPED_BYTES`
unzipped (recorded: internetarchive/internet-archive-voice-apps issue 476,
aws-cloudformation/rain issue 464)."""

_CHUNK = 1024 * 1024
_TMP_PREFIX = ".tmp-"
_SHA_HEX = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")
_SUPPORTED_COMPRESSION = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
# Everything zipfile and its decompressors raise for a corrupt or hostile archive.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    EOFError,
    OSError,  # bz2 reports bad data as OSError
    ValueError,
    RuntimeError,  # encrypted members
    NotImplementedError,  # unknown compression methods
)


def is_sha256_hex(value: object) -> bool:
    """True for a lowercase 64-digit hex string: the only shape allowed into a path."""
    return isinstance(value, str) and _SHA_HEX.fullmatch(value) is not None


def _bad(reason: str, message: str = UNZIP_MESSAGE) -> InvalidZipFile:
    """An `InvalidZipFile` with AWS's message, carrying `reason` as its cause."""
    error = InvalidZipFile(message)
    error.__cause__ = ValueError(reason)
    return error


@dataclass(frozen=True, slots=True)
class CodeBlob:
    """Stored code: `path` is the extracted folder a function runs from.

    `sha256_b64` is base64 of the raw digest, which is how Lambda reports ``CodeSha256``;
    `sha256_hex` is the content address used in file names and database rows; `size` is the
    zip's length in bytes (Lambda's ``CodeSize``).
    """

    sha256_hex: str
    sha256_b64: str
    size: int
    path: Path


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One member that passed inspection: where it goes and with which mode."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    is_dir: bool
    mode: int


def inspect_zip(zf: zipfile.ZipFile, archive_size: int) -> list[ZipEntry]:
    """Check an archive's central directory; return its members in extraction order.

    Everything here is decided from metadata only, so a hostile archive is refused before
    anything is decompressed or written. Raises `InvalidZipFile`.
    """
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _bad(f"{len(infos)} entries, more than {MAX_ZIP_ENTRIES}")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_UNZIPPED_BYTES:
        raise _bad(
            f"declares {declared} unzipped bytes, more than {MAX_UNZIPPED_BYTES}",
            UNZIPPED_SIZE_MESSAGE,
        )
    if declared > _RATIO_FLOOR and declared > MAX_COMPRESSION_RATIO * max(archive_size, 1):
        raise _bad(f"compression ratio over {MAX_COMPRESSION_RATIO}: a zip bomb")

    entries: list[ZipEntry] = []
    seen: set[tuple[str, ...]] = set()
    files: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    for info in infos:
        if info.flag_bits & 0x1:
            raise _bad(f"{info.filename!r} is encrypted")
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            raise _bad(f"{info.filename!r} uses compression method {info.compress_type}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _bad(f"{info.filename!r} is a symbolic link")
        file_type = stat.S_IFMT(mode)
        if file_type and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _bad(f"{info.filename!r} is not a regular file or directory")
        is_dir = info.is_dir() or stat.S_ISDIR(mode)
        parts = _safe_parts(info.filename)
        if not parts:
            if is_dir:  # "./": the root itself, nothing to create
                continue
            raise _bad(f"{info.filename!r} names no file")
        if parts in seen:
            raise _bad(f"duplicate entry {info.filename!r}")
        seen.add(parts)
        (dirs if is_dir else files).add(parts)
        dirs.update(parts[:i] for i in range(1, len(parts)))
        entries.append(
            ZipEntry(
                info=info,
                parts=parts,
                is_dir=is_dir,
                mode=0o755 if is_dir or mode & 0o111 else 0o644,
            )
        )
    clash = files & dirs
    if clash:
        raise _bad(f"{'/'.join(min(clash))!r} is both a file and a directory")
    return entries


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path components of an entry name, or `InvalidZipFile` if it could escape.

    Backslashes count as separators for the check (Windows tools write them, and on Windows
    they *are* separators), but on POSIX a backslash stays a literal character of the file
    name, as on Lambda itself, so only ``/`` splits the path that is written.
    """
    if "\x00" in name:
        raise _bad(f"{name!r} contains a NUL byte")
    if name.startswith(("/", "\\")):
        raise _bad(f"{name!r} is an absolute path")
    if _DRIVE.match(name):
        raise _bad(f"{name!r} starts with a drive letter")
    if ".." in re.split(r"[/\\]", name):
        raise _bad(f"{name!r} contains a '..' component")
    return tuple(part for part in name.split("/") if part not in ("", "."))


def _extract(zf: zipfile.ZipFile, entries: list[ZipEntry], dest: Path) -> None:
    """Write `entries` under the empty folder `dest`, enforcing the limits on real bytes.

    Data errors (bad CRC, truncated stream, lying sizes, entries that collide on this file
    system) raise `InvalidZipFile`; errors of our own disk (ENOSPC, EACCES) propagate as
    `OSError` because they are not the uploader's fault.
    """
    root = os.path.realpath(dest)
    total = 0
    for entry in entries:
        target = dest.joinpath(*entry.parts)
        resolved = os.path.realpath(target)
        if os.path.commonpath([root, resolved]) != root or resolved == root:
            raise _bad(f"{entry.info.filename!r} resolves outside the code folder")
        try:
            if entry.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(target, flags | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except (FileExistsError, IsADirectoryError, NotADirectoryError) as error:
            raise _bad(f"{entry.info.filename!r} collides with another entry") from error
        with os.fdopen(fd, "wb") as out:
            total += _copy_member(zf, entry.info, out, MAX_UNZIPPED_BYTES - total)
        os.chmod(target, entry.mode)
    # mkdir honours the umask and mkdtemp makes 0o700; set every folder to what Lambda has.
    for folder, _subdirs, _files in os.walk(dest):
        os.chmod(folder, 0o755)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: BinaryIO, room: int) -> int:
    """Stream one member into `out`; return the bytes written.

    The running count, not the header, is what is held against `room` (what is left of
    `MAX_UNZIPPED_BYTES`) and against the member's declared size. Reading to the end makes
    `zipfile` compare the CRC. Failures of the archive become `InvalidZipFile`; failures
    writing `out` stay `OSError`.
    """
    written = 0
    try:
        src = zf.open(info)
    except _ZIP_READ_ERRORS as error:
        raise _bad(f"{info.filename!r} cannot be opened: {error}") from error
    with src:
        while True:
            try:
                chunk = src.read(_CHUNK)
            except _ZIP_READ_ERRORS as error:
                raise _bad(f"{info.filename!r} cannot be read: {error}") from error
            if not chunk:
                return written
            written += len(chunk)
            if written > info.file_size:
                raise _bad(f"{info.filename!r} is longer than its header says")
            if written > room:
                raise _bad(f"unzips to more than {MAX_UNZIPPED_BYTES} bytes", UNZIPPED_SIZE_MESSAGE)
            out.write(chunk)


@contextlib.contextmanager
def _open_zip(source: BinaryIO) -> Iterator[zipfile.ZipFile]:
    """Open an archive, turning every way of not being a readable zip into `InvalidZipFile`."""
    try:
        zf = zipfile.ZipFile(source)
    except _ZIP_READ_ERRORS as error:
        raise _bad(f"not a zip archive: {error}") from error
    with zf:
        yield zf


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class CodeRepo:
    """The ``code/`` folder: put, find and collect code by SHA-256."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self._lock = threading.Lock()
        self._pins: Counter[str] = Counter()

    def zip_path(self, sha256_hex: str) -> Path:
        """Where the zip with this digest lives (whether or not it exists)."""
        if not is_sha256_hex(sha256_hex):
            raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256_hex!r}")
        return self.root / f"{sha256_hex}.zip"

    def dir_path(self, sha256_hex: str) -> Path:
        """Where the extracted folder for this digest lives (whether or not it exists)."""
        if not is_sha256_hex(sha256_hex):
            raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256_hex!r}")
        return self.root / sha256_hex

    def put(self, zip_bytes: bytes) -> CodeBlob:
        """Validate, store and extract `zip_bytes` unless that exact zip is already here.

        The blob stays pinned (safe from `collect`) until `unpin` is called for it, which
        the store does once a function row references it.
        """
        digest = hashlib.sha256(zip_bytes).digest()
        sha_hex = digest.hex()
        blob = CodeBlob(
            sha256_hex=sha_hex,
            sha256_b64=base64.b64encode(digest).decode("ascii"),
            size=len(zip_bytes),
            path=self.dir_path(sha_hex),
        )
        with self._lock:  # pin before looking, so a concurrent collect cannot race us
            self._pins[sha_hex] += 1
        try:
            with _open_zip(io.BytesIO(zip_bytes)) as zf:
                entries = inspect_zip(zf, len(zip_bytes))
                if blob.path.is_dir():
                    if not self.zip_path(sha_hex).is_file():
                        self._write_zip(sha_hex, zip_bytes)
                    return blob
                with self._temp_dir() as tmp:
                    _extract(zf, entries, tmp)
                    if not self.zip_path(sha_hex).is_file():
                        self._write_zip(sha_hex, zip_bytes)
                    self._install_dir(tmp, blob.path)
            return blob
        except BaseException:
            self.unpin(sha_hex)
            raise

    def path(self, sha256_hex: str) -> Path:
        """The extracted folder, re-extracting it from the zip if it has gone missing.

        Raises `FileNotFoundError` when neither exists: the data directory was damaged.
        """
        folder = self.dir_path(sha256_hex)
        if folder.is_dir():
            return folder
        zip_path = self.zip_path(sha256_hex)
        with open(zip_path, "rb") as source, _open_zip(source) as zf:
            entries = inspect_zip(zf, os.fstat(source.fileno()).st_size)
            with self._temp_dir() as tmp:
                _extract(zf, entries, tmp)
                self._install_dir(tmp, folder)
        return folder

    def unpin(self, sha256_hex: str) -> None:
        """Release one pin taken by `put`; unknown digests are ignored."""
        with self._lock:
            if self._pins[sha256_hex] > 1:
                self._pins[sha256_hex] -= 1
            else:
                self._pins.pop(sha256_hex, None)

    def collect(self, referenced: Collection[str]) -> list[str]:
        """Delete the code of every digest neither in `referenced` nor pinned.

        Returns the digests removed. Files that are not ours (no hex name) are left alone;
        a failure to delete one blob is logged and does not stop the others, because the
        caller's transaction has already committed and garbage is harmless.
        """
        removed: list[str] = []
        with self._lock:
            for entry in sorted(self.root.iterdir()):
                name = entry.name.removesuffix(".zip")
                if not is_sha256_hex(name) or name in referenced or name in self._pins:
                    continue
                try:
                    self._remove(entry)
                except OSError as error:
                    _log.warning("could not remove unreferenced code %s: %s", entry, error)
                    continue
                if name not in removed:
                    removed.append(name)
        return removed

    def sweep_temp(self) -> None:
        """Remove ``.tmp-`` leftovers of a crash; only safe when nothing else is running."""
        for entry in self.root.iterdir():
            if entry.name.startswith(_TMP_PREFIX):
                try:
                    self._remove(entry, rename_first=False)
                except OSError as error:
                    _log.warning("could not remove leftover %s: %s", entry, error)

    def _write_zip(self, sha_hex: str, zip_bytes: bytes) -> None:
        """Write the zip durably under its final name (temp file, fsync, `os.replace`)."""
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".zip", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(zip_bytes)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, self.zip_path(sha_hex))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(self.root)

    @contextlib.contextmanager
    def _temp_dir(self) -> Iterator[Path]:
        """A fresh ``.tmp-`` folder inside ``code/``, removed on exit if still there."""
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=self.root))
        try:
            yield tmp
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _install_dir(tmp: Path, final: Path) -> None:
        """Rename a finished extraction into place; if one appeared meanwhile, keep it."""
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise

    def _remove(self, entry: Path, *, rename_first: bool = True) -> None:
        """Delete a blob or folder; folders are renamed away first so a half-deleted tree
        never sits under a final name."""
        if entry.is_dir() and not entry.is_symlink():
            if rename_first:
                doomed = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=self.root))
                os.rename(entry, doomed / "x")
                entry = doomed
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
