"""Video generation and assembly (SPEC §5, §8): render-proxy, render-final and assemble-cut.

The generation skills ask the render service the runner passes in ``ctx.params["render"]``
(for skills with ``uses_video``) for a clip: routing, the budget hold, the recorded job and
settlement are the service's (``filmslate.engine._render``), never a skill's.

- **render-proxy** renders ``PROXY_<SHOT>`` at ``config.resolution.proxy``: the provider's clip
  (kept as ``RAW_PROXY_<SHOT>``) conformed to the proxy spec and the planned duration
  (``_take``: scaled and cropped or padded, re-timed, trimmed; never stretched), sent with the
  storyboard frame as its first image and the shot's sheets as references. A regeneration is
  refused when its GenPack is the one the previous proxy was made from and that proxy's latest
  QC verdict is FAIL or FIX: change the GenPack (regen-analyzer, prompt-packager) first.
- **render-final** renders ``FINAL_<SHOT>`` (and keeps ``RAW_FINAL_<SHOT>``) at
  ``config.resolution.final``, proxy first: only when the shot's last QC_BATCH row is PASS.
  Its gate runs the technical checks qc-grader runs on proxies: a final take that fails them
  never reaches the cut.
- **assemble-cut** concatenates the accepted takes (FINAL, else a PROXY whose last QC row is
  PASS) in SCENES and SHOTLIST order into ``CUT_<TARGET>``, at one resolution and rate
  (``_cut_media``: a few ffmpeg runs; whole takes already so are copied, the rest encoded);
  when the target has an edit plan (``EDIT_<TARGET>``, edit-planner's), in the plan's order,
  each take from its in to its out point. The cut plays with sound (``_mix``): each shot's AUDIO
  where the plan plays its picture (with its J / L overlaps), over room tone, normalised to
  ``[audio] loudness_lufs``, muxed as AAC; beside it ``SUBTITLES_<TARGET>`` (.srt) and
  ``SUBTITLES_<TARGET>_VTT`` (.vtt), one cue per dialogue line, timed from the audio's cues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...core._config import Resolution
from ...core._episodes import episode_of, scenes_of
from ...core._errors import NoAcceptedTake, ProviderError, ProxyFirst, UserError
from ...core._gate import Gate
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...engine._video import ClipRenderer, ResolutionTier
from ...rules._edit import plan_takes
from ...rules._media import decode, probe
from ...rules._takes import last_qc_verdict
from ...schemas import (
    Artifact,
    EditPlan,
    GenPack,
    QcBatch,
    Scenes,
    ShotList,
    ShotRow,
    SubtitlesSrt,
)
from ._cut_media import concat
from ._lip_sync import AUDIO_NEEDS, dialogue_audio
from ._mix import (
    cut_sound_failures,
    dialogue_lines,
    mix,
    planned_sound,
    subtitle_failures,
    subtitles,
    unheard_lines,
    unplanned_sound,
    with_take_sound,
)
from ._production import shot_row
from ._shared import passed_with
from ._sheets import SHEET_NEEDS, shot_references
from ._take import Rendered, final_failures, make_take

RENDER_PARAM = "render"  # ctx.params key of the render service


# -- the skills ---------------------------------------------------------------------------------


def service_of(ctx: Context) -> ClipRenderer:
    """The render service the runner passed in, or a clear error."""
    service = ctx.params.get(RENDER_PARAM)
    if not isinstance(service, ClipRenderer):
        raise UserError(
            "video generation needs the render service: run it through the runner "
            f"with params={{{RENDER_PARAM!r}: "
            "filmslate.engine.RenderService(project)}"
        )
    return service


def clip_failures(data: bytes, shot: ShotRow, res: Resolution, label: str) -> list[str]:
    """What is wrong with a rendered clip: unreadable, wrong size, wrong length."""
    try:
        info = decode(data).info  # decoded once: QC and the final's checks read the same decode
    except ProviderError as exc:
        return [f"{shot.shot_id}: the {label} cannot be decoded: {exc}"]
    out = []
    if (info.width, info.height) != (res.width, res.height):
        out.append(
            f"{shot.shot_id}: {label} is {info.width}x{info.height}, the {label} "
            f"resolution is {res.width}x{res.height}"
        )
    if abs(info.duration_s - shot.duration_s) > 1.0 / res.fps + 1e-6:
        out.append(
            f"{shot.shot_id}: {label} lasts {info.duration_s:g}s, the shot {shot.duration_s:g}s"
        )
    return out


class _Render(Skill):
    """Shared shape of the two generation skills."""

    uses_video: ClassVar[bool] = True
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False  # the video call is metered by the render service
    regen_limited: ClassVar[bool] = True
    revise_on_fail: ClassVar[bool] = False  # a bad clip is fixed upstream (the GenPack)
    resolution: ClassVar[ResolutionTier] = "proxy"

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Render the shot through the service, with its first frame and sheets; the take is
        the provider's clip conformed to the spec, the original is kept beside it."""
        row = shot_row(ctx)
        self.before_render(ctx, row)
        pack: GenPack = ctx.inputs.get("GENPACK")
        image = ctx.inputs.get("STORYBOARD")
        service = service_of(ctx)
        audio, made_from = dialogue_audio(ctx, row, service)  # lip sync, where the model takes it
        raw = service.render(
            row,
            pack,
            self.resolution,
            image if isinstance(image, bytes) else None,
            skill=self.name,
            references=shot_references(ctx, row),
            audio=audio,
        )
        res: Resolution = getattr(ctx.config.resolution, self.resolution)
        self._take = make_take(ctx, row, raw, res, self.resolution)
        take_kind, raw_kind = self.produces
        return [
            Media(take_kind, row.shot_id, self._take.data, inputs=made_from),
            Media(raw_kind, row.shot_id, raw, inputs=made_from),
        ]

    def before_render(self, ctx: Context, row: ShotRow) -> None:
        """Refuse before any spend (render-final: proxy first)."""

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL when the conformed take does not decode or has the wrong size or length (or
        the provider's clip was too short to conform); the conform is noted on a PASS."""
        res: Resolution = getattr(ctx.config.resolution, self.resolution)
        row = shot_row(ctx)
        take: Rendered | None = getattr(self, "_take", None)
        failures = [take.failure] if take and take.failure else []
        failures += clip_failures(outputs[0].data, row, res, self.resolution)
        if not failures:
            failures = self.take_failures(ctx, row, outputs[0].data)
        if failures:
            return Gate.from_failures(failures)
        changed = take is not None and take.data is not take.raw
        return Gate("PASS", (take.note,) if take and changed else ())

    def take_failures(self, ctx: Context, row: ShotRow, data: bytes) -> list[str]:
        """More checks of a take of the right size and length (render-final: technical)."""
        return []


class RenderProxy(_Render):
    """Renders a shot's proxy clip; refuses a regen with an unchanged GenPack."""

    name: ClassVar[str] = "render-proxy"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("GENPACK", "shot"),
        Need("SHOTLIST", "scene"),
        Need("STORYBOARD", "shot", optional=True),
        *SHEET_NEEDS,  # the shot's character and set sheets, sent as references
        *AUDIO_NEEDS,  # the shot's dialogue, sent to a model driven by it (lip sync)
    )
    produces: ClassVar[tuple[str, ...]] = ("PROXY", "RAW_PROXY")
    resolution: ClassVar[ResolutionTier] = "proxy"
    summary: ClassVar[str] = (
        "after prompt-packager PASS: the shot's proxy clip at proxy resolution (metered, resumable)"
    )


