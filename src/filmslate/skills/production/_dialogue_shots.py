"""dialogue-shots (issue 15): which dialogue lines of a scene fall in which shot.

Code, zero cost, deterministic. The scene's lines come from its Fountain slice
(``SCRIPT_<SCENE>``: every speech, its cue's extension such as V.O., its parentheticals), or,
when the scene has no script, from the SCENES summary: a quotation right after a present
character's name and a speech verb (``Nell whispers "Go."``) is that character's line.

The rule that places them, line by line in scene order, with the shots in shot-list order:

1. a line may go to the shot it follows or a later one, never an earlier one (in order);
2. its candidates are the shots that show its speaker with a face to speak (not an insert or
   an establishing shot); failing that, any shot that shows the speaker; failing that (a
   voice over, a speaker no shot shows), any shot with a character in it, then any shot. A
   V.O., O.S. or O.C. line has every shot as a candidate: the voice is heard, not seen;
3. of those candidates, the first whose time left holds the line takes it; when none does,
   the first of them (the next shot to show the speaker: shot-planner lengthens it to hold
   the line); with no candidate at or after the current shot, the line stays in the current
   shot. A shot holds what its AUDIO lays out (``_dialogue_timing``:
   a lead-in, the lines a gap apart, a tail); a line lasts what its speaker's voice lock
   says it will (syllables at the lock's cadence), or its measured cue in the scene's AUDIO
   when longer.

shot-planner sizes each shot to the lines this rule gives it (:func:`sized_durations`), so
the rule run again on the sized shots places every line where it was sized for.

A person may reassign lines by hand: ``slate add DIALOGUE_S01.csv``. While that version is the
latest and passes, the skill keeps it; its gate judges it like its own.

The gate, in code: every line of the scene lands in exactly one shot of the current shot list,
with the script's speaker and words, and the shots follow the lines' order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar

from ...core._errors import UserError
from ...core._gate import Gate
from ...core._names import lock_subject
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...engine._speech import wav_cues
from ...rules._fountain import canonical_id, parse_fountain
from ...schemas import (
    Artifact,
    DialogueRow,
    DialogueShots,
    SceneRow,
    ScriptScene,
    ShotRow,
    VoiceLock,
)
from ._dialogue_timing import GAP_S, LEAD_IN_S, TAIL_S, LineClock, round_up, shot_need
from ._voices import voice_settings

__all__ = [
    "OFF_SCREEN",
    "DialogueAssigner",
    "SpokenLine",
    "assign_lines",
    "dialogue_failures",
    "line_clock",
    "scene_lines",
    "shot_needs",
    "sized_durations",
    "spoken_seconds",
]

OFF_SCREEN = ("V.O.", "O.S.", "O.C.")
NO_FACE = ("insert", "establishing")  # shots where nobody is seen speaking
SPEECH_VERBS = (
    "says|said|asks|asked|whispers|whispered|shouts|shouted|tells|told|replies|replied|"
    "answers|answered|calls|called|cries|cried|mutters|muttered|pleads|pleaded|begs|begged|"
    "yells|yelled|snaps|snapped|murmurs|murmured"
)
_QUOTE = re.compile(r"[\"“]([^\"”]+)[\"”]")


@dataclass(frozen=True)
class SpokenLine:
    """One line of the scene, in order (``order`` counts from 1)."""

    order: int
    character: str
    text: str
    parenthetical: str = ""
    extension: str = ""
    source_line: int = 0

    @property
    def off_screen(self) -> bool:
        """The cue puts the voice off screen (V.O., O.S., O.C.)."""
        return any(mark in self.extension for mark in OFF_SCREEN)


# -- the scene's lines ------------------------------------------------------------------------


def scene_lines(script: ScriptScene | None, scene: SceneRow) -> list[SpokenLine]:
    """The scene's spoken lines in order: from its script, else from its summary."""
    if script is None:
        return _summary_lines(scene)
    play = parse_fountain(script.text, source=f"SCRIPT_{script.scene_id}")
    raw = script.text.replace("\r\n", "\n").split("\n")
    out: list[SpokenLine] = []
    for parsed in play.scenes:
        for line in parsed.dialogue:
            out.append(
                SpokenLine(
                    order=len(out) + 1,
                    character=canonical_id(line.speaker),
                    text=line.text,
                    parenthetical=_parentheticals(raw, line.line),
                    extension=line.extension or "",
                    source_line=line.line,
                )
            )
    return out


