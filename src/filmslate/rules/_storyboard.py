"""Schematic storyboard frames, drawn offline with Pillow from a shot row and its locks.

The frame is a planning sketch, not a picture: framing by camera type, the shot's characters
left to right in their wardrobe palettes and labelled, the set's visual anchors as labelled
boxes along the top edge, an arrow for the key light's direction, a tint for its colour
temperature, and a slate strip. ``draw_storyboard`` returns the PNG bytes together with a
``Frame`` record of what it drew, so the storyboard report is computed from the drawing itself.

Bytes are deterministic: no timestamps or metadata go into the PNG, and the same row and
locks always give the same image. A real image model plugs in as a ``FrameSource`` that takes
the same ``FramePlan`` and returns PNG bytes; the report is then still computed from the plan.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

from ..schemas import CharLock, SetLock, ShotRow

WIDTH, HEIGHT = 640, 360
SLATE_H = 24
ANCHOR_H = 22
NO_LOCK_GREY = "#808080"
INK = (20, 20, 20)
PAPER = (236, 236, 232)

# Framing by camera type: figure scale and how the frame reads.
FRAMINGS = {
    "close_up": "close-up: one large head-and-shoulders silhouette per character",
    "extreme_close_up": "extreme close-up: a face filling the frame",
    "medium": "medium: waist-up figures",
    "pov": "point of view: waist-up figures seen by the viewer",
    "two_shot": "two-shot: two waist-up figures side by side",
    "over_shoulder": "over-the-shoulder: a foreground shoulder, the subject facing camera",
    "wide": "wide: small full figures inside the set outline",
    "establishing": "establishing: small full figures inside the set outline",
    "tracking": "tracking: small full figures in the set, camera moving with them",
    "insert": "insert: a prop box filling the frame centre",
}


@dataclass(frozen=True)
class Figure:
    """One character as drawn: name, horizontal centre, palette used, whether it had a lock."""

    name: str
    x: int
    colours: tuple[str, ...]
    locked: bool
    foreground: bool = False


@dataclass(frozen=True)
class FramePlan:
    """Everything a frame is drawn from (also what an image model would be given)."""

    row: ShotRow
    set_lock: SetLock | None
    characters: tuple[tuple[str, CharLock | None], ...]
    version: str = ""


@dataclass
class Frame:
    """What was drawn: the facts the storyboard report is computed from."""

    framing: str
    figures: list[Figure] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)
    prop: str = ""
    light_from: str = "front"
    kelvin: int = 0
    tint: tuple[int, int, int] = (255, 255, 255)
    slate: str = ""
    size: tuple[int, int] = (WIDTH, HEIGHT)


class FrameSource(Protocol):
    """An image provider for real storyboard frames (the schematic drawing is the default)."""

    def render(self, plan: FramePlan) -> bytes:
        """PNG bytes of a proxy-resolution frame for the plan."""
        ...


def kelvin_to_rgb(kelvin: int) -> tuple[int, int, int]:
    """The RGB colour of a black body at ``kelvin`` (Tanner Helland's fit, 1000-40000 K)."""
    t = max(1000, min(40000, kelvin)) / 100.0
    if t <= 66:
        red = 255.0
        green = 99.4708025861 * math.log(t) - 161.1195681661
        blue = 0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307
    else:
        red = 329.698727446 * (t - 60) ** -0.1332047592
        green = 288.1221695283 * (t - 60) ** -0.0755148492
        blue = 255.0
    return (_clamp(red), _clamp(green), _clamp(blue))


def _clamp(value: float) -> int:
    return max(0, min(255, round(value)))


def light_direction(primary_source: str) -> str:
    """Where the key light comes from, read from the lock's primary-source wording."""
    text = primary_source.lower()
    for word, side in (
        ("left", "left"),
        ("right", "right"),
        ("overhead", "above"),
        ("above", "above"),
        ("ceiling", "above"),
        ("top", "above"),
        ("behind", "behind"),
        ("back", "behind"),
    ):
        if re.search(rf"\b{word}\b", text):
            return side
    return "front"


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``#1B2A41`` -> (27, 42, 65)."""
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def hex_of(rgb: tuple[int, int, int]) -> str:
    """(27, 42, 65) -> ``#1B2A41``."""
    return "#{:02X}{:02X}{:02X}".format(*rgb)


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_storyboard(plan: FramePlan) -> tuple[bytes, Frame]:
    """Draw the schematic frame; returns the PNG bytes and the record of what was drawn."""
    row = plan.row
    frame = Frame(framing=FRAMINGS.get(row.camera_type, row.camera_type))
    lighting = plan.set_lock.lighting if plan.set_lock else None
    frame.kelvin = lighting.temperature_k if lighting else 0
    frame.tint = kelvin_to_rgb(frame.kelvin) if lighting else PAPER
    frame.light_from = light_direction(lighting.primary_source) if lighting else "front"
    image = Image.new("RGB", (WIDTH, HEIGHT), _blend(PAPER, frame.tint, 0.35))
    draw = ImageDraw.Draw(image)
    _draw_set(draw, row.camera_type, plan.set_lock)
    _draw_subjects(draw, plan, frame)
    _draw_anchors(draw, plan.set_lock, frame)
    _draw_light(draw, frame)
    _draw_slate(draw, plan, frame)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue(), frame


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    return (
        round(a[0] + (b[0] - a[0]) * share),
        round(a[1] + (b[1] - a[1]) * share),
        round(a[2] + (b[2] - a[2]) * share),
    )


def _draw_set(draw: ImageDraw.ImageDraw, camera: str, set_lock: SetLock | None) -> None:
    """Wide framings show the room as a simple perspective box."""
    if camera not in ("wide", "establishing", "tracking"):
        return
    top, bottom = ANCHOR_H + 30, HEIGHT - SLATE_H - 10
    back = (200, top + 40, WIDTH - 200, bottom - 90)
    draw.rectangle(back, outline=INK, width=2)
    for corner, edge in (
        ((back[0], back[1]), (40, top)),
        ((back[2], back[1]), (WIDTH - 40, top)),
        ((back[0], back[3]), (40, bottom)),
        ((back[2], back[3]), (WIDTH - 40, bottom)),
    ):
        draw.line([corner, edge], fill=INK, width=1)
    name = set_lock.name if set_lock else "NO SET LOCK"
    draw.text((back[0] + 6, back[1] + 4), name, fill=INK, font=_font(11))


def _slots(count: int, left: int = 0, right: int = WIDTH) -> list[int]:
    """Horizontal centres for ``count`` figures, evenly spaced left to right."""
    span = (right - left) / max(count, 1)
    return [round(left + span * (i + 0.5)) for i in range(count)]


def _draw_subjects(draw: ImageDraw.ImageDraw, plan: FramePlan, frame: Frame) -> None:
    camera = plan.row.camera_type
    people = list(plan.characters)
    if camera == "insert":
        _draw_prop(draw, plan, frame)
        return
    if camera == "over_shoulder" and len(people) >= 2:
        name, lock = people[0]
        _shoulder(draw, name, lock, frame)
        people = people[1:]
        xs = _slots(len(people), WIDTH // 3, WIDTH)
    else:
        xs = _slots(len(people))
    scale = {
        "close_up": 3.0,
        "extreme_close_up": 4.0,
        "wide": 0.6,
        "establishing": 0.5,
        "tracking": 0.6,
    }.get(camera, 1.6)
    for x, (name, lock) in zip(xs, people, strict=True):
        _figure(draw, x, scale, name, lock, frame, full_body=scale < 1)
    if camera == "tracking":
        y = HEIGHT - SLATE_H - 18
        draw.line([(WIDTH // 2 - 60, y), (WIDTH // 2 + 60, y)], fill=INK, width=2)
        draw.polygon(
            [(WIDTH // 2 + 60, y - 6), (WIDTH // 2 + 72, y), (WIDTH // 2 + 60, y + 6)], fill=INK
        )


def _palette(lock: CharLock | None) -> tuple[str, ...]:
    if lock is None or not lock.wardrobe.palette:
        return (NO_LOCK_GREY,)
    return tuple(lock.wardrobe.palette)


def _figure(
    draw: ImageDraw.ImageDraw,
    x: int,
    scale: float,
    name: str,
    lock: CharLock | None,
    frame: Frame,
    full_body: bool,
) -> None:
    """Head and torso (full body in wide framings), filled with the wardrobe palette."""
    colours = _palette(lock)
    floor = HEIGHT - SLATE_H - (14 if full_body else 0)
    head = round(18 * scale)
    torso_h = round(70 * scale) if full_body else round(64 * scale)
    torso_top = floor - torso_h - (round(60 * scale) if full_body else 0)
    head_top = torso_top - 2 * head - 2
    draw.ellipse(
        (x - head, head_top, x + head, head_top + 2 * head),
        fill=_skin(colours),
        outline=INK,
        width=2,
    )
    width = round(34 * scale)
    draw.rounded_rectangle(
        (x - width, torso_top, x + width, torso_top + torso_h),
        radius=max(2, round(8 * scale)),
        fill=colours[0],
        outline=INK,
        width=2,
    )
    if len(colours) > 1:  # the second palette colour as a collar / accent band
        band = max(3, round(6 * scale))
        draw.rectangle(
            (x - width + 2, torso_top + 2, x + width - 2, torso_top + 2 + band), fill=colours[1]
        )
    if full_body:
        legs = round(60 * scale)
        for dx in (-width // 2, width // 2):
            draw.line(
                [(x + dx, torso_top + torso_h), (x + dx, torso_top + torso_h + legs)],
                fill=INK,
                width=max(2, round(6 * scale)),
            )
    _label(draw, x, max(ANCHOR_H + 4, head_top - 16), name if lock else f"{name} (NO LOCK)")
    frame.figures.append(Figure(name, x, colours, lock is not None))


def _skin(colours: tuple[str, ...]) -> tuple[int, int, int]:
    # A neutral head tone lightened from the outfit colour keeps figures distinct in grey.
    return _blend(hex_rgb(colours[0]), (245, 245, 245), 0.7)


def _shoulder(draw: ImageDraw.ImageDraw, name: str, lock: CharLock | None, frame: Frame) -> None:
    """The foreground shoulder of an over-the-shoulder shot, lower left, seen from behind."""
    colours = _palette(lock)
    bottom = HEIGHT - SLATE_H
    draw.pieslice(
        (-120, bottom - 200, 260, bottom + 200), 180, 360, fill=colours[0], outline=INK, width=2
    )
    draw.ellipse(
        (20, bottom - 250, 140, bottom - 130),
        fill=_blend(hex_rgb(colours[0]), INK, 0.5),
        outline=INK,
    )
    _label(draw, 80, bottom - 40, f"{name} (back)" if lock else f"{name} (NO LOCK)")
    frame.figures.append(Figure(name, 80, colours, lock is not None, foreground=True))


def _draw_prop(draw: ImageDraw.ImageDraw, plan: FramePlan, frame: Frame) -> None:
    anchors = plan.set_lock.prop_anchors if plan.set_lock else []
    frame.prop = anchors[0] if anchors else "insert subject"
    box = (WIDTH // 2 - 120, HEIGHT // 2 - 70, WIDTH // 2 + 120, HEIGHT // 2 + 60)
    draw.rectangle(box, fill=(250, 250, 250), outline=INK, width=3)
    _label(draw, WIDTH // 2, HEIGHT // 2 - 8, _fit(frame.prop, 36))
    for name, lock in plan.characters:  # hands in an insert still carry their palette
        frame.figures.append(Figure(name, WIDTH // 2, _palette(lock), lock is not None))


def _draw_anchors(draw: ImageDraw.ImageDraw, set_lock: SetLock | None, frame: Frame) -> None:
    """The set's visual anchors as labelled boxes along the top edge."""
    anchors = list(set_lock.visual_anchors) if set_lock else []
    if not anchors:
        draw.rectangle((0, 0, WIDTH - 1, ANCHOR_H), fill=(255, 255, 255), outline=INK)
        draw.text((6, 5), "NO SET ANCHORS", fill=(180, 0, 0), font=_font(11))
        return
    width = WIDTH / len(anchors)
    for i, anchor in enumerate(anchors):
        left = round(i * width)
        right = round((i + 1) * width) - 1
        draw.rectangle((left, 0, right, ANCHOR_H), fill=(255, 255, 255), outline=INK)
        draw.text((left + 4, 5), _fit(anchor, max(4, int(width / 6.5))), fill=INK, font=_font(11))
        frame.anchors.append(anchor)


def _draw_light(draw: ImageDraw.ImageDraw, frame: Frame) -> None:
    """A key-light arrow pointing into the frame from its side, and a temperature swatch."""
    cx, cy = WIDTH - 70, ANCHOR_H + 40
    start, end = {
        "left": ((cx - 40, cy), (cx + 10, cy)),
        "right": ((cx + 40, cy), (cx - 10, cy)),
        "above": ((cx, cy - 18), (cx, cy + 22)),
        "behind": ((cx + 30, cy - 14), (cx - 10, cy + 10)),
        "front": ((cx - 30, cy + 14), (cx + 10, cy - 10)),
    }[frame.light_from]
    draw.line([start, end], fill=INK, width=3)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    tip = [
        end,
        (round(end[0] - 10 * math.cos(angle - 0.5)), round(end[1] - 10 * math.sin(angle - 0.5))),
        (round(end[0] - 10 * math.cos(angle + 0.5)), round(end[1] - 10 * math.sin(angle + 0.5))),
    ]
    draw.polygon(tip, fill=INK)
    draw.rectangle((cx + 22, cy + 14, cx + 58, cy + 30), fill=frame.tint, outline=INK)
    label = f"{frame.kelvin}K" if frame.kelvin else "no light"
    draw.text((cx - 40, cy + 16), label, fill=INK, font=_font(11))


def _draw_slate(draw: ImageDraw.ImageDraw, plan: FramePlan, frame: Frame) -> None:
    row = plan.row
    frame.slate = " | ".join(
        part
        for part in (
            row.scene_id,
            row.shot_id,
            plan.version,
            f"{row.duration_s:g}s",
            row.camera_type,
            f"hero {row.hero_tier}",
        )
        if part
    )
    draw.rectangle((0, HEIGHT - SLATE_H, WIDTH - 1, HEIGHT - 1), fill=INK)
    draw.text((8, HEIGHT - SLATE_H + 5), frame.slate, fill=(255, 255, 255), font=_font(12))


def _label(draw: ImageDraw.ImageDraw, x: int, y: int, text: str) -> None:
    font = _font(12)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    w = right - left
    draw.rectangle(
        (x - w // 2 - 3, y - 1, x + w // 2 + 3, y + bottom - top + 3),
        fill=(255, 255, 255),
        outline=INK,
    )
    draw.text((x - w // 2, y - top + 1), text, fill=INK, font=font)


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 3)] + "..."
