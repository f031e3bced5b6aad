"""Outputs under a temporary name, renamed when complete: files and folders, success and failure."""

import pytest

from birefnet.partial_files import partial_file, publish, temporary_path


def test_the_temporary_name_is_hidden_beside_the_final_one_and_keeps_the_suffix(tmp_path):
    assert temporary_path(tmp_path / "cut.png") == tmp_path / ".cut.png.partial.png"
    assert temporary_path(tmp_path / "frames") == tmp_path / ".frames.partial"


def test_a_completed_block_replaces_the_earlier_file(tmp_path):
    final = tmp_path / "mask.png"
    final.write_bytes(b"old")
    with partial_file(final) as temporary:
        temporary.write_bytes(b"new")
        assert final.read_bytes() == b"old"  # untouched while writing
    assert final.read_bytes() == b"new" and list(tmp_path.iterdir()) == [final]


def test_a_failed_block_leaves_the_earlier_file_and_no_temporary(tmp_path):
    final = tmp_path / "mask.png"
    final.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), partial_file(final) as temporary:
        temporary.write_bytes(b"half")
        raise KeyboardInterrupt
    assert final.read_bytes() == b"old" and list(tmp_path.iterdir()) == [final]


@pytest.mark.parametrize("earlier", ["folder", "file"])
def test_a_folder_replaces_an_earlier_folder_or_file(tmp_path, earlier):
    final = tmp_path / "frames"
    if earlier == "folder":
        final.mkdir()
        (final / "000009.png").write_bytes(b"stale frame")
    else:
        final.write_bytes(b"stale file")
    temporary = temporary_path(final)
    temporary.mkdir()
    (temporary / "000001.png").write_bytes(b"frame")
    assert publish(temporary, final) == final
    assert sorted(p.name for p in final.iterdir()) == ["000001.png"] and not temporary.exists()