def _parentheticals(raw: list[str], cue_line: int) -> str:
    """The ``(wryly)`` lines of the speech under the cue on line ``cue_line`` (1-based)."""
    found: list[str] = []
    in_paren = False
    for text in (t.strip() for t in raw[cue_line:]):
        if not text:
            break
        if text.startswith("(") or in_paren:
            found.append(text)
            in_paren = not text.endswith(")")
    return " ".join(found)


def _summary_lines(scene: SceneRow) -> list[SpokenLine]:
    """Quotations the summary gives a present character (``NICO pleads "Please."``)."""
    names = {lock_subject(n): n.replace("_", " ") for n in scene.characters_present if n.strip()}
    if not names:
        return []
    who = "|".join(re.escape(n) for n in sorted(names.values(), key=len, reverse=True))
    pattern = re.compile(rf"\b({who})\b[^\"“.!?]*?\b(?:{SPEECH_VERBS})\b[^\"“]*?$", re.IGNORECASE)
    out: list[SpokenLine] = []
    for quote in _QUOTE.finditer(scene.summary):
        before = scene.summary[: quote.start()]
        speaker = pattern.search(before)
        if speaker is not None:
            text = " ".join(quote.group(1).split())
            out.append(SpokenLine(len(out) + 1, lock_subject(speaker.group(1)), text))
    return out


# -- the assignment -----------------------------------------------------------------------------


def spoken_seconds(line: SpokenLine, clock: LineClock | None = None) -> float:
    """How long a line takes to say (``clock``'s voices and measured cues; the default voice
    without)."""
    return (clock or LineClock()).seconds(line.order, line.character, line.text)


def line_clock(ctx: Context) -> LineClock:
    """The clock of the target scene's lines: its speakers' voice locks (``VOICE_LOCK``) and
    the cues of its shots' AUDIO, among the run's inputs."""
    locks: dict[str, VoiceLock] = ctx.inputs.all("VOICE_LOCK")
    measured: dict[tuple[int, str], float] = {}
    for data in ctx.inputs.all("AUDIO").values():
        for cue in wav_cues(data):
            key = (cue.line, cue.character)
            measured[key] = max(measured.get(key, 0.0), cue.end_s - cue.start_s)
    return LineClock({c: voice_settings(lock) for c, lock in locks.items()}, measured)


def _candidates(line: SpokenLine, shots: list[ShotRow]) -> list[int]:
    """The shot indexes a line may go to, by the rule of the module docs (step 2)."""
    every = list(range(len(shots)))
    if line.off_screen:
        return every
    showing = [i for i in every if line.character in shots[i].char_ids]
    faces = [i for i in showing if shots[i].camera_type not in NO_FACE]
    peopled = [i for i in every if shots[i].char_ids]
    return faces or showing or peopled or every


def assign_lines(
    lines: list[SpokenLine], shots: list[ShotRow], clock: LineClock | None = None
) -> list[DialogueRow]:
    """Each line placed in one shot, in order (the rule of the module docs)."""
    if not shots:
        return []
    # a shot holds a lead-in, its lines a gap apart and a tail: each line costs its length
    # and a gap, and the last line's gap is part of the room
    left = [s.duration_s - LEAD_IN_S - TAIL_S + GAP_S for s in shots]
    current = 0
    rows: list[DialogueRow] = []
    for line in lines:
        need = spoken_seconds(line, clock) + GAP_S
        ahead = [i for i in _candidates(line, shots) if i >= current]
        if ahead:
            fits = [i for i in ahead if left[i] >= need - 1e-6]
            current = fits[0] if fits else ahead[0]
        left[current] -= need
        rows.append(_row(line, shots[current]))
    return rows


