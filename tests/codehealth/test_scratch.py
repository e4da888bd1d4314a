"""Archives unpacked within bounds, and the paths a patch reads from its base."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from codehealth.errors import RepositoryUnavailable
from codehealth.repositories.scratch import old_paths, unpack_archive


def archive(members: list[tarfile.TarInfo], contents: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(contents.get(member.name, b"")))
    return buffer.getvalue()


def file(name: str, size: int) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.size = size
    return member


def link(name: str, target: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = tarfile.SYMTYPE, target
    return member


def test_the_top_folder_is_dropped_and_links_out_of_the_tree_skipped(tmp_path: Path) -> None:
    data = archive(
        [
            file("repo-abc/src/a.py", 2),
            link("repo-abc/src/b.py", "a.py"),
            link("repo-abc/passwd", "/etc/passwd"),
            link("repo-abc/up", "../../outside"),
        ],
        {"repo-abc/src/a.py": b"A\n"},
    )

    assert unpack_archive(data, tmp_path, max_unpacked_bytes=1000) == 1

    assert (tmp_path / "src/a.py").read_bytes() == b"A\n"
    assert (tmp_path / "src/b.py").is_symlink()
    assert not (tmp_path / "passwd").exists() and not (tmp_path / "up").exists()


def test_an_archive_that_unpacks_too_big_is_refused(tmp_path: Path) -> None:
    data = archive([file("repo/big", 5000)], {"repo/big": b"\0" * 5000})
    with pytest.raises(RepositoryUnavailable, match="past the limit"):
        unpack_archive(data, tmp_path, max_unpacked_bytes=4000)
    with pytest.raises(RepositoryUnavailable, match="does not unpack"):
        unpack_archive(b"not an archive", tmp_path, max_unpacked_bytes=4000)


def test_old_paths_reads_plain_quoted_renamed_and_new_files() -> None:
    diff = (
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
        'diff --git "a/sp\\303\\251.txt" "b/sp\\303\\251.txt"\n'
        '--- "a/sp\\303\\251.txt"\n+++ "b/sp\\303\\251.txt"\n'
        "diff --git a/old.py b/new.py\nrename from old.py\nrename to new.py\n"
        "diff --git a/n.txt b/n.txt\n--- /dev/null\n+++ b/n.txt\n"
    )
    assert old_paths(diff) == ["app.py", "old.py", "spé.txt"]
