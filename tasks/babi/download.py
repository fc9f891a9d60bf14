"""Download and unpack the bAbI v1.2 archive (``tasks_1-20_v1-2.tar.gz``).

The archive unpacks to::

    DIR/tasks_1-20_v1-2/en/qa1_single-supporting-fact_train.txt    (1k setting)
    DIR/tasks_1-20_v1-2/en/qa1_single-supporting-fact_test.txt
    ...
    DIR/tasks_1-20_v1-2/en-10k/...                                 (10k setting)

and ``DIR/tasks_1-20_v1-2`` is what :func:`tasks.babi.reader.find_task_files`
and ``BabiDataModule(data_dir=...)`` take. Standard library only.

Checksum: the md5 of the official archive could not be confirmed while this
was written (no network), so ``OFFICIAL_MD5`` is ``None`` and
:func:`download_babi` then prints the md5 it computed instead of checking it;
pass ``md5=`` (or set ``OFFICIAL_MD5``) to pin it.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = [
    "ARCHIVE_ROOT",
    "ChecksumError",
    "OFFICIAL_MD5",
    "OFFICIAL_URL",
    "download_babi",
    "ensure_babi",
    "extract_archive",
    "file_md5",
    "find_babi_root",
]

OFFICIAL_URL = "https://dl.fbaipublicfiles.com/babi/tasks_1-20_v1-2.tar.gz"
OFFICIAL_MD5: str | None = None  # not confirmed offline; see the module docstring
ARCHIVE_ROOT = "tasks_1-20_v1-2"

_EXPECTED_LAYOUT = (
    "expected layout: DIR/tasks_1-20_v1-2/en/qa1_single-supporting-fact_train.txt, ..., "
    "DIR/tasks_1-20_v1-2/en-10k/qa1_single-supporting-fact_train.txt, ..."
)


class ChecksumError(ValueError):
    """A file whose md5 is not the expected one."""


def file_md5(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Hex md5 of the file at ``path``."""
    digest = hashlib.md5()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def extract_archive(
    archive_path: str | Path, directory: str | Path, *, md5: str | None = None
) -> Path:
    """Check ``archive_path`` against ``md5`` (when given), then unpack it into ``directory``.

    Raises :class:`ChecksumError` on a mismatch, before unpacking anything.
    Members that would land outside ``directory`` (absolute paths, ``..``,
    links pointing out) are refused. Returns ``directory``.
    """
    archive_path, directory = Path(archive_path), Path(directory)
    if md5 is not None:
        actual = file_md5(archive_path)
        if actual.lower() != md5.lower():
            raise ChecksumError(f"{archive_path}: md5 is {actual}, expected {md5}")
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path, "r:*") as archive:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: safe extraction
            archive.extractall(directory, filter="data")
        else:
            root = directory.resolve()
            for member in archive.getmembers():
                target = (directory / member.name).resolve()
                if root != target and root not in target.parents:
                    raise ValueError(f"{archive_path}: member {member.name!r} leaves {directory}")
                if member.issym() or member.islnk():
                    raise ValueError(f"{archive_path}: member {member.name!r} is a link")
            archive.extractall(directory)  # members checked above
    return directory


def find_babi_root(directory: str | Path) -> Path | None:
    """The unpacked archive root under ``directory`` (``directory/tasks_1-20_v1-2``, or
    ``directory`` itself when it holds ``en/``), or ``None``."""
    directory = Path(directory)
    for candidate in (directory / ARCHIVE_ROOT, directory):
        if (candidate / "en").is_dir() or (candidate / "en-10k").is_dir():
            return candidate
    return None


def download_babi(
    directory: str | Path,
    *,
    url: str = OFFICIAL_URL,
    md5: str | None = OFFICIAL_MD5,
    timeout: float = 60.0,
) -> Path:
    """Download the archive from ``url`` into ``directory``, check it, unpack it there.

    Returns the archive root ``directory/tasks_1-20_v1-2``. Does nothing but
    return it when it is already unpacked. The archive is kept beside it.
    """
    directory = Path(directory)
    existing = find_babi_root(directory)
    if existing is not None:
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    archive_path = directory / Path(urllib.parse.urlparse(url).path).name
    if not archive_path.is_file():
        partial_path = archive_path.with_name(archive_path.name + ".part")
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
            partial_path.open("wb") as out,
        ):
            shutil.copyfileobj(response, out)
        partial_path.replace(archive_path)
    if md5 is None:
        print(f"{archive_path}: md5 {file_md5(archive_path)} (not checked)", file=sys.stderr)
    extract_archive(archive_path, directory, md5=md5)
    root = find_babi_root(directory)
    if root is None:
        raise FileNotFoundError(
            f"{archive_path} unpacked into {directory} without en/; " + _EXPECTED_LAYOUT
        )
    return root


def ensure_babi(
    directory: str | Path,
    *,
    download: bool = True,
    url: str = OFFICIAL_URL,
    md5: str | None = OFFICIAL_MD5,
) -> Path:
    """Return the bAbI archive root under ``directory``, downloading it if absent.

    With ``download=False``, or when the download fails (offline machine), raises
    ``FileNotFoundError`` saying where to put the files.
    """
    root = find_babi_root(directory)
    if root is not None:
        return root
    how_to = (
        f"bAbI data not found under {directory}. Download {url} on a machine with network "
        f"access and unpack it into {directory} ({_EXPECTED_LAYOUT})"
    )
    if not download:
        raise FileNotFoundError(how_to)
    try:
        return download_babi(directory, url=url, md5=md5)
    except (urllib.error.URLError, OSError) as error:
        raise FileNotFoundError(f"{how_to}; the download failed: {error}") from error