def sized_durations(
    lines: list[SpokenLine], shots: list[ShotRow], caps: list[float], clock: LineClock
) -> list[float]:
    """Each shot's duration lengthened to hold the lines the rule gives it (never past its
    cap, never shortened), until placing the lines again on the lengthened shots changes
    nothing: then dialogue-shots, placing them on these durations, finds the same shots."""
    durations = [s.duration_s for s in shots]
    for _ in range(4 * len(shots) + 4):  # durations only grow, a half second at a time
        rows = assign_lines(lines, _lasting(shots, durations), clock)
        needs = shot_needs(rows, lines, shots, clock)
        grown = [
            min(cap, max(d, round_up(need)))
            for d, need, cap in zip(durations, needs, caps, strict=True)
        ]
        if grown == durations:
            break
        durations = grown
    return durations


def shot_needs(
    rows: list[DialogueRow], lines: list[SpokenLine], shots: list[ShotRow], clock: LineClock | None
) -> list[float]:
    """How long each shot must last to hold the lines ``rows`` put in it."""
    by_order = {line.order: line for line in lines}
    out = []
    for shot in shots:
        mine = [by_order[r.line_order] for r in rows if r.shot_id == shot.shot_id]
        out.append(shot_need(spoken_seconds(line, clock) for line in mine))
    return out


def _lasting(shots: list[ShotRow], durations: list[float]) -> list[ShotRow]:
    return [
        s if s.duration_s == d else s.model_copy(update={"duration_s": d})
        for s, d in zip(shots, durations, strict=True)
    ]


def _row(line: SpokenLine, shot: ShotRow) -> DialogueRow:
    seen = not line.off_screen and line.character in shot.char_ids
    return DialogueRow(
        shot_id=shot.shot_id,
        line_order=line.order,
        character=line.character,
        text=line.text,
        parenthetical=line.parenthetical,
        extension=line.extension,
        on_screen="yes" if seen else "no",
        source_line=line.source_line,
    )


# -- the gate -----------------------------------------------------------------------------------


def dialogue_failures(
    table: DialogueShots, lines: list[SpokenLine], shots: list[ShotRow]
) -> list[str]:
    """Every way the table breaks "each line in exactly one shot, in order"."""
    ids = [s.shot_id for s in shots]
    listed = f"{ids[0]}..{ids[-1]}" if ids else "none"
    expected = {line.order: line for line in lines}
    out: list[str] = []
    placed: dict[int, list[str]] = {}
    for row in table.rows:
        placed.setdefault(row.line_order, []).append(row.shot_id)
        line = expected.get(row.line_order)
        if line is None:
            out.append(
                f"line {row.line_order} ({row.character}: {_short(row.text)}) is not a line of "
                f"the scene, which has {len(lines)}: remove it"
            )
        elif (row.character, _words(row.text)) != (line.character, _words(line.text)):
            out.append(
                f"line {row.line_order} reads {row.character}: {_short(row.text)}, but the "
                f"scene's line {line.order} is {line.character}: {_short(line.text)}: copy it "
                "as written"
            )
        if row.shot_id not in ids:
            out.append(
                f"line {row.line_order} is in {row.shot_id}, which is not in the shot list "
                f"({listed}): move it to a planned shot"
            )
    for line in lines:
        where = placed.get(line.order, [])
        if not where:
            out.append(
                f"line {line.order} ({line.character}: {_short(line.text)}) is in no shot: "
                "add it to the shot where it is spoken"
            )
        elif len(where) > 1:
            out.append(
                f"line {line.order} ({line.character}: {_short(line.text)}) is in "
                f"{len(where)} rows ({', '.join(where)}): keep it in exactly one shot"
            )
    return out + _order_failures(table, ids)


def _order_failures(table: DialogueShots, ids: list[str]) -> list[str]:
    """A later line in an earlier shot than the line before it."""
    rows = sorted((r for r in table.rows if r.shot_id in ids), key=lambda r: r.line_order)
    out = []
    for before, after in pairwise(rows):
        if ids.index(after.shot_id) < ids.index(before.shot_id):
            out.append(
                f"line {after.line_order} is in {after.shot_id}, before line "
                f"{before.line_order}'s {before.shot_id}: lines keep the scene's order, so a "
                "later line cannot be in an earlier shot"
            )
    return out


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# -- the skill ----------------------------------------------------------------------------------


