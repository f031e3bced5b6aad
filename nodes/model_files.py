"""Where BiRefNet checkpoints live in a ComfyUI install, through ``folder_paths``.

Three model folder names are registered: ``birefnet`` (downloads go to its first path, by default
``ComfyUI/models/birefnet``), ``BiRefNet`` and ``background_removal``. Each can be extended in
``extra_model_paths.yaml`` (e.g. ``birefnet: /data/birefnet``), which ComfyUI reads before loading node packs.

``background_removal`` belongs to ComfyUI itself from 0.38 on (core's Load Background Removal Model reads it;
its entry shares ComfyUI's ``supported_pt_extensions`` set with checkpoints, loras...). The pack only adds
paths to such folders and never changes an extension set it did not create. Core's files there
(``birefnet.safetensors``, ``lucida.safetensors``) are BiRefNet checkpoints in the official key layout and
load as they are; a ``.safetensors`` file whose tensor names are not a BiRefNet's is left out of the list.
"""

from __future__ import annotations

import logging
import os
import pathlib

import folder_paths

from ..birefnet import (
    CHECKPOINT_SUFFIXES,
    VARIANTS,
    BiRefNetError,
    DownloadProgress,
    Variant,
    find_or_download_variant,
    find_variant,
    not_birefnet_reason,
    read_safetensors_header,
    variant_for_path,
)

FOLDER_NAMES = ("birefnet", "BiRefNet", "background_removal")
DOWNLOAD_FOLDER = "birefnet"
CHECKPOINT_EXTENSIONS = set(CHECKPOINT_SUFFIXES)


log = logging.getLogger(__name__)


def register_model_folders() -> None:
    """Add ``models/<name>`` for every FOLDER_NAMES entry, keeping paths that extra_model_paths.yaml set.

    Idempotent (the extension's ``on_load`` and every lookup below call it). A folder another party registered
    keeps its extension set unless it lacks a checkpoint suffix; then its entry gets a new set (old members plus
    ours): sets such as ComfyUI's ``supported_pt_extensions`` are shared by many folders and never changed here.
    """
    table = folder_paths.folder_names_and_paths
    for name in FOLDER_NAMES:
        default_path = os.path.join(folder_paths.models_dir, name)
        if name not in table:
            table[name] = ([default_path], set(CHECKPOINT_EXTENSIONS))
            continue
        # Appended after any path extra_model_paths.yaml gave (those stay first, so downloads go there).
        folder_paths.add_model_folder_path(name, default_path)
        paths, extensions = table[name]
        if not CHECKPOINT_EXTENSIONS <= set(extensions):
            table[name] = (paths, set(extensions) | CHECKPOINT_EXTENSIONS)


# (size, mtime) and verdict of each .safetensors file looked at: None = BiRefNet (or unreadable), else what it
# seems to be. Only the file's header is read, once per change of the file.
_verdicts: dict[str, tuple[tuple[int, int], str | None]] = {}


def not_birefnet(path: str) -> str | None:
    """What a ``.safetensors`` file seems to be when its tensor names are not a BiRefNet's, else None.

    Unreadable files and other file types give None: they stay listed, and loading them says what is wrong.
    """
    if not path.lower().endswith(".safetensors"):
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    stamp = (stat.st_size, stat.st_mtime_ns)
    cached = _verdicts.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        verdict = not_birefnet_reason(read_safetensors_header(path))
    except BiRefNetError:
        verdict = None
    if verdict is not None:
        log.info("BiRefNet: %s is not listed in the model list: it looks like %s.", path, verdict)
    _verdicts[path] = (stamp, verdict)
    return verdict


def local_checkpoint_paths() -> dict[str, pathlib.Path]:
    """{name in the model list: full path} of the checkpoint files in the registered folders (a name in
    several folders: the first, which is the file the loader gets)."""
    register_model_folders()
    paths: dict[str, pathlib.Path] = {}
    for folder in FOLDER_NAMES:
        for name in folder_paths.get_filename_list(folder):
            full = folder_paths.get_full_path(folder, name)
            if name not in paths and full is not None:
                paths[name] = pathlib.Path(full)
    return paths


def local_checkpoints() -> list[str]:
    """BiRefNet checkpoint files in the registered folders, as names relative to their folder, sorted.

    ``.safetensors`` files of other networks (read from their header) are left out.
    """
    names = [name for name, path in local_checkpoint_paths().items() if not_birefnet(str(path)) is None]
    return sorted(names, key=str.lower)


def model_choices() -> list[str]:
    """The Load node's list: local files first, then every registry variant name."""
    files = local_checkpoints()
    return files + [name for name in VARIANTS if name not in files]


def folder_dirs() -> list[pathlib.Path]:
    """Every folder of the registered model folder names, without repeats, in search order."""
    register_model_folders()
    dirs: list[pathlib.Path] = []
    for folder in FOLDER_NAMES:
        for path in folder_paths.get_folder_paths(folder):
            if pathlib.Path(path) not in dirs:
                dirs.append(pathlib.Path(path))
    return dirs


def download_dir() -> pathlib.Path:
    """First path of the ``birefnet`` folder (``models/birefnet`` unless extra_model_paths.yaml says else)."""
    register_model_folders()
    return pathlib.Path(folder_paths.get_folder_paths(DOWNLOAD_FOLDER)[0])


def resolve_checkpoint(
    choice: str, allow_download: bool, on_progress: DownloadProgress | None = None
) -> tuple[pathlib.Path, Variant | None]:
    """(checkpoint file, registry variant or None) for a Load-node choice.

    A local file name is looked up in the registered folders. A variant name uses a matching file in any of
    them, else downloads it into ``download_dir()`` when ``allow_download`` (reporting bytes to
    ``on_progress``); otherwise BiRefNetError says what to do (``birefnet.find_or_download_variant``). (A file
    of another network is refused by ``birefnet.load_model``, naming what it seems to be.)
    """
    register_model_folders()
    for folder in FOLDER_NAMES:
        full = folder_paths.get_full_path(folder, choice)
        if full is not None and os.path.isfile(full):
            return pathlib.Path(full), variant_for_path(full)
    variant = find_variant(choice)
    if variant is None:
        raise BiRefNetError(
            f"Model file {choice!r} was not found in {', '.join(map(str, folder_dirs()))}. Put the checkpoint "
            "there (or pick another entry) and refresh the page."
        )
    path = find_or_download_variant(
        variant,
        folder_dirs(),
        download_dir(),
        allow_download=allow_download,
        how_to_allow="Turn on 'allow_download'",
        on_progress=on_progress,
    )
    return path, variant
