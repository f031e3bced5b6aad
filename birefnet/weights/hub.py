"""Find or download released checkpoints (Hugging Face Hub) into a local models folder.

Local layout: one file per variant, `<models_dir>/<variant name>.safetensors`. Downloads go through
`huggingface_hub.hf_hub_download` (its cache, HF_TOKEN / `hf auth login`, HF_HUB_OFFLINE=1 and HF_ENDPOINT
all apply), then the file is hard-linked (or copied) from the Hugging Face cache into the models folder.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import pathlib
import shutil
from collections.abc import Callable, Iterable, Iterator

from huggingface_hub import hf_hub_download
from huggingface_hub.utils import (
    EntryNotFoundError,
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    are_progress_bars_disabled,
    disable_progress_bars,
    enable_progress_bars,
)
from tqdm.auto import tqdm

from ..errors import BiRefNetError
from .files import CHECKPOINT_SUFFIXES
from .registry import Variant, find_variant, get_variant, variant_for_path

DownloadProgress = Callable[[int, "int | None"], None]
"""Called as (bytes received, total bytes or None) while a file downloads; may raise to stop the download."""

log = logging.getLogger("birefnet")


def default_models_dir() -> pathlib.Path:
    """Where the command line keeps downloaded checkpoints.

    $BIREFNET_MODELS_DIR if set, else $XDG_CACHE_HOME/birefnet/models (XDG_CACHE_HOME defaults to ~/.cache).
    """
    if os.environ.get("BIREFNET_MODELS_DIR"):
        return pathlib.Path(os.environ["BIREFNET_MODELS_DIR"]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return pathlib.Path(cache_home).expanduser() / "birefnet" / "models"


def local_variant_path(variant: Variant, models_dir: str | os.PathLike) -> pathlib.Path:
    """The path a variant is stored at: `<models_dir>/<name>.safetensors`."""
    return pathlib.Path(models_dir) / f"{variant.name}.safetensors"


def find_local_variant(variant: Variant, models_dir: str | os.PathLike) -> pathlib.Path | None:
    """An existing file for `variant` in `models_dir`, or None.

    Looks for `<name>.safetensors` first, then any checkpoint file or `<folder>/model.safetensors` there
    that `variant_for_path` recognises as this variant (e.g. "birefnet_hr.safetensors").
    """
    exact = local_variant_path(variant, models_dir)
    if exact.is_file():
        return exact
    folder = pathlib.Path(models_dir)
    if not folder.is_dir():
        return None
    for entry in sorted(folder.iterdir()):
        candidate = entry / "model.safetensors" if entry.is_dir() else entry
        if (
            candidate.suffix.lower() in CHECKPOINT_SUFFIXES
            and candidate.is_file()
            and variant_for_path(candidate) == variant
        ):
            return candidate
    return None


def find_local_variant_in(variant: Variant, search_dirs: Iterable[str | os.PathLike]) -> pathlib.Path | None:
    """The file of `variant` in the first of `search_dirs` that holds one (see `find_local_variant`), or None."""
    for directory in search_dirs:
        found = find_local_variant(variant, directory)
        if found is not None:
            return found
    return None


def _offline_from_environment() -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE as set now (huggingface_hub reads them once, at import)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


@contextlib.contextmanager
def _hub_progress_bars(enabled: bool) -> Iterator[None]:
    """Turn huggingface_hub's progress bars off for the duration when `enabled` is False."""
    turn_off = not enabled and not are_progress_bars_disabled()
    if turn_off:
        disable_progress_bars()
    try:
        yield
    finally:
        if turn_off:
            enable_progress_bars()