class RenderFinal(_Render):
    """Renders a shot's final clip, only after its proxy passed QC."""

    name: ClassVar[str] = "render-final"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("GENPACK", "shot"),
        Need("SHOTLIST", "scene"),
        Need("PROXY", "shot"),
        # the scene's QC sheet grows as its other shots are graded: read as a history (its
        # newer versions do not make this shot's final stale), checked row by row below
        Need("QC_BATCH", "scene", lineage=False, history=True),
        Need("STORYBOARD", "shot", optional=True),
        # the set's palette, for the technical checks of the final take
        Need("SET_LOCK", "scene_set", optional=True, lineage=False),
        *SHEET_NEEDS,
        *AUDIO_NEEDS,
    )
    produces: ClassVar[tuple[str, ...]] = ("FINAL", "RAW_FINAL")
    resolution: ClassVar[ResolutionTier] = "final"
    summary: ClassVar[str] = "after the proxy passed QC: the shot's clip at final resolution"

    def before_render(self, ctx: Context, row: ShotRow) -> None:
        """Proxy first: the shot's last QC row must be a PASS of this GenPack's proxy."""
        passed, what = passed_with(
            ctx.inputs.get("QC_BATCH"), row.shot_id, ctx.inputs.get("GENPACK")
        )
        if not passed:
            raise ProxyFirst(
                f"{row.shot_id}: no final render before the proxy of its current GenPack "
                f"passes QC (last QC: {what}): run qc-grader on {row.shot_id}, and "
                "regenerate the proxy if it failed",
                target=row.shot_id,
            )

    def take_failures(self, ctx: Context, row: ShotRow, data: bytes) -> list[str]:
        """The final take goes into the cut only after the technical checks qc-grader runs on
        proxies pass (verdict by the hero tier's threshold)."""
        return final_failures(ctx, row, data)


