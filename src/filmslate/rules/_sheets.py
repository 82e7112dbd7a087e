"""Reference sheets: a character's or a set's locked look on one page, drawn offline, and the
prompt an image model is given for a real one.

A character sheet shows the figure front-on and close up in its wardrobe palette, the palette
swatches, and the lock's appearance, wardrobe and signature identifiers (visual anchors and
distinguishing marks) as text. A set sheet shows the room tinted by its light's colour
temperature with the key light's side, the palette, the visual anchors numbered, and the
layout and lighting rules as text. Like the storyboard frames (whose drawing helpers this
module reuses) the bytes are deterministic: the same lock always gives the same PNG.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from ..schemas import CharLock, SetLock
from ._compose import Part, fit, negative_items_of, render_parts
from ._storyboard import (
    HEIGHT,
    INK,
    PAPER,
    SLATE_H,
    WIDTH,
    Frame,
    _blend,
    _figure,
    _fit,
    _font,
    _label,
    kelvin_to_rgb,
    light_direction,
)

TITLE_H = 24
TEXT_LEFT = 272  # the right-hand panel of text starts here
LINE_H = 13
TEXT_CHARS = 58  # characters per line of the text panel at the 11 px font
SHEET_MARK = "filmslate-sheet"  # the PNG text key saying how a sheet was made
SCHEMATIC = "schematic"
# A sheet prompt stays well inside every image model's limit (none publishes less).
SHEET_PROMPT_CHARS = 1000


@dataclass
class Sheet:
    """What a sheet shows: the facts a test (or a reviewer) checks against the lock."""

    title: str
    lines: list[str] = field(default_factory=list)  # the text panel, as drawn
    palette: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    size: tuple[int, int] = (WIDTH, HEIGHT)


def draw_char_sheet(lock: CharLock, made_from: str = "") -> tuple[bytes, Sheet]:
    """The schematic character sheet of ``lock``; ``made_from`` names the lock's version
    (``CHAR_NELL_LOCK_v002.txt``) on the slate and in the sheet's mark."""
    sheet = Sheet(
        title=f"CHARACTER REFERENCE: {lock.name}",
        palette=tuple(lock.wardrobe.palette),
        anchors=tuple(lock.visual_anchors),
    )
    image, draw = _page(PAPER, sheet)
    scratch = Frame(framing="reference sheet")
    _figure(draw, 80, 1.0, "front", lock, scratch, full_body=True)
    _figure(draw, 196, 1.6, "close-up", lock, scratch, full_body=False)
    look, dress = lock.appearance, lock.wardrobe
    _text_panel(
        draw,
        sheet,
        [
            ("APPEARANCE", [f"age {look.age_range}", f"build {look.build}"]),
            ("", [f"hair {look.hair}", f"eyes {look.eyes}"]),
            ("MARKS", list(look.distinguishing_marks) or ["none"]),
            ("WARDROBE", [dress.default_outfit, *dress.accessories]),
            ("SIGNATURE IDENTIFIERS", list(lock.visual_anchors) or ["none locked"]),
        ],
    )
    _slate(draw, f"CHAR_{lock.name}_REF | {made_from or 'lock'} | {SCHEMATIC}")
    return _png(image, f"{SCHEMATIC} {made_from}".strip()), sheet


def draw_set_sheet(lock: SetLock, made_from: str = "") -> tuple[bytes, Sheet]:
    """The schematic set sheet of ``lock``: room, light, anchors, layout."""
    light = lock.lighting
    sheet = Sheet(
        title=f"SET REFERENCE: {lock.name}",
        palette=tuple(lock.palette),
        anchors=tuple(lock.visual_anchors),
    )
    tint = kelvin_to_rgb(light.temperature_k)
    image, draw = _page(_blend(PAPER, tint, 0.35), sheet)
    _room(draw, lock)
    layout = lock.layout
    _text_panel(
        draw,
        sheet,
        [
            ("LAYOUT", [layout.geometry, layout.entries_exits, layout.windows]),
            ("", [layout.spatial_relations]),
            ("ANCHORS", [f"{i}. {a}" for i, a in enumerate(lock.visual_anchors, 1)] or ["none"]),
            ("LIGHTING", [f"{light.temperature_k}K, {light.primary_source}"]),
            ("", [f"shadow {light.shadow}; contrast {light.contrast}"]),
            ("TIME", [f"{lock.environment.time_of_day}, {lock.environment.weather}"]),
        ],
    )
    _slate(draw, f"SET_{lock.name}_REF | {made_from or 'lock'} | {SCHEMATIC}")
    return _png(image, f"{SCHEMATIC} {made_from}".strip()), sheet


