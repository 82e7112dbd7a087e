"""`slate export` (issue 15 §5): the cut handed to an editor.

The edit is read from the cut itself, never from what is newest: the CUT's lineage holds the
exact SCENES, SHOTLIST, take and QC_BATCH versions assemble-cut was made from, and the rule it
used (a shot's FINAL, else its PROXY whose last QC row is PASS) picks the same takes again, in
SCENES and SHOTLIST order. Each take's length is measured (ffprobe through ``rules._media``) in
the cut's own frame rate, so the clips add up to the cut.

The timeline is written through the store as ``EXPORT_<TARGET>_v###.otio`` (lineage: the cut,
its takes, their GenPacks and QC sheets, the dialogue audio); an export identical to the latest
one reuses it. Beside it, ``exports/EXPORT_<TARGET>_v###/`` is the hand-off folder: the
requested renderings (OTIO, FCP 7 XML, CMX 3600 EDL, SRT, VTT) and a copy of every take and
audio file they name. Media paths are bare file names, relative to the timeline, so the folder
opens on another machine, and the stored timeline resolves them too (the takes sit beside it in
``production/``). Copies, not hard links: an artifact must stay its only name (`slate verify`).
Building the timeline and the renderings is ``_export_otio``'s.
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core._errors import UserError
from ..core._names import KINDS, ArtifactName, target_fields
from ..rules._media import probe
from ..rules._takes import last_qc_verdict
from ..store import _runlog
from ..store._index import Record, sha256_file
from ..store._project import Project
from ._export_otio import (
    FORMATS,
    Cue,
    Edit,
    Shot,
    Sound,
    check_formats,
    otio_module,
    render_all,
    timeline_payload,
)

EXPORTS_DIR = "exports"
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


def export(
    project: Project, target: str, formats: list[str], subtitles_optional: bool = False
) -> Exported:
    """Export the latest cut of ``target`` in ``formats``; nothing is written on an error.

    With ``subtitles_optional`` (``--all``) a cut without dialogue is exported without its
    SRT and VTT, and says so, instead of refusing."""
    formats = check_formats(formats)
    otio_module()  # the editor extra, named before anything else is read
    edit = read_edit(project, target)
    cues, skipped = [], []
    if {"srt", "vtt"} & set(formats):
        try:
            cues = subtitle_cues(project, edit)
        except UserError as exc:
            if not subtitles_optional:
                raise
            formats = [f for f in formats if f not in ("srt", "vtt")]
            skipped.append(f"srt and vtt: {exc}")
    payload = timeline_payload(edit)
    texts = render_all(edit, payload, cues, formats)  # every refusal comes before any write
    inputs = edit.inputs()
    _writable(project.root / EXPORTS_DIR)
    record = project.store.same_as_latest("EXPORT", target, payload, inputs)
    reused = record is not None
    if record is None:
        record = project.store.write("EXPORT", target, payload, inputs, _entry(edit))
    stem = record.name.filename.rsplit(".", 1)[0]  # EXPORT_PROJECT_v003
    done = Exported(record, reused, project.root / EXPORTS_DIR / stem, edit, skipped=skipped)
    for fmt, text in texts.items():
        path = done.folder / f"{stem}.{FORMATS[fmt]}"
        done.files[fmt] = _publish(path, text.encode("utf-8"))
    if {"otio", "fcpxml", "edl"} & set(formats):
        done.media = _copy_media(project, edit, done.folder)
    return done


# -- reading the edit from the cut ------------------------------------------------------------


def read_edit(project: Project, target: str) -> Edit:
    """The cut's clips in order, with their takes, GenPacks, QC verdicts and lengths."""
    store = project.store
    cut = store.latest("CUT", target)
    if cut is None:
        how = "`slate run` first (it ends with assemble-cut)"
        if target != "PROJECT":
            how = f"`slate run assemble-cut --target {target}` first"
        raise UserError(
            f"there is no cut of {target} to export yet: run {how}, then `slate export`",
            target=target,
        )
    used = _by_kind(store.lineage(cut.name))
    info = probe(store.read(cut.name))
    rate = _rate(info.fps)
    shots = [_shot(project, row, used, rate) for row in _rows(project, used, target)]
    title = project.config.project.title or project.config.project.name
    edit = Edit(target, title, cut.name, rate, info.frames, tuple(shots))
    return edit.with_sounds(dialogue_sounds(project, edit, used.get("AUDIO", {})))


