"""`slate export` (issue 15 §5): the cut handed to an editor.

The edit is read from the cut itself, never from what is newest: the CUT's lineage holds the
exact versions assemble-cut was made from. With an EDIT plan among them (edit-planner's), the
clips are the plan's: its order, its takes, each from its in to its out point, its J and L
cuts; without one, assemble-cut's rule (a shot's FINAL, else its PROXY whose last QC row is
PASS) picks the same takes again, whole, in SCENES and SHOTLIST order. Points are frames of
the cut's own rate (probed through ``rules._media``), rounded as assemble-cut trims, so the
clips add up to the cut. Subtitles are the cut's own SUBTITLES when assemble-cut wrote them.

The timeline is written through the store as ``EXPORT_<TARGET>_v###.otio`` (lineage: the cut,
its plan, takes, their GenPacks and QC sheets, the dialogue audio, the subtitles), its FCP 7 XML
and EDL as ``EXPORT_<TARGET>_FCP_v###.xml`` and ``EXPORT_<TARGET>_EDL_v###.edl`` made from it;
a version identical to the latest one reuses it. Beside them, ``exports/EXPORT_<TARGET>_v###/``
is the hand-off folder: the requested renderings (OTIO, FCP 7 XML, CMX 3600 EDL, SRT, VTT)
and a copy of every take and audio file they name. Media paths are bare file names, relative
to the timeline, so the folder opens on another machine, and the stored timeline resolves
them too (the takes sit beside it in ``production/``). Copies, not hard links: an artifact
must stay its only name (`slate verify`).
Building the timeline and the renderings is ``_export_otio``'s.
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from ..core._errors import UserError
from ..core._names import KINDS, ArtifactName, target_fields
from ..core._scene_ids import SCENE_RE
from ..rules._media import probe
from ..rules._media_cache import use_folder
from ..rules._takes import last_qc_verdict
from ..schemas import EditorialExport, EdlExport, FcpXmlExport
from ..schemas._export import Rendering
from ..store import _runlog
from ..store._index import INDEX_DIR, Record, sha256_file
from ..store._project import Project
from ._export_otio import (
    FORMATS,
    Cue,
    Edit,
    Shot,
    Sound,
    check_formats,
    heard,
    otio_module,
    render_all,
    timeline_payload,
)

EXPORTS_DIR = "exports"
RENDERINGS: dict[str, type[Rendering]] = {"fcpxml": FcpXmlExport, "edl": EdlExport}
SKILL = "export"


@dataclass
class Exported:
    """What one `slate export` wrote: the EXPORT version, its folder and files."""

    record: Record
    reused: bool
    folder: Path
    edit: Edit
    files: dict[str, Path] = field(default_factory=dict)
    media: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stored: dict[str, Record] = field(default_factory=dict)  # the renderings' versions


def export(
    project: Project, target: str, formats: list[str], subtitles_optional: bool = False
) -> Exported:
    """Export the latest cut of ``target`` in ``formats``; nothing is written on an error.

    With ``subtitles_optional`` (``--all``) a cut without dialogue is exported without its
    SRT and VTT, and says so, instead of refusing."""
    formats = check_formats(formats)
    otio_module()  # the editor extra, named before anything else is read
    edit = read_edit(project, target)
    payload = timeline_payload(edit)
    texts, given, skipped = _texts(project, edit, payload, formats, subtitles_optional)
    docs = {f: RENDERINGS[f].parse(texts[f].encode("utf-8")) for f in RENDERINGS if f in texts}
    _writable(project.root / EXPORTS_DIR)  # every refusal comes before the first write
    inputs = sorted({*edit.inputs(), *given})
    record, reused = _stored(project, target, payload, inputs, _entry(edit, "timeline"))
    stem = record.name.filename.rsplit(".", 1)[0]  # EXPORT_PROJECT_v003
    done = Exported(record, reused, project.root / EXPORTS_DIR / stem, edit, skipped=skipped)
    for fmt, doc in docs.items():  # the renderings, made from the timeline as stored
        entry = _entry(edit, f"{doc.FORMAT} of {record.name}")
        done.stored[fmt] = _stored(project, target, doc, [record.name], entry)[0]
        texts[fmt] = doc.render().decode("utf-8")
    for fmt, text in texts.items():
        path = done.folder / f"{stem}.{FORMATS[fmt]}"
        done.files[fmt] = _publish(path, text.encode("utf-8"))
    if {"otio", "fcpxml", "edl"} & set(formats):
        done.media = _copy_media(project, edit, done.folder)
    return done


def _texts(
    project: Project,
    edit: Edit,
    payload: EditorialExport,
    formats: list[str],
    subtitles_optional: bool,
) -> tuple[dict[str, str], list[ArtifactName], list[str]]:
    """Each format's text, the cut's own subtitles used for them, and what was skipped."""
    cues: list[Cue] = []
    skipped: list[str] = []
    given = {f: n for f, n in cut_subtitles(project, edit).items() if f in formats}
    written = {f: project.store.read(n).decode("utf-8") for f, n in given.items()}
    given = {f: n for f, n in given.items() if " --> " in written[f]}  # cues, not a header
    if {"srt", "vtt"} & set(formats) - set(given):
        try:
            cues = subtitle_cues(project, edit)
        except UserError as exc:
            if not subtitles_optional:
                raise
            formats = [f for f in formats if f not in ("srt", "vtt")]
            skipped.append(f"srt and vtt: {exc}")
    texts = render_all(edit, payload, cues, [f for f in formats if f not in given])
    return texts | {f: written[f] for f in given}, list(given.values()), skipped


def _stored(
    project: Project,
    target: str,
    payload: EditorialExport | Rendering,
    inputs: list[ArtifactName],
    entry: _runlog.LogEntry,
) -> tuple[Record, bool]:
    """The artifact's version: the latest when it is this one already, else a new one."""
    record = project.store.same_as_latest(payload.KIND, target, payload, inputs)
    if record is not None:
        return record, True
    return project.store.write(payload.KIND, target, payload, inputs, entry), False


