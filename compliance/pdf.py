"""Shared helpers for the PDFs TradingSite writes (the STR's file copy, contract notes).

Fonts come from the machine's font directories (DejaVu, a Devanagari face); amounts are
printed with Indian digit grouping; a numbered canvas lets every page say "page X of Y".
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape


def rupees_text(value: Decimal) -> str:
    """A decimal string, never an exponent, with at least two places (paise)."""
    if value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    mono: str
    devanagari: str | None  # None: no font on this machine covers Devanagari


def find_font(*names: str) -> Path | None:
    for name in names:
        for root in FONT_DIRS:
            if root.is_dir():
                found = sorted(root.rglob(name))
                if found:
                    return found[0]
    return None


@cache
def fonts() -> Fonts:
    """Register TrueType fonts once: DejaVu (Latin, ₹, dashes) and a Devanagari face.

    Without DejaVu the PDF falls back to Helvetica (Latin-1 only); without a Devanagari
    font Devanagari letters show as empty boxes. Neither stops the PDF being written.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular = find_font("DejaVuSans.ttf")
    bold = find_font("DejaVuSans-Bold.ttf")
    mono = find_font("DejaVuSansMono.ttf")
    deva = find_font(
        "NotoSansDevanagari-Regular.ttf", "Lohit-Devanagari.ttf", "NotoSerifDevanagari*.ttf"
    )
    names = {}
    for key, path, fallback in (
        ("regular", regular, "Helvetica"),
        ("bold", bold, "Helvetica-Bold"),
        ("mono", mono, "Courier"),
        ("devanagari", deva, None),
    ):
        if path is None:
            names[key] = fallback
            continue
        name = f"STR-{key}"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(path)))
        names[key] = name
    if names["regular"].startswith("STR-") and names["bold"].startswith("STR-"):
        pdfmetrics.registerFontFamily(
            "STR-regular",
            normal="STR-regular",
            bold="STR-bold",
            italic="STR-regular",
            boldItalic="STR-bold",
        )
    return Fonts(**names)


DEVANAGARI = re.compile("([\u0900-\u097f\ua8e0-\ua8ff\u200c\u200d]+)")


def markup(text: str, fonts: Fonts) -> str:
    """Plain text as Paragraph markup: escaped, line breaks kept, Devanagari runs in a face
    that has the glyphs (reportlab does not fall back between fonts by itself)."""
    out = escape(text.replace("\r\n", "\n").replace("\r", "\n"))
    if fonts.devanagari:
        out = DEVANAGARI.sub(rf'<font name="{fonts.devanagari}">\1</font>', out)
    return out.replace("\n", "<br/>")


def money(value: Decimal) -> str:
    """Indian digit grouping (12,34,567.50), as the officer reads amounts."""
    sign = "-" if value < 0 else ""
    whole, _, paise = rupees_text(abs(value)).partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join([*groups, tail]) + "." + paise


def numbered_canvas(draw_page: Callable[[Any, int, int], None]) -> type:
    """A canvas class that holds every page until the end, so each can say "page X of Y"."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held_pages)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                draw_page(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas
