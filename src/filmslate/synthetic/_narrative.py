"""The synthetic film's source material and narrative answers: PREMISE, STYLE lock, the
story, each scene's breakdown, character psychology and dialogue checks."""

from __future__ import annotations

import re

from ..core._episodes import episodes_in
from ..schemas import EpisodeBeats, Premise, SceneRow, StyleLock
from ..skills.narrative import (
    BeatStakes,
    BreakdownAnswer,
    CharacterJudgment,
    DialogueAnswer,
    PropOwner,
    PsychAnswer,
    SpeakerAnswer,
    StoryAnswer,
)
from ._shape import CLIP_PALETTE, STYLE_NAME, TIME_OF_DAY, TITLE, FilmShape, title


def premise(film: FilmShape) -> Premise:
    """The PREMISE this film grows from."""
    return Premise(
        title=TITLE,
        logline=(
            "When the harbour signal fails before the winter storm, the keepers of a small "
            "port work scene by scene to find the fault and light it again."
        ),
        genre="drama",
        tone="steady, practical, warm under pressure",
        length="feature" if film.scenes > 30 else "short",
        theme="a town is kept by the people who keep its lights",
        characters=film.cast,
    )


def style_lock(film: FilmShape) -> StyleLock:
    """The production's STYLE lock."""
    return StyleLock(
        name=STYLE_NAME,
        medium="live-action look, 35mm spherical photography",
        palette=[*CLIP_PALETTE, "#E8DCC8"],
        lens_film_look="35mm and 50mm primes, deep focus on rooms, fine film grain.",
        grading="Cool blue-grey shadows, natural skin, highlights held below white.",
        forbidden_drift=["neon signage", "cartoon or anime rendering"],
    )


def scene_row(film: FilmShape, index: int) -> SceneRow:
    """One row of SCENES: three sentences of summary and a concrete goal, conflict and
    outcome."""
    cast = film.scene_cast(index)
    lead, other = cast[0], cast[-1]
    place = film.location(index).replace("_", " ").lower()
    names = " and ".join(c.replace("_", " ").title() for c in cast)
    return SceneRow(
        scene_id=film.scene_id(index),
        summary=(
            f"{names} meet at the {place} at stage {index + 1} of the repair. They "
            "compare the signal readings of the last three nights. The plan for "
            "the lamp moves one step closer to the storm."
        ),
        goal=f"{title(lead)} wants {title(other)} to check the signal log at the {place}.",
        conflict=f"{title(other)} doubts the log and insists on a second reading.",
        outcome=f"{title(lead)} and {title(other)} agree on the next reading at the {place}.",
        location=film.location(index),
        time_of_day=TIME_OF_DAY,
        characters_present=cast,
    )


def story(film: FilmShape) -> StoryAnswer:
    """story-architect: six beats with rising stakes, and every scene."""
    return StoryAnswer(
        central_dramatic_question="Will the keepers relight the harbour signal before "
        "the winter storm?",
        inciting_incident="The harbour signal goes dark three nights before the winter "
        "storm is due.",
        escalation_sequence=[
            "The spare lamp in the store is cracked.",
            "The supply ferry is cancelled until after the storm.",
            "The tower's wiring fails its first test.",
        ],
        midpoint_shift="The keepers find that the fault is in the town's own cable, not "
        "the lamp, and must work from the quay instead of the tower.",
        crisis="With the storm at the harbour mouth, the only working cable runs through "
        "the flooded depot.",
        climax="The keepers relight the harbour signal an hour before the winter storm "
        "reaches the quay.",
        climax_answers="Yes: the signal burns again before the storm arrives.",
        resolution="The ferry comes home on the signal's light and the keepers hand the "
        "tower back to the town.",
        escalation=[
            BeatStakes(beat="inciting incident: the signal goes dark", level=3),
            BeatStakes(beat="the spare lamp is cracked", level=4),
            BeatStakes(beat="midpoint: the fault is in the town cable", level=6),
            BeatStakes(beat="crisis: the cable runs through the depot", level=8),
            BeatStakes(beat="climax: the signal burns again", level=9),
        ],
        midpoint_changes_trajectory=True,
        midpoint_explanation="Before it the keepers mend a lamp; after it they must "
        "repair the town's cable from the quay.",
        scenes=[scene_row(film, i) for i in range(film.scenes)],
        episode_beats=episode_beats(film),
    )