def _place_atomically(source: pathlib.Path, dest: pathlib.Path) -> None:
    """Make `dest` a hard link to (or else a copy of) `source`, never leaving a partial `dest` behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        try:
            os.link(source, temporary)
        except OSError:  # other file system, no hard links (FAT, some network drives), permissions
            shutil.copyfile(source, temporary)
        os.replace(temporary, dest)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise BiRefNetError(
            f"Could not write {dest} (from the Hugging Face cache file {source}): {error}. "
            f"Check that the folder is writable and the disk has space."
        ) from error


class _CallbackRaised(BaseException):
    """Carries an exception raised by a DownloadProgress callback (e.g. ComfyUI's Stop) through the download.

    A BaseException, so that neither huggingface_hub nor the error translation below wraps it.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def _progress_bar_class(callback: DownloadProgress, console: bool) -> type[tqdm]:
    """A tqdm class for huggingface_hub's ``tqdm_class`` that reports every chunk to ``callback``."""

    class ReportingBar(tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.pop("name", None)  # huggingface_hub's own bar class takes a name; plain tqdm does not
            if not console:
                kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.received = int(kwargs.get("initial") or 0)
            self._report()

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            self.received += int(n or 0)
            self._report()
            return shown

        def _report(self) -> None:
            try:
                callback(self.received, int(self.total) if self.total else None)
            except Exception as error:
                raise _CallbackRaised(error) from error

    return ReportingBar


def _download_failed_message(variant: Variant, dest: pathlib.Path, what_happened: str, offline: bool) -> str:
    manual = f"download {variant.url} by hand and save it as {dest}"
    if variant.gated:
        access = (
            f" {variant.repo_id} is gated: accept its licence ({variant.license}) at {variant.page_url}, "
            f"then log in with `hf auth login` (or set HF_TOKEN)."
        )
    else:
        access = ""
    if offline:
        return (
            f"Cannot download {variant.name}: offline mode is on (HF_HUB_OFFLINE) and the file is not in "
            f"the Hugging Face cache. Unset HF_HUB_OFFLINE and retry online, or {manual}.{access}"
        )
    return f"Could not download {variant.name} from {variant.repo_id}: {what_happened}.{access} Or {manual}."


def download_variant(
    name: str,
    dest_dir: str | os.PathLike,
    *,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    on_progress: DownloadProgress | None = None,
) -> pathlib.Path:
    """Return the local checkpoint file of variant `name`, downloading it into `dest_dir` if needed.

    An existing file in `dest_dir` (see `find_local_variant`) is returned without any network access.
    Otherwise `hf_hub_download` fetches the weights (or finds them in the Hugging Face cache `cache_dir`,
    default: huggingface_hub's own), and they are placed at `<dest_dir>/<name>.safetensors`.
    local_files_only: None -> follow HF_HUB_OFFLINE as it is set when called; True -> cache only.
    on_progress: called with (bytes received, total bytes) as the file arrives; an exception it raises stops
    the download and is re-raised unchanged. The file only gets its final name once complete (a stopped
    download leaves at most huggingface_hub's ``.incomplete`` blob in its cache, which it resumes next time).
    Raises BiRefNetError when offline, on network errors, for gated or missing repositories.
    """
    variant = get_variant(name)
    existing = find_local_variant(variant, dest_dir)
    if existing is not None:
        return existing
    dest = local_variant_path(variant, dest_dir)
    offline = _offline_from_environment() if local_files_only is None else local_files_only
    extra: dict[str, object] = {}
    if on_progress is not None:
        if "tqdm_class" in inspect.signature(hf_hub_download).parameters:
            extra["tqdm_class"] = _progress_bar_class(on_progress, console=progress)
        else:
            log.info(
                "this huggingface_hub reports no download progress; upgrade it for a progress bar in the node"
            )
    try:
        with _hub_progress_bars(progress):
            cached = hf_hub_download(
                variant.repo_id,
                variant.filename,
                cache_dir=str(cache_dir) if cache_dir is not None else None,
                local_files_only=offline,
                **extra,
            )
    except _CallbackRaised as stop:
        raise stop.error from None
    except GatedRepoError as error:
        raise BiRefNetError(
            _download_failed_message(variant, dest, "access to this gated repository was refused", False)
        ) from error
    except RepositoryNotFoundError as error:
        raise BiRefNetError(
            _download_failed_message(variant, dest, "the repository was not found or needs a login", False)
        ) from error
    except LocalEntryNotFoundError as error:
        what = "no connection to the Hub and the file is not in the Hugging Face cache"
        raise BiRefNetError(_download_failed_message(variant, dest, what, offline)) from error
    except (EntryNotFoundError, RevisionNotFoundError) as error:
        what = f"the repository has no file {variant.filename!r}"
        raise BiRefNetError(_download_failed_message(variant, dest, what, False)) from error
    except Exception as error:  # connection drops mid-download, disk full, proxy errors...
        what = f"{type(error).__name__}: {error}"
        raise BiRefNetError(_download_failed_message(variant, dest, what, False)) from error
    _place_atomically(pathlib.Path(cached).resolve(), dest)
    return dest


def _looks_like_path(text: str) -> bool:
    """True for "weights/x.pth", "./x", "~/x", "C:\\x"; False for "BiRefNet_HR" or "ZhengPeng7/BiRefNet_HR"."""
    return (
        pathlib.Path(text).suffix.lower() in CHECKPOINT_SUFFIXES
        or text.startswith((".", "/", "~"))
        or "\\" in text
        or text.count("/") >= 2
    )


def find_or_download_variant(
    variant: Variant | str,
    search_dirs: Iterable[str | os.PathLike],
    download_dir: str | os.PathLike,
    *,
    allow_download: bool,
    how_to_allow: str = "Allow downloads",
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
    on_progress: DownloadProgress | None = None,
) -> pathlib.Path:
    """The checkpoint file of a released variant: the one in the first of `search_dirs` that holds it (see
    `find_local_variant`), else downloaded into `download_dir` when `allow_download` (see `download_variant`
    for `progress`, `cache_dir` and `on_progress`).

    With downloads off, BiRefNetError names the folders searched and the file to save by hand; `how_to_allow`
    starts its sentence on turning downloads on, in the caller's words ("Turn on 'allow_download'" in a node).
    """
    variant = get_variant(variant) if isinstance(variant, str) else variant
    search_dirs = [pathlib.Path(d) for d in search_dirs]
    local = find_local_variant_in(variant, search_dirs)
    if local is not None:
        return local
    if not allow_download:
        target = pathlib.Path(download_dir)
        raise BiRefNetError(
            f"{variant.name} is not on disk and downloads are off (looked in "
            f"{', '.join(str(d) for d in search_dirs)}). {how_to_allow} to fetch it ({variant.repo_id}, "
            f"licence: {variant.license}) into {target}, or download {variant.url} and save it as "
            f"{local_variant_path(variant, target)} yourself."
        )
    return download_variant(
        variant.name, download_dir, progress=progress, cache_dir=cache_dir, on_progress=on_progress
    )


def resolve_model(
    name_or_path: str | os.PathLike,
    models_dir: str | os.PathLike,
    *,
    allow_download: bool,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[pathlib.Path, Variant | None]:
    """Turn a checkpoint path or a variant name into (local checkpoint file, its Variant or None).

    An existing file is returned as is, with the variant `variant_for_path` recognises (or None);
    a folder holding `model.safetensors` gives that file. A variant name ("BiRefNet_HR") gives the file in
    `models_dir`, downloaded first when `allow_download` (else BiRefNetError saying where to put it).
    """
    text = os.fspath(name_or_path)
    path = pathlib.Path(text).expanduser()
    if path.is_file():
        return path, variant_for_path(path)
    if path.is_dir() and (path / "model.safetensors").is_file():
        return path / "model.safetensors", variant_for_path(path / "model.safetensors")
    if path.is_dir():
        raise BiRefNetError(f"Folder {path} holds no model.safetensors: give the checkpoint file itself.")
    if find_variant(text) is None and _looks_like_path(text):
        raise BiRefNetError(f"Checkpoint file {path} does not exist. Check the path or give a variant name.")
    variant = get_variant(text)
    found = find_or_download_variant(
        variant,
        [models_dir],
        models_dir,
        allow_download=allow_download,
        progress=progress,
        cache_dir=cache_dir,
    )
    return found, variant
