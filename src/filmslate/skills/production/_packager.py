"""prompt-packager (SPEC §5; deterministic, zero cost): a shot's GENPACK.

The pack is assembled from the locks verbatim, the shot row, the forbidden-drift lists and the
current regen rules. It invents nothing; its gate re-parses the pack and re-checks order and
verbatim inclusion. When the shot's hero tier routes to a catalogue model, [SETTINGS] records
the model and the clip length it is asked for (``model_duration_s``: the catalogue's snap of
``duration_s``; the take is trimmed back to ``duration_s``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from ...core._errors import UserError
from ...core._gate import Gate
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...rules._reword import apply_rewordings
from ...rules._takes import shot_seed
from ...schemas import GENPACK_SECTIONS, Artifact, GenPack, ShotRow, StyleLock
from ._production import model_clip, shot_cast, shot_row
from ._regen_refusal import rewordings_for
from ._shared import applicable_rules, lock_text

RESOLUTION_PARAM = "resolution_tier"  # ctx.params key: "proxy" (default) or "final"


class PromptPackager(Skill):
    """Builds a shot's GENPACK from locks verbatim, the shot row and the regen rules."""

    name: ClassVar[str] = "prompt-packager"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "production"
    # REGEN_RULES is one project-wide file: a new version for one shot must not make every
    # other shot's GenPack stale, so it is context here; the orchestrator repackages exactly
    # the shots whose applicable rules changed (``rules_missing``). The continuity report is
    # a gate to pass, not content.
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SHOTLIST", "scene"),
        Need("CHAR_LOCK", "cast"),
        Need("SET_LOCK", "scene_set"),
        Need("STYLE_LOCK", "all", optional=True),
        Need("REGEN_RULES", optional=True, lineage=False),
        Need("CONTINUITY_REPORT", "scene", lineage=False),
    )
    produces: ClassVar[tuple[str, ...]] = ("GENPACK",)
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False
    summary: ClassVar[str] = (
        "after shot-planner PASS: the shot's GENPACK (locks verbatim, "
        "action, negatives, settings); invents nothing"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The GenPack of the target shot."""
        return [build_genpack(ctx)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """Re-parse the pack; FAIL on order, missing or altered locks, missing continuity."""
        pack = outputs[0]
        assert isinstance(pack, GenPack)
        return Gate.from_failures(genpack_failures(pack, ctx))


def _styles(ctx: Context) -> list[tuple[str, StyleLock]]:
    return sorted(ctx.inputs.all("STYLE_LOCK").items())


def _negatives(ctx: Context, row: ShotRow) -> str:
    set_lock = ctx.inputs.all("SET_LOCK").get(row.set_id)
    groups: list[tuple[str, Iterable[str]]] = [
        (f"STYLE {n}", lock.forbidden_drift) for n, lock in _styles(ctx)
    ]
    if set_lock is not None:
        groups.append((f"SET {row.set_id}", set_lock.forbidden_drift))
    groups += [
        (f"CHAR {cid}", lock.forbidden_drift)
        for cid, lock in shot_cast(ctx, row)
        if lock is not None
    ]
    lines = [f"- {label}: {item}" for label, items in groups for item in items]
    lines += applicable_rules(ctx.inputs.get("REGEN_RULES"), row.shot_id)
    return "\n".join(lines) or "- (no forbidden drift recorded)"


def _settings(ctx: Context, row: ShotRow) -> str:
    tier = str(ctx.params.get(RESOLUTION_PARAM, "proxy"))
    if tier not in ("proxy", "final"):
        raise UserError(f"resolution tier must be proxy or final, not {tier!r}")
    res = getattr(ctx.config.resolution, tier)
    lines = [
        f"resolution_tier: {tier}",
        f"width: {res.width}",
        f"height: {res.height}",
        f"fps: {res.fps}",
        f"duration_s: {row.duration_s:g}",
        f"camera_type: {row.camera_type}",
        f"seed: {shot_seed(row.shot_id)}",
    ]
    clip = model_clip(ctx.config, row)
    if clip is not None:  # a catalogue model: the clip asked for, trimmed to duration_s
        lines += [f"video_model: {clip[0]}", f"model_duration_s: {clip[1]:g}"]
    return "\n".join(lines)


def _action(row: ShotRow, rewordings: Sequence[str] = ()) -> str:
    # Only what the shot row says: blocking, camera, duration, who and where. After a refused
    # render the blocking is reworded by regen-analyzer's rules (never a lock: those are
    # pasted verbatim above it).
    return "\n".join(
        [
            apply_rewordings(row.blocking_summary, rewordings),
            f"camera: {row.camera_type}",
            f"duration: {row.duration_s:g}s",
            f"in frame (left to right): {', '.join(row.char_ids) or 'no characters'}",
            f"set: {row.set_id}",
        ]
    )


def build_genpack(ctx: Context) -> GenPack:
    """Assemble the six sections; a missing lock leaves its place empty for the gate."""
    row = shot_row(ctx)
    set_lock = ctx.inputs.all("SET_LOCK").get(row.set_id)
    return GenPack(
        shot_id=row.shot_id,
        style="\n\n".join(lock_text(lock) for _, lock in _styles(ctx)),
        set=lock_text(set_lock) if set_lock is not None else "",
        characters="\n\n".join(
            lock_text(lock) for _, lock in shot_cast(ctx, row) if lock is not None
        ),
        action=_action(row, rewordings_for(ctx.inputs.get("REGEN_RULES"), row.shot_id)),
        negatives=_negatives(ctx, row),
        settings=_settings(ctx, row),
    )


def genpack_failures(pack: GenPack, ctx: Context) -> list[str]:
    """Order, presence and verbatim inclusion, checked on the pack as it will be stored."""
    row = shot_row(ctx)
    out = []
    try:
        stored = GenPack.parse(pack.render())
    except Exception as exc:  # the parser names the section out of order
        return [f"{row.shot_id}: the GenPack does not read back: {exc}"]
    lines = pack.render().decode("utf-8").split("\n")
    headings = [line for line in lines if line in GENPACK_SECTIONS.values()]
    if headings != list(GENPACK_SECTIONS.values()):
        out.append(f"{row.shot_id}: sections out of order or missing: {', '.join(headings)}")
    if ctx.inputs.get("CONTINUITY_REPORT") is None:
        out.append(
            f"{row.shot_id}: {ctx.scene_id} has no CONTINUITY_REPORT: run "
            "continuity-supervisor before packaging"
        )
    set_lock = ctx.inputs.all("SET_LOCK").get(row.set_id)
    if set_lock is None:
        out.append(f"{row.shot_id}: set {row.set_id} has no SET lock: lock it first")
    elif stored.set != lock_text(set_lock):
        out.append(f"{row.shot_id}: [SET] is not the SET {row.set_id} lock verbatim")
    out += _char_failures(stored, ctx, row)
    style = "\n\n".join(lock_text(lock) for _, lock in _styles(ctx))
    if stored.style != style:
        out.append(f"{row.shot_id}: [STYLE] is not the STYLE lock verbatim")
    for line in applicable_rules(ctx.inputs.get("REGEN_RULES"), row.shot_id):
        if line not in stored.negatives.split("\n"):
            out.append(f"{row.shot_id}: regen rule missing from the negatives: {line[2:]}")
    return out


def _char_failures(stored: GenPack, ctx: Context, row: ShotRow) -> list[str]:
    out = []
    position = 0
    for cid, lock in shot_cast(ctx, row):
        if lock is None:
            out.append(f"{row.shot_id}: character {cid} has no CHAR lock: lock them first")
            continue
        found = stored.characters.find(lock_text(lock), position)
        if found < 0:
            out.append(
                f"{row.shot_id}: [CHARACTERS] lacks the CHAR {cid} lock verbatim (in shot order)"
            )
        else:
            position = found + len(lock_text(lock))
    return out


REGISTRY.register(PromptPackager)

__all__ = ["RESOLUTION_PARAM", "PromptPackager", "build_genpack", "genpack_failures"]
