"""Deployment packages: sorted entries, permission bits, symlinks, inline code."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest

from sluice.deploy._package import package_inline, package_path
from sluice.errors import TemplateError


def _entries(data: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (permission bits, content), in zip order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: (stat.S_IMODE(info.external_attr >> 16), archive.read(info))
            for info in archive.infolist()
        }


@pytest.fixture
def code(tmp_path):
    root = tmp_path / "src"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "b.py").write_text("b")
    (root / "a.py").write_text("a")
    (root / "pkg" / "sub" / "z.txt").write_text("z")
    (root / "pkg" / "__init__.py").write_text("")
    for path in root.rglob("*.*"):
        path.chmod(0o644)  # whatever the umask
    bootstrap = root / "bootstrap"
    bootstrap.write_text("#!/bin/sh\nexec python3 -m sluice_runtime\n")
    bootstrap.chmod(0o755)
    return root


def test_folder_sorted_with_permissions(code):
    entries = _entries(package_path(code, "Resource F, property CodeUri"))
    assert list(entries) == ["a.py", "b.py", "bootstrap", "pkg/__init__.py", "pkg/sub/z.txt"]
    assert entries["bootstrap"][0] == 0o755
    assert entries["a.py"] == (0o644, b"a")


def test_entries_are_regular_unix_files(code):
    with zipfile.ZipFile(io.BytesIO(package_path(code, "here"))) as archive:
        for info in archive.infolist():
            assert info.create_system == 3
            assert stat.S_ISREG(info.external_attr >> 16)
            assert info.compress_type == zipfile.ZIP_DEFLATED


def test_same_code_same_bytes(code):
    first = package_path(code, "here")
    os.utime(code / "a.py", (1, 1))
    assert package_path(code, "here") == first


def test_symlinks_are_followed(code, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lib.py").write_text("lib")
    (shared / "lib.py").chmod(0o644)
    (code / "lib").symlink_to(shared, target_is_directory=True)
    (code / "link.py").symlink_to(code / "a.py")
    (code / "pkg" / "loop").symlink_to(code, target_is_directory=True)
    entries = _entries(package_path(code, "here"))
    assert entries["lib/lib.py"] == (0o644, b"lib")
    assert entries["link.py"] == (0o644, b"a")
    assert not any(name.startswith("pkg/loop/") for name in entries)


def test_sluice_data_dir_left_out(code):
    data = code / ".sluice"
    (data / "code").mkdir(parents=True)
    (data / "sluice.db").write_bytes(b"db")
    (code / ".hidden").write_text("kept, as sam package keeps it")
    entries = _entries(package_path(code, "here"))
    assert ".hidden" in entries
    assert not any(name.startswith(".sluice") for name in entries)


def test_zip_file_sent_as_is(tmp_path):
    path = tmp_path / "code.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "x")
    assert package_path(path, "here") == path.read_bytes()


def test_a_file_that_is_a_zip_by_content_only_is_packaged_as_a_file(tmp_path):
    path = tmp_path / "tool.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "x")
    assert set(_entries(package_path(path, "here"))) == {"tool.whl"}


def test_single_file_zipped_alone(code):
    assert _entries(package_path(code / "bootstrap", "here")) == {
        "bootstrap": (0o755, b"#!/bin/sh\nexec python3 -m sluice_runtime\n")
    }


def test_missing_path(tmp_path):
    with pytest.raises(TemplateError, match=r"^Resource F, property CodeUri: no file or folder"):
        package_path(tmp_path / "nope", "Resource F, property CodeUri")


def test_unreadable_file(code):
    (code / "broken.py").symlink_to(code / "gone.py")
    with pytest.raises(TemplateError, match=r"^here: cannot package"):
        package_path(code, "here")


@pytest.mark.parametrize(
    ("runtime", "name"),
    [("python3.12", "index.py"), ("nodejs20.x", "index.js"), ("nodejs22.x", "index.js")],
)
def test_inline_code(runtime, name):
    assert _entries(package_inline("source", runtime, "here")) == {name: (0o644, b"source")}


def test_inline_code_needs_python_or_node():
    with pytest.raises(TemplateError, match=r"^Resource F, property Code: inline code \(ZipFile\)"):
        package_inline("x", "provided.al2023", "Resource F, property Code")