# -- reading the edit from the cut ------------------------------------------------------------


def read_edit(project: Project, target: str) -> Edit:
    """The cut's clips in order, with their takes, GenPacks, QC verdicts and lengths."""
    use_folder(project.root / INDEX_DIR / "decoded")  # the lengths the run measured: no ffmpeg
    store = project.store
    cut = store.latest("CUT", target)
    if cut is None:
        how = "`slate run` first (it ends with assemble-cut)"
        if SCENE_RE.fullmatch(target) and store.latest("SHOTLIST", target) is None:
            raise UserError(
                f"{target} is not a scene with shots: export a scene that has a shot list "
                "(`slate status`), or the whole film without --scene / --target"
            )
        if target != "PROJECT":
            how = f"`slate run assemble-cut --target {target}` first"
        raise UserError(
            f"there is no cut of {target} to export yet: run {how}, then `slate export`",
            target=target,
        )
    used = _by_kind(store.lineage(cut.name))
    info = probe(store.read(cut.name))
    rate = _rate(info.fps)
    shots = [_shot(project, planned, used, rate) for planned in _planned(project, used, target)]
    title = project.config.project.title or project.config.project.name
    plan = used.get("EDIT", {}).get(target)
    edit = Edit(target, title, cut.name, rate, info.frames, tuple(shots), plan=plan)
    return edit.with_sounds(dialogue_sounds(project, edit, used.get("AUDIO", {})))


Used = dict[str, dict[str | None, ArtifactName]]


def _by_kind(names: list[ArtifactName]) -> Used:
    out: Used = {}
    for name in names:
        out.setdefault(name.kind, {})[name.subject] = name
    return out


@dataclass(frozen=True)
class _Planned:
    """Where a shot plays: the plan's take and trims, or (no plan) its whole accepted take."""

    shot_id: str
    take: ArtifactName | None = None
    in_s: float = 0.0
    out_s: float | None = None
    lead_s: float = 0.0
    lag_s: float = 0.0


