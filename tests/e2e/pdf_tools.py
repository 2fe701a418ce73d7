"""Reading a PDF the way a person and a checker would: poppler's pdftotext, pdftoppm, pdffonts and pdfdetach
(Debian's poppler-utils; `make test` installs it when missing)."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageStat


def run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True)
    return done.stdout


def text(pdf: Path, page: int | None = None) -> str:
    """The text of the PDF (or one page), laid out as printed; no-break spaces read as spaces."""
    pages = ["-f", str(page), "-l", str(page)] if page is not None else []
    return run("pdftotext", "-layout", *pages, pdf, "-").replace("\u00a0", " ")


def page_count(pdf: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", pdf), re.MULTILINE)
    assert match, "pdfinfo names no page count"
    return int(match.group(1))


def fonts(pdf: Path) -> list[tuple[str, bool]]:
    """Each font of the PDF and whether it is embedded (pdffonts' `emb` column)."""
    lines = run("pdffonts", pdf).splitlines()[2:]
    found = []
    for line in lines:
        parts = line.split()
        # name type [type2] encoding emb sub uni object ID: `emb` is the 5th field from the end
        found.append((parts[0], parts[-5] == "yes"))
    return found


def attachment(pdf: Path, folder: Path) -> bytes:
    """The one file attached to the PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    run("pdfdetach", "-saveall", "-o", folder, pdf)
    (saved,) = list(folder.iterdir())
    return saved.read_bytes()


def page_png(pdf: Path, out: Path, page: int = 1) -> Image.Image:
    run(
        "pdftoppm",
        "-r",
        "50",
        "-png",
        "-singlefile",
        "-f",
        str(page),
        "-l",
        str(page),
        pdf,
        out.with_suffix(""),
    )
    return Image.open(out.with_suffix(".png")).convert("L")


def ink(image: Image.Image) -> tuple[float, float]:
    """The grey level's standard deviation and the share of pixels that are not paper-white."""
    stddev = ImageStat.Stat(image).stddev[0]
    histogram = image.histogram()
    dark = sum(histogram[:200]) / (image.width * image.height)
    return stddev, dark


def en_amount(value: Decimal | str, places: int = 2) -> str:
    return format(Decimal(value).quantize(Decimal(1).scaleb(-places)), ",f")


def ru_amount(value: Decimal | str, places: int = 2) -> str:
    return en_amount(value, places).replace(",", " ").replace(".", ",")
