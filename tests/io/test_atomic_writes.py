"""Atomic writes: the target is the complete old file or the complete new one, never a mix."""

from __future__ import annotations

import os
import stat

import pytest

from backprop._atomic import atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text
from backprop.errors import ModelFileError


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_file(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target) as f:
        f.write(b"hello")
    assert target.read_bytes() == b"hello"
    assert _leftovers(tmp_path) == []


def test_replaces_existing_file_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


def test_text_and_json(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "π ≈ 3.14\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "π ≈ 3.14\n"
    atomic_write_json(tmp_path / "b.json", {"x": [1, 2]})
    expected = '{\n  "x": [\n    1,\n    2\n  ]\n}\n'
    assert (tmp_path / "b.json").read_text(encoding="utf-8") == expected
    with atomic_write(tmp_path / "c.txt", "w") as f:
        f.write("line\n")
    assert (tmp_path / "c.txt").read_bytes() == b"line\n"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), OSError("disk full")])
def test_writer_raising_midway_leaves_old_file_and_no_temp(tmp_path, exc):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old complete file")
    with pytest.raises(type(exc)):
        with atomic_write(target) as f:
            f.write(b"half of the new ")
            f.flush()
            raise exc
    assert target.read_bytes() == b"old complete file"
    assert _leftovers(tmp_path) == []


def test_writer_raising_before_target_exists_creates_nothing(tmp_path):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"x")
            raise ValueError("no")
    assert list(tmp_path.iterdir()) == []


def test_temp_file_is_in_same_directory_and_hidden(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target) as f:
        names = _leftovers(tmp_path)
        assert len(names) == 1 and names[0].startswith(".out.bin.")
        f.write(b"x")
    assert _leftovers(tmp_path) == []


def test_symlink_target_is_followed(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_missing_directory_raises_oserror_or_library_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "nope" / "x.bin", b"")
    with pytest.raises(ModelFileError, match="does not exist; create it first"):
        atomic_write_bytes(tmp_path / "nope" / "x.bin", b"", error=ModelFileError)


def test_target_is_directory(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ModelFileError, match="is a directory"):
        atomic_write_bytes(tmp_path / "d", b"x", error=ModelFileError)
    assert _leftovers(tmp_path) == []


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        with atomic_write("x", "ab"):
            pass
