"""Where BiRefNet checkpoints live in a ComfyUI install, through ``folder_paths``.

Three model folder names are registered: ``birefnet`` (downloads go to its first path, by default
``ComfyUI/models/birefnet``), ``BiRefNet`` and ``background_removal``. Each can be extended in
``extra_model_paths.yaml`` (e.g. ``birefnet: /data/birefnet``), which ComfyUI reads before loading node packs.
"""

from __future__ import annotations

import os
import pathlib

import folder_paths

from ..birefnet.errors import BiRefNetError
from ..birefnet.hub import DownloadProgress, download_variant, find_local_variant
from ..birefnet.registry import VARIANTS, Variant, find_variant, variant_for_path

FOLDER_NAMES = ("birefnet", "BiRefNet", "background_removal")
DOWNLOAD_FOLDER = "birefnet"
CHECKPOINT_EXTENSIONS = {".safetensors", ".pth", ".pt", ".bin", ".ckpt"}


def register_model_folders() -> None:
    """Add ``models/<name>`` for every FOLDER_NAMES entry, keeping paths that extra_model_paths.yaml set."""
    for name in FOLDER_NAMES:
        default_path = os.path.join(folder_paths.models_dir, name)
        # Appended after any path extra_model_paths.yaml gave (those stay first, so downloads go there).
        folder_paths.add_model_folder_path(name, default_path)
        folder_paths.folder_names_and_paths[name][1].update(CHECKPOINT_EXTENSIONS)


def local_checkpoints() -> list[str]:
    """Checkpoint files found in the registered folders, as names relative to their folder, sorted."""
    names: set[str] = set()
    for folder in FOLDER_NAMES:
        names.update(folder_paths.get_filename_list(folder))
    return sorted(names, key=str.lower)


def model_choices() -> list[str]:
    """The Load node's list: local files first, then every registry variant name."""
    files = local_checkpoints()
    return files + [name for name in VARIANTS if name not in files]


def _folder_dirs() -> list[str]:
    dirs: list[str] = []
    for folder in FOLDER_NAMES:
        for path in folder_paths.get_folder_paths(folder):
            if path not in dirs:
                dirs.append(path)
    return dirs


def download_dir() -> pathlib.Path:
    """First path of the ``birefnet`` folder (``models/birefnet`` unless extra_model_paths.yaml says else)."""
    return pathlib.Path(folder_paths.get_folder_paths(DOWNLOAD_FOLDER)[0])


def resolve_checkpoint(
    choice: str, allow_download: bool, on_progress: DownloadProgress | None = None
) -> tuple[pathlib.Path, Variant | None]:
    """(checkpoint file, registry variant or None) for a Load-node choice.

    A local file name is looked up in the registered folders. A variant name uses a matching file in any of
    them, else downloads it into ``download_dir()`` when ``allow_download`` (reporting bytes to
    ``on_progress``); otherwise BiRefNetError says what to do.
    """
    for folder in FOLDER_NAMES:
        full = folder_paths.get_full_path(folder, choice)
        if full is not None and os.path.isfile(full):
            return pathlib.Path(full), variant_for_path(full)
    variant = find_variant(choice)
    if variant is None:
        raise BiRefNetError(
            f"Model file {choice!r} was not found in {', '.join(_folder_dirs())}. Put the checkpoint there "
            "(or pick another entry) and refresh the page."
        )
    for directory in _folder_dirs():
        local = find_local_variant(variant, directory)
        if local is not None:
            return local, variant
    target = download_dir()
    if not allow_download:
        raise BiRefNetError(
            f"{variant.name} is not on disk and downloads are off. Turn on 'allow_download' to fetch it "
            f"({variant.repo_id}, licence: {variant.license}) into {target}, or save the file as "
            f"{target / (variant.name + '.safetensors')} yourself."
        )
    target.mkdir(parents=True, exist_ok=True)
    return download_variant(variant.name, target, progress=True, on_progress=on_progress), variant


def folder_dirs() -> list[pathlib.Path]:
    """Every folder of the registered model folder names, without repeats, in search order."""
    return [pathlib.Path(d) for d in _folder_dirs()]


def local_checkpoint_paths() -> dict[str, pathlib.Path]:
    """{name in the model list: full path} of the checkpoint files in the registered folders."""
    paths: dict[str, pathlib.Path] = {}
    for folder in FOLDER_NAMES:
        for name in folder_paths.get_filename_list(folder):
            full = folder_paths.get_full_path(folder, name)
            if name not in paths and full is not None:
                paths[name] = pathlib.Path(full)
    return paths