# -- assemble-cut -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """The accepted clip of one shot."""

    shot_id: str
    kind: str
    data: bytes


class AssembleCut(Skill):
    """Concatenates the accepted takes in shot order into one MP4 with its dialogue track and
    subtitles (deterministic).

    Each shot's AUDIO is laid where the edit plays its picture (the plan's record in, less its
    J cut, to its out point plus its L cut), over room tone at -60 dBFS, and the dialogue
    normalised by one gain to ``[audio] loudness_lufs`` (default -23 LUFS); the track is AAC
    in the MP4. Where a take's model made its own sound, ``[audio] take_audio`` keeps the
    ``dialogue`` (default), the ``take``'s sound, or a ``mix``. ``SUBTITLES_<TARGET>_v###.srt``
    and ``SUBTITLES_<TARGET>_VTT_v###.vtt`` hold one cue per dialogue line, at its AUDIO cue
    moved to the shot's place in the cut.
    """

    name: ClassVar[str] = "assemble-cut"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("SHOTLIST", "all"),
        Need("PROXY", "all", optional=True),
        Need("FINAL", "all", optional=True),
        Need("QC_BATCH", "all", optional=True),
        Need("EDIT", "target", optional=True),  # edit-planner's plan: order and trims
        Need("AUDIO", "within", optional=True),  # each shot's dialogue, laid under its picture
        Need("DIALOGUE", "within", optional=True),  # the lines' text, for the subtitles
        # the takes as their models made them: their own sound, per [audio] take_audio
        Need("RAW_PROXY", "within", optional=True),
        Need("RAW_FINAL", "within", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("CUT", "SUBTITLES", "SUBTITLES_VTT")
    target_scope: ClassVar[Any] = "target"
    uses_model: ClassVar[bool] = False
    revise_on_fail: ClassVar[bool] = False
    summary: ClassVar[str] = (
        "after QC: the accepted takes (final, else a passed proxy) concatenated in shot order, "
        "with the dialogue track and subtitles"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The cut of the target (PROJECT or one scene), as its edit plan says if it has one."""
        takes = accepted_takes(ctx)
        final = any(take.kind == "FINAL" for take in takes)
        res: Resolution = ctx.config.resolution.final if final else ctx.config.resolution.proxy
        plan: EditPlan | None = ctx.inputs.get("EDIT")
        if plan is None:
            placed = unplanned_sound(ctx, [(t.shot_id, t.data) for t in takes])
            clips, trims = [t.data for t in takes], None
            duration = sum(p.out_s for p in placed)
        else:
            named = {t.shot_id: (take_name(ctx, t), t.data) for t in takes}
            planned = plan_takes(plan, named, ctx.target)  # refuses a plan of other takes
            clips = [d for d, _, _ in planned]
            trims = [(round(i * res.fps), round(o * res.fps)) for _, i, o in planned]
            placed = planned_sound(ctx, plan)
            duration = sum(e - f for f, e in trims) / res.fps
        placed = with_take_sound(placed, raw_takes(ctx, takes), ctx.config.audio.take_audio)
        sound = mix(placed, duration, ctx.config.audio.loudness_lufs)
        cut = concat(clips, res, trims, audio=sound)
        lines = dialogue_lines(ctx)
        self._lines = sum(len(lines.get(p.shot_id, {})) for p in placed)
        self._unheard = unheard_lines(placed, lines)
        return [Media("CUT", ctx.target, cut), *subtitles(placed, lines)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL when the cut does not decode; when its audio stream, decoded back, is
        missing, not the picture's length within a frame, or (with dialogue) off ``[audio]
        loudness_lufs`` (``_mix.cut_sound_failures``); when a dialogue line is not heard; or
        when its subtitles are not one cue per dialogue line of its shots, in order, inside
        the cut, none overlapping."""
        try:
            info = probe(outputs[0].data)
        except ProviderError as exc:
            return Gate("FAIL", (f"the cut cannot be decoded: {exc}",))
        failures = [] if info.frames else ["the cut has no frames"]
        lines, audio = getattr(self, "_lines", 0), ctx.config.audio
        failures += cut_sound_failures(
            outputs[0].data, info.duration_s, info.fps, audio.loudness_lufs, lines > 0
        )
        failures += [
            f"{u} is not heard in the cut: run edit-planner again (its gate keeps every line)"
            for u in getattr(self, "_unheard", [])
        ]
        srt = next((o for o in outputs if isinstance(o, SubtitlesSrt)), None)
        if srt is not None:
            failures += subtitle_failures(
                srt.cues, lines - len(getattr(self, "_unheard", [])), info.duration_s
            )
        return Gate.from_failures(failures)


def scenes_in_order(ctx: Context) -> list[str]:
    """The target's scenes: every scene of SCENES in order, an episode's (issue 16), or the
    target scene."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    order = [row.scene_id for row in scenes.rows]
    if ctx.target == "PROJECT":
        return order
    if episode_of(ctx.target) == ctx.target:
        if not scenes_of(order, ctx.target):
            raise UserError(f"{ctx.target} has no scene in the latest SCENES", target=ctx.target)
        return scenes_of(order, ctx.target)
    if ctx.target not in order:
        raise UserError(f"{ctx.target} is not a scene of the latest SCENES", target=ctx.target)
    return [ctx.target]


def accepted_takes(ctx: Context) -> list[Take]:
    """Each shot's accepted take in order; NoAcceptedTake lists every shot without one."""
    shotlists: dict[str, ShotList] = ctx.inputs.all("SHOTLIST")
    finals, proxies = ctx.inputs.all("FINAL"), ctx.inputs.all("PROXY")
    batches: dict[str, QcBatch] = ctx.inputs.all("QC_BATCH")
    takes, missing = [], []
    for scene in scenes_in_order(ctx):
        if scene not in shotlists:
            missing.append(f"{scene} (no shot list)")
            continue
        for row in shotlists[scene].rows:
            verdict = last_qc_verdict(batches.get(scene), row.shot_id)
            if row.shot_id in finals:
                takes.append(Take(row.shot_id, "FINAL", finals[row.shot_id]))
            elif row.shot_id in proxies and verdict == "PASS":
                takes.append(Take(row.shot_id, "PROXY", proxies[row.shot_id]))
            else:
                why = "no proxy" if row.shot_id not in proxies else f"QC {verdict or 'missing'}"
                missing.append(f"{row.shot_id} ({why})")
    if missing:
        raise NoAcceptedTake(
            f"{ctx.target}: {len(missing)} shot(s) have no accepted take (a "
            "FINAL, or a PROXY whose last QC row is PASS): " + ", ".join(missing),
            target=ctx.target,
            missing=missing,
        )
    return takes


def raw_takes(ctx: Context, takes: list[Take]) -> dict[str, bytes]:
    """Each accepted take's clip as its model made it (RAW_FINAL / RAW_PROXY), where kept."""
    raws = {kind: ctx.inputs.all(f"RAW_{kind}") for kind in ("PROXY", "FINAL")}
    return {t.shot_id: raws[t.kind][t.shot_id] for t in takes if t.shot_id in raws[t.kind]}


def take_name(ctx: Context, take: Take) -> str:
    """The file name of an accepted take (``FINAL_S01_SH02_v003.mp4``), from the run's inputs."""
    prefix = f"{take.kind}_{take.shot_id}_v"
    return next((n for n in ctx.inputs.names if n.startswith(prefix)), "")


REGISTRY.register(RenderProxy)
REGISTRY.register(RenderFinal)
REGISTRY.register(AssembleCut)

__all__ = [
    "RENDER_PARAM",
    "AssembleCut",
    "RenderFinal",
    "RenderProxy",
    "Take",
    "accepted_takes",
    "clip_failures",
    "concat",
    "scenes_in_order",
    "service_of",
    "take_name",
]
