"""Reading a PDF the way a person and a checker would: poppler's pdftotext, pdftoppm, pdffonts and pdfdetach
(Debian's poppler-utils; `make test` installs it when missing)."""

from __future__ import annotations

import html
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


def words(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """Each word of a page with its box in points from the top left (pdftotext -bbox): text, x0, y0, x1, y1."""
    out = run("pdftotext", "-bbox", "-f", str(page), "-l", str(page), pdf, "-")
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out
    )
    return [(html.unescape(t), float(a), float(b), float(c), float(d)) for a, b, c, d, t in found]


def page_rgb(pdf: Path, out: Path, page: int, dpi: int) -> Image.Image:
    """Page `page` rendered by pdftoppm at `dpi`, in colour."""
    run(
        "pdftoppm",
        "-r",
        str(dpi),
        "-png",
        "-singlefile",
        "-f",
        str(page),
        "-l",
        str(page),
        pdf,
        out.with_suffix(""),
    )
    return Image.open(out.with_suffix(".png")).convert("RGB")


def ink_in(image: Image.Image, box: tuple[float, float, float, float], dpi: int) -> float:
    """The share of pixels that are not paper-white inside a box given in points (x0, y0, x1, y1)."""
    scale = dpi / 72
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    crop = image.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))).convert("L")
    histogram = crop.histogram()
    return sum(histogram[:200]) / (crop.width * crop.height)


def bars(image: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> list[int]:
    """The length in pixels of each horizontal bar of `colour` inside `box` (pixels), top to bottom: rows holding
    the colour that touch each other are one bar, its length the widest run of the colour among them."""
    x0, y0, x1, y1 = box
    pixels = image.load()
    assert pixels is not None

    def near(p: tuple[int, int, int]) -> bool:
        return sum(abs(a - b) for a, b in zip(p, colour, strict=True)) < 40

    found: list[int] = []
    open_bar = False
    for y in range(y0, y1):
        xs = [x for x in range(x0, x1) if near(pixels[x, y])]
        if xs:
            width = xs[-1] - xs[0] + 1
            if open_bar:
                found[-1] = max(found[-1], width)
            else:
                found.append(width)
            open_bar = True
        else:
            open_bar = False
    return found