def _planned(project: Project, used: Used, target: str) -> list[_Planned]:
    """The cut's shots in its order: its EDIT plan's (edit-planner), else every shot-list row
    of its scenes in SCENES order (assemble-cut's order without a plan)."""
    store = project.store
    plan = used.get("EDIT", {}).get(target)
    if plan is not None:
        rows = sorted(store.load(plan).rows, key=lambda r: r.position)  # type: ignore[attr-defined]
        return [
            _Planned(
                r.shot_id,
                ArtifactName.parse(r.take),
                r.in_s,
                r.out_s,
                r.audio_lead_s,
                r.audio_lag_s,
            )
            for r in rows
        ]
    scenes_used = used.get("SCENES", {}).get(None)
    if scenes_used is None:
        raise UserError(f"the cut of {target} records no SCENES version: rerun assemble-cut")
    order = [row.scene_id for row in store.load(scenes_used).rows]  # type: ignore[attr-defined]
    scenes = order if target == "PROJECT" else [target]
    lists = used.get("SHOTLIST", {})
    rows = [row for s in scenes if s in lists for row in store.load(lists[s]).rows]  # type: ignore[attr-defined]
    return [_Planned(row.shot_id) for row in rows]


def _shot(project: Project, planned: _Planned, used: Used, rate: float) -> Shot:
    """One clip: the take the cut played (the plan's, else FINAL, else a passed PROXY), from
    its in to its out point in frames of the cut's rate (as assemble-cut trims it)."""
    store = project.store
    shot_id = planned.shot_id
    batch_name = used.get("QC_BATCH", {}).get(shot_id.split("_SH", 1)[0])
    batch = store.load(batch_name) if batch_name else None
    verdict = last_qc_verdict(batch, shot_id) or ""  # type: ignore[arg-type]
    take = planned.take or used.get("FINAL", {}).get(shot_id)
    if take is None and verdict == "PASS":
        take = used.get("PROXY", {}).get(shot_id)
    if take is None:
        raise UserError(
            f"the cut records no accepted take of {shot_id}: rerun assemble-cut "
            "(`slate run`), then export",
            shot=shot_id,
        )
    whole = round(probe(store.read(take)).duration_s * rate)
    first = round(planned.in_s * rate)
    end = round(planned.out_s * rate) if planned.out_s is not None else whole
    genpack = next((n for n in store.lineage(take) if n.kind == "GENPACK"), None)
    return Shot(
        shot_id,
        take,
        end - first,
        genpack,
        verdict,
        batch_name,
        first=first,
        available=max(whole, end),
        lead_s=planned.lead_s,
        lag_s=planned.lag_s,
    )


def _rate(fps: float) -> float:
    """The cut's frame rate, with the float noise of probing taken off whole rates."""
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else round(fps, 6)


# -- dialogue: audio and subtitles ------------------------------------------------------------


def dialogue_sounds(
    project: Project, edit: Edit, used: dict[str | None, ArtifactName]
) -> list[Sound]:
    """Each shot's dialogue audio: the AUDIO the cut was made from (its sound), or, for a cut
    made before it had sound, each shot's latest AUDIO_<SHOT> (scratch voices made after it);
    none where no AUDIO kind or version exists."""
    if "AUDIO" not in KINDS:
        return []
    sounds = []
    for shot in edit.shots:
        name = used.get(shot.shot_id)
        if name is None and not used:
            latest = project.store.latest("AUDIO", shot.shot_id)
            name = latest.name if latest is not None else None
        if name is not None:
            seconds = wav_seconds(project.store.read(name))
            sounds.append(Sound(shot.shot_id, name, seconds))
    return sounds


def wav_seconds(data: bytes) -> float:
    """A WAV file's length from its header (any sample format), 0.0 when it has none."""
    import io
    import wave

    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            return float(wav.getnframes()) / float(wav.getframerate() or 1)
    except (wave.Error, EOFError):
        return 0.0