class DialogueAssigner(Skill):
    """Places every dialogue line of a scene in one of its shots, in order, by a fixed rule.

    The lines come from the scene's SCRIPT slice (speaker, words, parentheticals, the cue's
    extension such as V.O.), or, without a script, from SCENES: a quotation right after a
    present character's name and a speech verb (``Nell whispers "Go."``). Line by line, in
    order: a line goes to its current shot or a later one, never an earlier one; its
    candidates are the shots showing its speaker with a face to speak (not an insert or an
    establishing shot), else any shot showing the speaker, else any shot with a character
    (V.O., O.S. and O.C. lines: every shot); the first candidate with time left for the line
    takes it, else the first of them (shot-planner lengthens it). A shot holds its AUDIO's
    layout (0.3 s lead-in, the lines 0.25 s apart, 0.2 s tail); a line lasts its syllables at
    its speaker's voice-lock cadence, or its measured cue in the scene's AUDIO when longer.
    shot-planner sized the shots by this same rule, so each line lands where there is time to
    say it.

    A person's reassignment (``slate add DIALOGUE_S03.csv``) is kept while it is the latest
    version and passes. The table (``DIALOGUE_<SCENE>_v###.csv``): ``shot_id``,
    ``line_order``, ``character``, ``text``, ``parenthetical``, ``extension``, ``on_screen``
    (``no`` for an off-screen voice or a speaker the shot does not show), ``source_line``.
    """

    name: ClassVar[str] = "dialogue-shots"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "production"
    # SCENES is read for a scene without a script; a new SCENES version reaches the table
    # through the shot list it re-plans, so SCENES itself does not make the table stale.
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES", lineage=False),
        Need("SCRIPT", "scene", optional=True),
        Need("SHOTLIST", "scene"),
        # the table there is now: a person's reassignment (slate add) is kept while it passes
        Need("DIALOGUE", "scene", optional=True, lineage=False, history=True),
        # how long each line takes, as shot-planner read it when it sized the shots: a new
        # voice or take reaches the table only through the shot list it re-sizes
        Need("VOICE_LOCK", "cast", optional=True, lineage=False),
        Need("AUDIO", "within", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("DIALOGUE",)
    target_scope: ClassVar[Any] = "scene"
    uses_model: ClassVar[bool] = False
    wants_existing: ClassVar[bool] = True
    revise_on_fail: ClassVar[bool] = False  # the same inputs give the same table
    summary: ClassVar[str] = (
        "after shot-planner: which dialogue line falls in which shot, every line in exactly "
        "one shot, in order"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The latest table when it is fresh and passed (a person's), else a new one."""
        kept = self._kept(ctx)
        if kept is not None:
            return [kept]
        lines = scene_lines(ctx.inputs.get("SCRIPT"), _scene(ctx))
        rows = assign_lines(lines, ctx.inputs.get("SHOTLIST").rows, line_clock(ctx))
        return [DialogueShots(rows=rows)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on a line in no shot, in two, changed, in an unplanned shot, or out of order."""
        table = outputs[0]
        assert isinstance(table, DialogueShots)
        lines = scene_lines(ctx.inputs.get("SCRIPT"), _scene(ctx))
        return Gate.from_failures(dialogue_failures(table, lines, ctx.inputs.get("SHOTLIST").rows))

    def _kept(self, ctx: Context) -> DialogueShots | None:
        existing: dict[str, dict[str, str]] = ctx.params.get("existing", {})
        if existing.get("DIALOGUE", {}).get(ctx.scene_id) != "PASS":
            return None  # none yet, stale (a new script or shot list) or failed: make anew
        current = ctx.inputs.get("DIALOGUE")
        return current if isinstance(current, DialogueShots) else None


def _scene(ctx: Context) -> SceneRow:
    rows = ctx.inputs.get("SCENES").rows
    found: SceneRow | None = next((r for r in rows if r.scene_id == ctx.scene_id), None)
    if found is None:
        raise UserError(
            f"{ctx.scene_id} is not in the latest SCENES: add it before placing its dialogue",
            target=ctx.target,
        )
    return found


REGISTRY.register(DialogueAssigner)