def _by_kind(names: list[ArtifactName]) -> dict[str, dict[str | None, ArtifactName]]:
    out: dict[str, dict[str | None, ArtifactName]] = {}
    for name in names:
        out.setdefault(name.kind, {})[name.subject] = name
    return out


def _rows(
    project: Project, used: dict[str, dict[str | None, ArtifactName]], target: str
) -> list[Any]:
    """The shot-list rows of the cut's scenes, in SCENES order (assemble-cut's order)."""
    store = project.store
    scenes_used = used.get("SCENES", {}).get(None)
    if scenes_used is None:
        raise UserError(f"the cut of {target} records no SCENES version: rerun assemble-cut")
    order = [row.scene_id for row in store.load(scenes_used).rows]  # type: ignore[attr-defined]
    scenes = order if target == "PROJECT" else [target]
    lists = used.get("SHOTLIST", {})
    return [row for s in scenes if s in lists for row in store.load(lists[s]).rows]  # type: ignore[attr-defined]


def _shot(
    project: Project, row: Any, used: dict[str, dict[str | None, ArtifactName]], rate: float
) -> Shot:
    """One clip: the take assemble-cut took for the shot (FINAL, else a passed PROXY)."""
    store = project.store
    batch_name = used.get("QC_BATCH", {}).get(row.scene_id)
    batch = store.load(batch_name) if batch_name else None
    verdict = last_qc_verdict(batch, row.shot_id) or ""  # type: ignore[arg-type]
    take = used.get("FINAL", {}).get(row.shot_id)
    if take is None and verdict == "PASS":
        take = used.get("PROXY", {}).get(row.shot_id)
    if take is None:
        raise UserError(
            f"the cut records no accepted take of {row.shot_id}: rerun assemble-cut "
            "(`slate run`), then export",
            shot=row.shot_id,
        )
    frames = round(probe(store.read(take)).duration_s * rate)
    genpack = next((n for n in store.lineage(take) if n.kind == "GENPACK"), None)
    return Shot(row.shot_id, take, frames, genpack, verdict, batch_name)


def _rate(fps: float) -> float:
    """The cut's frame rate, with the float noise of probing taken off whole rates."""
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else round(fps, 6)


# -- dialogue: audio and subtitles ------------------------------------------------------------


def dialogue_sounds(
    project: Project, edit: Edit, used: dict[str | None, ArtifactName]
) -> list[Sound]:
    """Each shot's dialogue audio: the AUDIO_<SHOT> the cut was made from, else its latest
    version (scratch voices made after the cut); none where no AUDIO kind or version exists."""
    if "AUDIO" not in KINDS:
        return []
    sounds = []
    for shot in edit.shots:
        name = used.get(shot.shot_id)
        if name is None:
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
    """One cue per dialogue line of the cut's shots (DIALOGUE_<SCENE>), spread over the
    shot's speech (its audio's length, else the shot's); a clear error when there is none."""
    lines = _lines_by_shot(project, edit)
    cues: list[Cue] = []
    start = 0.0
    sounds = {s.shot_id: s for s in edit.sounds}
    for shot in edit.shots:
        length = shot.frames / edit.rate
        spoken = lines.get(shot.shot_id, [])
        speech = sounds[shot.shot_id].seconds if shot.shot_id in sounds else 0.0
        span = min(speech, length) if speech > 0 else length
        for index, text in enumerate(spoken):
            step = span / len(spoken)
            cues.append(Cue(start + index * step, start + (index + 1) * step, text))
        start += length
    if not cues:
        raise UserError(
            f"nothing to subtitle in {edit.cut}: its shots have no dialogue lines (no "
            "DIALOGUE_<SCENE> table lists a line for them); export otio, fcpxml or edl instead",
            target=edit.target,
        )
    return cues


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


def _entry(edit: Edit) -> _runlog.LogEntry:
    seconds = sum(s.frames for s in edit.shots) / edit.rate
    return _runlog.LogEntry(
        run_id=_runlog.new_run_id(),
        skill_name=SKILL,
        event="write",
        **target_fields(edit.target),
        model_used="builtin",
        tier="throughput",
        outcome="PASS",
        notes=f"editorial export of {edit.cut}: {len(edit.shots)} clip(s), {seconds:g}s at "
        f"{edit.rate:g} fps, {len(edit.sounds)} dialogue clip(s)",
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
    "dialogue_sounds",
    "export",
    "read_edit",
    "subtitle_cues",
    "wav_seconds",
]
