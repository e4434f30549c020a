"""What `pip install claimclf` costs and how fast `claimclf predict` starts, from a fresh venv.

    python benchmarks/install_footprint.py [--keep /tmp/claimclf-venv]

Builds the wheel from this checkout, installs it (core dependencies only: no torch, no
transformers) into a new virtual environment with the versions pinned in constraints.txt,
then prints the wheel's size, the venv's size on disk, whether torch or transformers got
installed, and the wall time of `claimclf predict seeds/000_807158935edd99d1.txt` (best of
three, after one warm-up run that fills the OS file cache). Needs the package index.
Targets (issue 13): core install <= 400 MB, wheel <= 100 MB, predict on the seed <= 1.5 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path, help="build the venv here and keep it")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="claimclf-footprint-"))
    venv = args.keep or work / "venv"
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(REPO)],
                       check=True)
        wheel = next((work / "dist").glob("claimclf-*.whl"))
        if venv.exists():
            shutil.rmtree(venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = venv / "bin" / "python"
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-c", str(REPO / "constraints.txt"), str(wheel)],
                       check=True)
        site = next(venv.glob("lib/python*/site-packages"))
        heavy = [name for name in ("torch", "transformers") if (site / name).exists()]
        times = []
        cmd = [str(venv / "bin" / "claimclf"), "predict", str(REPO / "seeds" / "000_807158935edd99d1.txt"),
               "--format", "jsonl"]
        for _ in range(4):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=work)
            times.append(time.perf_counter() - t)
        print(f"wheel: {wheel.name} {wheel.stat().st_size / 2**20:.1f} MB")
        print(f"venv on disk: {du(venv) / 2**20:.0f} MB (site-packages {du(site) / 2**20:.0f} MB); "
              f"torch/transformers installed: {', '.join(heavy) or 'neither'}")
        print(f"predict on the seed article: best of 3 {min(times[1:]):.2f} s (first run {times[0]:.2f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