def subtitle_cues(project: Project, edit: Edit) -> list[Cue]:
    """One cue per dialogue line of the cut's shots (DIALOGUE_<SCENE>), spread over the part
    of the shot's audio the cut plays (else over its picture); a clear error when there is
    none. (The cut's own SUBTITLES, timed from the audio's cues, are used when it has them.)"""
    lines = _lines_by_shot(project, edit)
    spans, record = {}, 0
    for shot in edit.shots:
        spans[shot.shot_id] = (record, record + shot.frames)
        record += shot.frames
    spans.update({h.sound.shot_id: (h.at, h.at + h.frames) for h in heard(edit)})
    cues: list[Cue] = []
    for shot in edit.shots:
        spoken = lines.get(shot.shot_id, [])
        start, end = (f / edit.rate for f in spans[shot.shot_id])
        step = (end - start) / max(1, len(spoken))
        cues += [Cue(start + n * step, start + (n + 1) * step, t) for n, t in enumerate(spoken)]
    if not cues:
        raise UserError(
            f"nothing to subtitle in {edit.cut}: its shots have no dialogue lines (no "
            "DIALOGUE_<SCENE> table lists a line for them); export otio, fcpxml or edl instead",
            target=edit.target,
        )
    return sorted(cues, key=lambda c: c.start_s)


def cut_subtitles(project: Project, edit: Edit) -> dict[str, ArtifactName]:
    """The SUBTITLES files assemble-cut wrote with the cut (issue 15 §3), by format, if any."""
    run = project.store.record(edit.cut).run_id
    out = {}
    for kind_name, fmt in (("SUBTITLES", "srt"), ("SUBTITLES_VTT", "vtt")):
        if kind_name not in KINDS:
            continue
        made = [r for r in project.store.artifacts(kind_name) if r.run_id == run]
        if made and made[-1].name.subject == edit.target:
            out[fmt] = made[-1].name
    return out


def _lines_by_shot(project: Project, edit: Edit) -> dict[str, list[str]]:
    if "DIALOGUE" not in KINDS:
        return {}
    out: dict[str, list[str]] = {}
    for scene in dict.fromkeys(s.shot_id.split("_SH", 1)[0] for s in edit.shots):
        latest = project.store.latest("DIALOGUE", scene)
        if latest is None:
            continue
        rows = sorted(project.store.load(latest.name).rows, key=lambda r: r.line_order)  # type: ignore[attr-defined]
        for row in rows:
            out.setdefault(row.shot_id, []).append(str(row.text))
    return out


# -- writing ----------------------------------------------------------------------------------


def _entry(edit: Edit, what: str) -> _runlog.LogEntry:
    seconds = sum(s.frames for s in edit.shots) / edit.rate
    return _runlog.LogEntry(
        run_id=_runlog.new_run_id(),
        skill_name=SKILL,
        event="write",
        **target_fields(edit.target),
        model_used="builtin",
        tier="throughput",
        outcome="PASS",
        notes=f"editorial export ({what}) of {edit.cut}: {len(edit.shots)} clip(s), "
        f"{seconds:g}s at {edit.rate:g} fps, {len(edit.sounds)} dialogue clip(s)",
    )


def _publish(path: Path, data: bytes) -> Path:
    """Write a file of the hand-off folder whole (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UserError(
            f"cannot write {path}: {exc.strerror or exc}; the timeline is stored, free the "
            f"{EXPORTS_DIR}/ folder and run `slate export` again",
            path=str(path),
        ) from None
    return path


def _writable(folder: Path) -> None:
    """The exports folder exists (or is made) before anything is stored."""
    try:
        folder.mkdir(exist_ok=True)
        if not folder.is_dir() or folder.is_symlink() or not os.access(folder, os.W_OK):
            raise NotADirectoryError(20, "not a writable folder")
    except OSError as exc:
        raise UserError(
            f"cannot write the export into {folder}: {exc.strerror or exc}; move that "
            f"out of the way (the project's {EXPORTS_DIR}/ folder holds the hand-offs)",
            path=str(folder),
        ) from None


def _copy_media(project: Project, edit: Edit, folder: Path) -> list[str]:
    """Copy every take and audio file the timeline names into the folder, beside it."""
    copied = []
    for name in [*(s.take for s in edit.shots), *(s.audio for s in edit.sounds)]:
        record = project.store.record(name)
        path = folder / name.filename
        if path.is_file() and sha256_file(path) == record.sha256:
            continue
        _publish(path, project.store.read(name))  # read checks the hash
        copied.append(name.filename)
    return copied


__all__ = [
    "EXPORTS_DIR",
    "Exported",
    "cut_subtitles",
    "dialogue_sounds",
    "export",
    "read_edit",
    "subtitle_cues",
    "wav_seconds",
]