def episode_beats(film: FilmShape) -> list[EpisodeBeats]:
    """A series' own beats per episode (issue 16 §1), each its part of the season's arc:
    the first opens on the season's inciting incident, the last ends on its climax; none
    for a film."""
    episodes = episodes_in(film.scene_id(i) for i in range(film.scenes))
    return [_episode_beats(e, n, len(episodes)) for n, e in enumerate(episodes, start=1)]


def _episode_beats(episode: str, number: int, count: int) -> EpisodeBeats:
    first, last = number == 1, number == count
    return EpisodeBeats(
        episode=episode,
        inciting_incident="The harbour signal goes dark three nights before the winter storm."
        if first
        else f"The keepers take up the repair again in episode {number}, one fault further on.",
        escalation_sequence=[
            "The spare lamp in the store is cracked." if first else "The wiring fails a test.",
            "The storm forecast moves a day closer.",
        ],
        midpoint_shift=f"The keepers find that episode {number}'s fault lies outside the lamp.",
        crisis="The last spare part is lost with the storm at the harbour mouth.",
        climax="The keepers relight the harbour signal before the winter storm reaches the quay."
        if last
        else "The keepers hold the signal for one more night with a borrowed lamp.",
        resolution="The ferry comes home on the signal's light."
        if last
        else "The keepers end the episode with a plan for the next fault.",
    )


def breakdown(film: FilmShape, scene_id: str) -> BreakdownAnswer:
    """script-breakdown for one scene: the cast's props, their owners, what changes."""
    index = film.scene_index(scene_id)
    cast = film.scene_cast(index)
    place = film.location(index)
    return BreakdownAnswer(
        added_props=[film.prop_of(c) for c in cast],
        prop_owners=[PropOwner(prop=film.prop_of(c), owner=c) for c in cast],
        state_changes=[f"{c} comes to {place}" for c in cast],
        continuity_risks=[f"{film.prop_of(c)} stays with {c} in every scene" for c in cast],
    )


def psych(film: FilmShape, scene_id: str) -> PsychAnswer:
    """character-psychology: every character present, no drift."""
    index = film.scene_index(scene_id)
    return PsychAnswer(
        characters=[
            CharacterJudgment(
                character=c,
                motivation_alignment=f"{title(c)} wants the signal lit, as in every scene so far.",
                emotional_continuity=f"{title(c)} stays {film.mood(index, c)}, in line with the "
                "lock's dry good humour.",
                trauma_history_influence="Years on the harbour make the failing light personal.",
                arc_progression_status="Steady: one more step of the repair.",
                reaction_proportionate=True,
                arc_change_has_catalyst=True,
                drift_warning="NO",
            )
            for c in film.scene_cast(index)
        ]
    )


def dialogue(film: FilmShape, prompt: str) -> DialogueAnswer:
    """dialogue-consistency-check: every speaker of the dialogue section, distinct."""
    section = prompt.split("## Dialogue of", 1)[-1].split("\n## ", 1)[0]
    speakers = dict.fromkeys(
        m.group(1) for m in re.finditer(r"^- ([^:\n]+):", section, re.MULTILINE)
    )
    return DialogueAnswer(
        characters=[
            SpeakerAnswer(
                character=s,
                voice_assessment="Holds the locked voice.",
                vocabulary_consistency="Plain working words, as locked.",
                tone_alignment="Level and courteous.",
                emotional_authenticity="Fits the scene.",
                distinctiveness=4,
            )
            for s in speakers
        ]
    )
