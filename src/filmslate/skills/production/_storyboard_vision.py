"""storyboard-generator's gate looks (issue 13 §7): with a vision model on the vision tier, the
frame goes to it beside the shot's character and set sheets (``_qc_vision``'s attachments), with
a list of items to check: the composition, each character present, the set lock's anchors
visible. The model answers item by item (seen or not, and what it sees instead); the verdict
is computed here: a missing character or anchor, or the wrong composition, is a FAIL whose
reason names the item, and the storyboard loop redraws with those reasons (an image model is
then asked to show those items clearly, with a new seed).

Which anchors a frame must show depends on its framing: every anchor in a frame that shows
the set (wide, establishing, tracking), at least one in a mid framing, none in a close one or
an insert. An insert need not show its characters (a hand with the prop is enough).

Without a vision model on the vision tier (the offline default, ``replay`` and ``handoff``
included: nothing is sent that nobody looks at) the gate is the code's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from ...engine._attachments import Attachment, takes_images
from ...engine._skill import Context
from ...schemas import CharLock, SetLock, ShotRow
from .._prompts import system_prompt
from ._qc_vision import attached_list, sheet_attachments
from ._shared import PACKAGE

PROMPT_NAME = "storyboard-generator"
CHECK_PARAM = "frame_check"  # ctx.params: (items, answer) from produce to the gate
SET_FRAMINGS = frozenset({"wide", "establishing", "tracking"})  # every anchor in view
CLOSE_FRAMINGS = frozenset({"close_up", "extreme_close_up", "insert"})  # no anchor needed
Group = Literal["composition", "character", "anchor"]


@dataclass(frozen=True)
class Item:
    """One thing the frame must show: its group, its subject and the text the model answers."""

    group: Group
    subject: str

    @property
    def label(self) -> str:
        """``character: NELL``: listed in the prompt, copied into the answer."""
        return f"{self.group}: {self.subject}"


class ItemAnswer(BaseModel):
    """The model's answer about one listed item."""

    item: str = Field(description='the item exactly as listed, e.g. "character: NELL"')
    seen: bool = Field(description="true only when the frame clearly shows it")
    note: str = Field("", description="one line: what the frame shows instead, or where")


class FrameAnswer(BaseModel):
    """The vision model's item-by-item look at one storyboard frame."""

    items: list[ItemAnswer] = Field(description="one answer per listed item, in list order")
    notes: str = Field("", description="one line: anything else that contradicts the locks")


def sees(ctx: Context) -> bool:
    """True when the vision tier's model takes images (a vendor's vision model, or one the
    project lists in ``[providers] vision_models``)."""
    return takes_images(ctx.config.tiers.vision, ctx.config.providers.vision_models)


def frame_items(row: ShotRow, set_lock: SetLock | None) -> list[Item]:
    """What the frame must show: the planned composition, the cast, the set's anchors."""
    framing = row.camera_type.replace("_", " ")
    cast = f"{' and '.join(row.char_ids)}, no one else in frame" if row.char_ids else "nobody"
    if row.camera_type == "insert":  # what the schematic draws too: the set's first prop
        props = set_lock.prop_anchors if set_lock is not None else []
        cast = f"{props[0] if props else 'the insert subject'} filling the frame"
    items = [Item("composition", f"{framing} framing, {cast}")]
    items += [Item("character", cid) for cid in row.char_ids]
    if set_lock is not None and row.camera_type not in CLOSE_FRAMINGS:
        items += [Item("anchor", anchor) for anchor in set_lock.visual_anchors]
    return items


def look(
    ctx: Context,
    row: ShotRow,
    frame: bytes,
    set_lock: SetLock | None,
    characters: list[tuple[str, CharLock | None]],
) -> tuple[list[Item], FrameAnswer]:
    """Ask the vision tier about the frame (the frame, then the sheets) item by item."""
    items = frame_items(row, set_lock)
    images = (
        Attachment(f"storyboard frame {row.shot_id}", frame, "image/png"),
        *sheet_attachments(ctx, row),
    )
    answer = ctx.ask(
        FrameAnswer,
        system_prompt(PACKAGE, PROMPT_NAME),
        frame_prompt(row, set_lock, characters, items) + attached_list(images),
        images=images,
    )
    ctx.params[CHECK_PARAM] = (items, answer)
    return items, answer


