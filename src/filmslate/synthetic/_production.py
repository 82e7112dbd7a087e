"""The synthetic film's production answers: each scene's shot list (hero tiers within the
premium quota, clip limits kept) and the QC rubric, failing where ``qc_failures`` says."""

from __future__ import annotations

from ..schemas import ShotList, ShotRow
from ..skills.production import RubricAnswer
from ._shape import FilmShape, title

_CAMERAS = ("wide", "two_shot", "close_up", "medium")


def shot_rows(film: FilmShape, index: int) -> list[ShotRow]:
    """The planned shots of a scene (see :func:`shot_row`)."""
    heroes = film.shots_per_scene // 4  # the premium visual quota: 25% of a scene
    rows = []
    for shot in range(film.shots_per_scene):
        row = shot_row(film, index, shot, hero_a=heroes > 0 and _CAMERAS[shot % 4] == "close_up")
        heroes -= row.hero_tier == "A"
        rows.append(row)
    return rows


def shot_row(film: FilmShape, index: int, shot: int, hero_a: bool = False) -> ShotRow:
    """One shot: wide coverage (C), a two-shot (B), a close-up (A or B) or a single (B),
    in turn; one or two characters at most, short durations, hero A never wide."""
    cast = film.scene_cast(index)
    camera = _CAMERAS[shot % 4]
    place = film.location(index)
    one = cast[(shot // 4) % len(cast)]
    chars = {"wide": [], "two_shot": cast, "close_up": [one], "medium": [cast[-1]]}[camera]
    hero = "C" if camera == "wide" else "A" if hero_a else "B"
    words = place.replace("_", " ").lower()
    blocking = {
        "wide": f"The {words} from the door: the work table, the windows, the tide chart",
        "two_shot": f"{' and '.join(title(c) for c in chars)} lean over the "
        "signal log on the work table",
        "close_up": f"{title(one)} reads the last figure and looks up, resolved",
        "medium": f"{title(cast[-1])} checks the reading against the tide chart",
    }
    return ShotRow(
        shot_id=film.shot_id(index, shot),
        scene_id=film.scene_id(index),
        duration_s=3.0 if camera in ("wide", "close_up") else 4.0,
        camera_type=camera,
        blocking_summary=blocking[camera],
        set_id=place,
        char_ids=chars,
        hero_tier=hero,
        complexity_level="low" if camera == "wide" else "medium",
        regen_risk_estimate="low" if hero == "C" else "medium",
        notes="emotional anchor; locked-off camera" if hero == "A" else "",
    )


def shot_list(film: FilmShape, scene_id: str) -> ShotList:
    """shot-planner: the scene's shots."""
    return ShotList(rows=shot_rows(film, film.scene_index(scene_id)))


def rubric(film: FilmShape, shot_id: str, attempt: int) -> RubricAnswer:
    """qc-grader (model rubric): compliant, except the first attempts ``qc_failures``
    names for this shot, which lose the light (a severe lighting score)."""
    failing = attempt <= film.qc_failures.get(shot_id, 0)
    return RubricAnswer(
        face_consistency=2,
        wardrobe_consistency=2,
        set_continuity=2,
        prop_accuracy=2,
        lighting_consistency=0 if failing else 2,
        motion_integrity=2,
        notes="the key light jumps to a warm tungsten tint halfway through"
        if failing
        else "faces, wardrobe, set anchors and light hold the locks",
    )
