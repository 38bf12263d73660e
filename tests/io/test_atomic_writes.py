"""Atomic writes: the target is the complete old file or the complete new one, never a mix."""

from __future__ import annotations

import csv
import os
import socket
import stat

import numpy as np
import pytest

from backprop._atomic import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_not_an_input,
    check_overwrite,
)
from backprop._csv import FORMULA_STARTS, csv_cell
from backprop._files import is_backprop_model, is_predictions_file
from backprop.errors import ConfigError, ModelFileError


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


# --------------------------------------------------------------------------- unsafe targets


def _special_files(tmp_path):
    """Name -> a non-regular file at that path (those the platform lets us make)."""
    made = {}
    (tmp_path / "dir").mkdir()
    made["directory"] = tmp_path / "dir"
    os.mkfifo(tmp_path / "fifo")
    made["FIFO"] = tmp_path / "fifo"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    made["socket"] = tmp_path / "sock"
    try:  # a private copy of /dev/null's device number: root (CAP_MKNOD) only
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        made["character device"] = tmp_path / "null"
    except (OSError, AttributeError):
        pass
    return made, sock


def test_special_files_are_never_replaced(tmp_path):
    made, sock = _special_files(tmp_path)
    try:
        for kind, path in made.items():
            before = os.lstat(path)
            with pytest.raises(ModelFileError, match=r"cannot write .*(not a regular|directory)"):
                atomic_write_bytes(path, b"model", error=ModelFileError)
            with pytest.raises(OSError, match="never replaced|directory"):
                atomic_write_bytes(path, b"model")
            after = os.lstat(path)
            assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode), kind
            assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode), kind
        assert _leftovers(tmp_path) == []
    finally:
        sock.close()


def test_symlink_to_a_special_file_is_refused(tmp_path):
    # never the real /dev/null: a regression would replace it for the whole machine
    made, sock = _special_files(tmp_path)
    try:
        special = made.get("character device", made["FIFO"])
        before = os.lstat(special)
        link = tmp_path / "out.safetensors"
        link.symlink_to(special)
        with pytest.raises(ModelFileError, match="not a regular file"):
            atomic_write_bytes(link, b"model", error=ModelFileError)
        after = os.lstat(special)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
        assert link.is_symlink() and _leftovers(tmp_path) == []
    finally:
        sock.close()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (lchown)")
def test_symlink_owned_by_another_user_is_not_followed(tmp_path):
    shared = tmp_path / "tmp"  # a sticky, world-writable directory like /tmp
    shared.mkdir()
    os.chmod(shared, 0o1777)
    victim_dir = tmp_path / "home"
    victim_dir.mkdir()
    victim = victim_dir / "precious.txt"
    victim.write_bytes(b"precious")
    link = shared / "model.safetensors"
    link.symlink_to(victim)
    os.lchown(link, 12345, 12345)  # planted by another user
    with pytest.raises(ModelFileError, match=r"symbolic link owned by another user \(uid 12345\)"):
        atomic_write_bytes(link, b"model", error=ModelFileError)
    assert victim.read_bytes() == b"precious" and link.is_symlink()
    atomic_write_bytes(link, b"model", force=True)  # --force: the user means it
    assert victim.read_bytes() == b"model"


def test_new_files_get_the_umask_and_replaced_files_lose_special_bits(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "new.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o640
    target = tmp_path / "tool"
    target.write_bytes(b"old")
    os.chmod(target, 0o4755)
    atomic_write_bytes(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_target_turning_into_a_directory_midway_is_refused_and_cleaned_up(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(ModelFileError, match="is a directory"):
        with atomic_write(target, error=ModelFileError) as f:
            f.write(b"x")
            target.mkdir()
    assert target.is_dir() and _leftovers(tmp_path) == []


def test_failed_rename_removes_the_temporary(tmp_path, monkeypatch):
    def fail(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ModelFileError, match="Permission denied"):
        atomic_write_bytes(tmp_path / "m.bin", b"x", error=ModelFileError)
    assert list(tmp_path.iterdir()) == []


def test_abandoned_writer_generator_removes_the_temporary(tmp_path):
    manager = atomic_write(tmp_path / "m.bin")
    f = manager.__enter__()
    f.write(b"half")
    assert len(_leftovers(tmp_path)) == 1
    manager.gen.close()  # what the interpreter does to an abandoned with-block's generator
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- output == input


def test_output_that_is_an_input_is_refused(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("1,2\n")
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    soft = tmp_path / "soft.csv"
    soft.symlink_to(data)
    for out in (data, hard, soft, tmp_path / "." / "in.csv"):
        with pytest.raises(ConfigError, match=r"is the same file as the input"):
            check_not_an_input(out, [tmp_path / "model.safetensors", data])
    with pytest.raises(ConfigError, match=r"^--out '.*in.csv' is the same file as the input; "):
        check_not_an_input(str(data), [str(data)])
    check_not_an_input(tmp_path / "new.csv", [data])  # does not exist yet
    check_not_an_input(None, [data])
    other = tmp_path / "other.csv"
    other.write_text("1,2\n")  # same bytes, another file
    check_not_an_input(other, [data, None, tmp_path / "missing"])


def test_overwriting_needs_force_unless_the_file_is_of_the_commands_kind(tmp_path):
    from backprop import Network
    from backprop.cli.predict import predictions_csv

    notes = tmp_path / "notes.txt"
    notes.write_text("my thesis\n")
    with pytest.raises(ConfigError, match=r"exists and is not a backprop model; add --force"):
        check_overwrite(notes, force=False, accept=is_backprop_model, kind="a backprop model")
    check_overwrite(notes, force=True, accept=is_backprop_model, kind="a backprop model")
    net = Network([3, 4, 2], seed=0)
    model = tmp_path / "m.safetensors"
    net.save(model)
    check_overwrite(model, force=False, accept=is_backprop_model, kind="a backprop model")
    assert is_backprop_model(model) and not is_backprop_model(notes)
    assert not is_predictions_file(model) and not is_predictions_file(notes)
    predictions = tmp_path / "p.csv"
    predictions.write_text(predictions_csv(net, np.zeros((2, 3), np.float32)))
    assert is_predictions_file(predictions)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert is_backprop_model(empty) and is_predictions_file(empty)
    check_overwrite(tmp_path / "absent", force=False, accept=is_backprop_model, kind="x")


# --------------------------------------------------------------------------- CSV injection


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ('=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'),
        ("+1+cmd", "'+1+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=x", '"\'\r=x"'),
        ("cat", "cat"),
        ("a,b", '"a,b"'),
        ("-1", "-1"),  # a plain number is no formula: labels -1/+1 stay readable
        ("+2.5e-3", "+2.5e-3"),
        ("-inf", "-inf"),
        ("T-shirt/top", "T-shirt/top"),
    ],
)
def test_csv_cells_are_neutralised(value, cell):
    assert csv_cell(value) == cell
    read_back = next(csv.reader([cell]))[0]
    assert not read_back.startswith(FORMULA_STARTS) or read_back in ("-1", "+2.5e-3", "-inf")