def frame_prompt(
    row: ShotRow,
    set_lock: SetLock | None,
    characters: list[tuple[str, CharLock | None]],
    items: list[Item],
) -> str:
    """The shot, what its locks say each item looks like, and the items to answer."""
    looks = [
        f"- {cid}: {lock.wardrobe.default_outfit}; {'; '.join(lock.visual_anchors)}"
        for cid, lock in characters
        if lock is not None
    ]
    where = "no SET lock"
    if set_lock is not None:
        light = set_lock.lighting
        where = (
            f"{set_lock.name}: {set_lock.layout.geometry}; anchors "
            f"{'; '.join(set_lock.visual_anchors)}; light {light.primary_source}, "
            f"{light.temperature_k} K"
        )
    listed = "\n".join(f"- {item.label}" for item in items)
    return (
        f"Storyboard frame of shot {row.shot_id}: {row.camera_type}, hero {row.hero_tier}.\n"
        f"Blocking: {row.blocking_summary}\n"
        f"Characters as locked:\n{chr(10).join(looks) or '- none'}\n"
        f"Set as locked: {where}\n\n"
        f"Answer every item, copying its text exactly:\n{listed}\n\n"
    )


def frame_failures(shot_id: str, camera: str, items: list[Item], answer: FrameAnswer) -> list[str]:
    """The verdict in code: every composition and character item seen (an insert's characters
    excepted), and the anchors its framing needs; an item left unanswered is not seen."""
    said = {" ".join(a.item.split()).casefold(): a for a in answer.items}
    seen: dict[Item, ItemAnswer | None] = {i: said.get(i.label.casefold()) for i in items}
    failures = []
    for item, got in seen.items():
        if item.group == "anchor" or (item.group == "character" and camera == "insert"):
            continue
        if got is None or not got.seen:
            failures.append(_missing(shot_id, item, got))
    anchors = {i: got for i, got in seen.items() if i.group == "anchor"}
    missed = [i for i, got in anchors.items() if got is None or not got.seen]
    if camera in SET_FRAMINGS:
        failures += [_missing(shot_id, item, anchors[item]) for item in missed]
    elif anchors and len(missed) == len(anchors):
        names = ", ".join(item.label for item in missed)
        failures.append(f"{shot_id}: storyboard frame shows no anchor of the set ({names})")
    return failures


def _missing(shot_id: str, item: Item, got: ItemAnswer | None) -> str:
    why = "the vision tier did not answer it" if got is None else (got.note or "not seen")
    return f"{shot_id}: storyboard frame lacks {item.label} ({why})"


def redraw_prompt(items: list[Item], feedback: tuple[str, ...]) -> str:
    """What a redraw adds to an image model's prompt: the items an earlier look found missing
    (named in the gate's reasons), the composition first ('' when none was)."""
    missing = [item for item in items if any(item.label in reason for reason in feedback)]
    framing = [f" Composition: {i.subject}." for i in missing if i.group == "composition"]
    shown = [i.subject for i in missing if i.group != "composition"]
    return "".join(framing) + (f" Clearly visible: {', '.join(shown)}." if shown else "")


def answer_lines(items: list[Item], answer: FrameAnswer) -> str:
    """The report's record of the look: each item, seen or not, with the model's note."""
    said = {" ".join(a.item.split()).casefold(): a for a in answer.items}
    lines = []
    for item in items:
        got = said.get(item.label.casefold())
        state = "no answer" if got is None else ("seen" if got.seen else "NOT seen")
        note = f" ({got.note})" if got is not None and got.note else ""
        lines.append(f"- {item.label}: {state}{note}")
    if answer.notes:
        lines.append(f"- notes: {answer.notes}")
    return "vision tier, item by item:\n" + "\n".join(lines)


__all__ = [
    "CHECK_PARAM",
    "FrameAnswer",
    "Item",
    "ItemAnswer",
    "answer_lines",
    "frame_failures",
    "frame_items",
    "frame_prompt",
    "look",
    "redraw_prompt",
    "sees",
]
