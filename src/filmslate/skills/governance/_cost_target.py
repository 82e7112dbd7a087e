"""What a cost review may be asked for (issue 16 §1): the project, an act, a scene of
SCENES or an episode of the series. A report on an episode the project does not have
(``E03`` beside E01 and E02) or a scene SCENES does not hold would be a report of nothing
that looks like a passed review, so it is refused before anything is written."""

from __future__ import annotations

from ...core._episodes import check_known_episode, episode_of
from ...core._errors import UserError
from ...core._scene_ids import SCENE_RE
from ...engine._skill import Context
from ...schemas import Scenes


def check_cost_target(ctx: Context) -> None:
    """Refuse (UserError, one line) an undeclared episode without scenes, or a scene that
    the latest SCENES lacks; SCENES not written yet leaves a scene target as it is."""
    scenes: Scenes | None = ctx.inputs.get("SCENES")
    order = [row.scene_id for row in scenes.rows] if scenes is not None else []
    target = ctx.target
    if episode_of(target) == target:
        check_known_episode(target, ctx.config.series.episodes, order)
    if scenes is not None and SCENE_RE.fullmatch(target) and target not in order:
        raise UserError(
            f"{target} is not in SCENES: pick a scene the latest SCENES has (`slate show "
            "SCENES`), or add it there first",
            target=target,
        )