def _page(
    background: tuple[int, int, int], sheet: Sheet
) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH - 1, TITLE_H), fill=INK)
    draw.text((8, 5), sheet.title, fill=(255, 255, 255), font=_font(12))
    _swatches(draw, sheet.palette)
    draw.line([(TEXT_LEFT - 8, TITLE_H + 4), (TEXT_LEFT - 8, HEIGHT - SLATE_H - 4)], fill=INK)
    return image, draw


def _swatches(draw: ImageDraw.ImageDraw, palette: tuple[str, ...]) -> None:
    """The palette as labelled swatches under the title (grey "no palette" without one)."""
    if not palette:
        draw.text((8, TITLE_H + 6), "no palette locked", fill=(120, 120, 120), font=_font(11))
        return
    for i, colour in enumerate(palette[:6]):  # three to a row
        left, top = 8 + (i % 3) * 84, TITLE_H + 6 + (i // 3) * 18
        draw.rectangle((left, top, left + 18, top + 14), fill=colour, outline=INK)
        draw.text((left + 22, top + 2), colour, fill=INK, font=_font(10))


def _text_panel(
    draw: ImageDraw.ImageDraw, sheet: Sheet, blocks: list[tuple[str, list[str]]]
) -> None:
    """Headed blocks of wrapped text down the right panel; what does not fit is marked."""
    y, bottom = TITLE_H + 8, HEIGHT - SLATE_H - LINE_H - 4
    lines: list[tuple[str, bool]] = []
    for heading, items in blocks:
        if heading:
            lines.append((heading, True))
        for item in items:
            wrapped = textwrap.wrap(" ".join(item.split()), TEXT_CHARS) or ["-"]
            lines += [(("- " if i == 0 else "  ") + text, False) for i, text in enumerate(wrapped)]
    for text, is_heading in lines:
        if y > bottom:
            draw.text((TEXT_LEFT, y), "(more in the lock)", fill=(150, 0, 0), font=_font(11))
            sheet.lines.append("(more in the lock)")
            return
        colour = (90, 20, 20) if is_heading else INK
        draw.text((TEXT_LEFT, y), text, fill=colour, font=_font(11))
        sheet.lines.append(text)
        y += LINE_H


def _room(draw: ImageDraw.ImageDraw, lock: SetLock) -> None:
    """The room as a box in the left panel, its anchors numbered inside, the key light's side."""
    left, top, right, bottom = 16, TITLE_H + 40, TEXT_LEFT - 24, HEIGHT - SLATE_H - 16
    draw.rectangle((left, top, right, bottom), outline=INK, width=2)
    inner = (left + 40, top + 30, right - 40, bottom - 40)
    draw.rectangle(inner, outline=INK, width=1)
    for corner, edge in (
        ((inner[0], inner[1]), (left, top)),
        ((inner[2], inner[1]), (right, top)),
        ((inner[0], inner[3]), (left, bottom)),
        ((inner[2], inner[3]), (right, bottom)),
    ):
        draw.line([corner, edge], fill=INK, width=1)
    anchors = lock.visual_anchors[:6]
    for i, anchor in enumerate(anchors):
        x = inner[0] + 8 + (i % 3) * ((inner[2] - inner[0] - 16) // 3)
        y = inner[1] + 10 + (i // 3) * 44
        draw.rectangle((x, y, x + 40, y + 28), fill=(255, 255, 255), outline=INK)
        draw.text((x + 4, y + 2), str(i + 1), fill=INK, font=_font(11))
        draw.text((x + 4, y + 14), _fit(anchor, 6), fill=INK, font=_font(9))
    side = light_direction(lock.lighting.primary_source)
    spot = {
        "left": (left + 10, (top + bottom) // 2),
        "right": (right - 10, (top + bottom) // 2),
        "above": ((left + right) // 2, top + 10),
        "behind": ((left + right) // 2, inner[1] + 6),
        "front": ((left + right) // 2, bottom - 10),
    }[side]
    glow = kelvin_to_rgb(lock.lighting.temperature_k)
    draw.ellipse((spot[0] - 9, spot[1] - 9, spot[0] + 9, spot[1] + 9), fill=glow, outline=INK)
    _label(draw, (left + right) // 2, inner[3] + 6, f"key light: {side}")


def _slate(draw: ImageDraw.ImageDraw, text: str) -> None:
    draw.rectangle((0, HEIGHT - SLATE_H, WIDTH - 1, HEIGHT - 1), fill=INK)
    draw.text((8, HEIGHT - SLATE_H + 5), text, fill=(255, 255, 255), font=_font(12))


def _png(image: Image.Image, mark: str) -> bytes:
    info = PngInfo()
    info.add_text(SHEET_MARK, mark)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=9, pnginfo=info)
    return out.getvalue()


# -- who made a sheet ------------------------------------------------------------------------------


def marked_png(data: bytes, mark: str, aspect: tuple[int, int] | None = None) -> bytes:
    """An image model's answer (PNG or JPEG) as the PNG a sheet or frame is stored as, marked
    with how it was made; ``aspect`` (width, height) centre-crops it to that shape first (a
    frame sent as the first image sets the clip's shape), never scaling it. Raises ValueError
    when the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except (OSError, SyntaxError) as exc:  # Pillow's "cannot identify image file"
        raise ValueError(f"not an image: {exc}") from None
    if aspect is not None:
        converted = converted.crop(_centre_box(converted.size, aspect))
    return _png(converted, mark)


def _centre_box(size: tuple[int, int], aspect: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred box of ``size`` with the shape of ``aspect``."""
    width, height = size
    want_w, want_h = aspect
    if width * want_h > height * want_w:  # too wide: trim the sides
        new_w = max(1, round(height * want_w / want_h))
        left = (width - new_w) // 2
        return (left, 0, left + new_w, height)
    new_h = max(1, round(width * want_h / want_w))
    top = (height - new_h) // 2
    return (0, top, width, top + new_h)


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an image; (0, 0) when the bytes are not one."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, SyntaxError):
        return (0, 0)


def sheet_mark(data: bytes) -> str:
    """How a stored sheet was made (``schematic CHAR_NELL_LOCK_v002``, ``image ...``); ''
    for a sheet a person drew, which carries no mark."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            text = getattr(image, "text", {})
            return str(text.get(SHEET_MARK, ""))
    except (OSError, SyntaxError):
        return ""


# -- the prompt for an image model ---------------------------------------------------------------


def char_sheet_prompt(lock: CharLock) -> tuple[str, str]:
    """(prompt, negative prompt) for a real character sheet, within SHEET_PROMPT_CHARS."""
    look, dress = lock.appearance, lock.wardrobe
    parts = [
        Part("Sheet", f"character reference sheet of {lock.name}", 100, "subject"),
        Part("Sheet", "full figure front view and a head-and-shoulders close-up", 99, "views"),
        Part("Sheet", "plain light grey background, even soft light", 60, "background"),
        *(
            Part("Identifiers", a, 90 - i, f"anchor {a!r}")
            for i, a in enumerate(lock.visual_anchors)
        ),
        Part("Look", f"age {look.age_range}", 80, "age"),
        Part("Look", look.build, 79, "build"),
        Part("Look", f"hair {look.hair}", 78, "hair"),
        Part("Look", f"eyes {look.eyes}", 77, "eyes"),
        *(Part("Look", m, 76, f"mark {m!r}") for m in look.distinguishing_marks),
        Part("Wearing", dress.default_outfit, 85, "outfit"),
        *(Part("Wearing", a, 50, f"accessory {a!r}") for a in dress.accessories),
    ]
    kept, _ = fit(parts, SHEET_PROMPT_CHARS)
    return render_parts(kept), ", ".join(negative_items_of(lock.forbidden_drift))


def set_sheet_prompt(lock: SetLock) -> tuple[str, str]:
    """(prompt, negative prompt) for a real set sheet, within SHEET_PROMPT_CHARS."""
    light, place = lock.lighting, lock.name.replace("_", " ").lower()
    parts = [
        Part("Sheet", f"set reference of the {place}, wide view, no people", 100, "subject"),
        Part("Layout", lock.layout.geometry, 90, "geometry"),
        Part("Layout", lock.layout.spatial_relations, 70, "spatial relations"),
        Part("Layout", lock.layout.windows, 60, "windows"),
        *(Part("Anchors", a, 88 - i, f"anchor {a!r}") for i, a in enumerate(lock.visual_anchors)),
        Part("Light", f"{light.primary_source}, {light.temperature_k}K", 80, "key light"),
        Part("Light", f"shadow {light.shadow}; contrast {light.contrast}", 50, "shadow"),
        Part("Time", f"{lock.environment.time_of_day}, {lock.environment.weather}", 75, "time"),
    ]
    kept, _ = fit(parts, SHEET_PROMPT_CHARS)
    return render_parts(kept), ", ".join(negative_items_of(lock.forbidden_drift))


__all__ = [
    "SCHEMATIC",
    "SHEET_MARK",
    "SHEET_PROMPT_CHARS",
    "Sheet",
    "char_sheet_prompt",
    "draw_char_sheet",
    "draw_set_sheet",
    "image_size",
    "marked_png",
    "set_sheet_prompt",
    "sheet_mark",
]
