"""The editor hand-off: `slate export` (the cut as OTIO, FCP 7 XML, CMX 3600 EDL, SRT, VTT)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import ProjectOpt, SceneOpt, TargetOpt, open_project, out, plain, target_of

commands = typer.Typer()


@commands.command("export")
def export_cmd(
    format_: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="otio, fcpxml (FCP 7 XML), edl (CMX 3600), srt or vtt; repeat for several.",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every format (srt and vtt when there is dialogue).")
    ] = False,
    scene: SceneOpt = None,
    target: TargetOpt = None,
    episode: Annotated[
        str | None, typer.Option("--episode", help="A series' episode, e.g. E01: its cut.")
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Hand the latest cut to an editor: OTIO, FCP 7 XML, CMX 3600 EDL, SRT or VTT.

    The timeline of the cut's takes is stored as EXPORT_<TARGET>_v###.otio (in lineage to the
    cut), its FCP XML and EDL as EXPORT_<TARGET>_FCP / _EDL artifacts made from it;
    exports/EXPORT_<TARGET>_v###/ gets the requested files and a copy of the media they name,
    so the folder opens on another machine. Default format: otio. See docs/editing.md.
    """
    from ..workflow._export import export
    from ..workflow._export_otio import FORMATS

    formats = list(FORMATS) if all_ else list(format_ or [])
    with open_project(project) as p:
        if episode is not None:  # an episode of this series, not any target
            from ..workflow._episodes import check_known_episode

            check_known_episode(p, episode)
        name = target_of(scene, None, target or episode)
        done = export(p, name, formats, subtitles_optional=all_)
        edit = done.edit
        seconds = sum(s.frames for s in edit.shots) / edit.rate
        how = "unchanged, reused" if done.reused else "stored"
        out.print(
            f"{done.record.name.relpath} ({how}): {len(edit.shots)} clip(s), {seconds:g}s at "
            f"{edit.rate:g} fps from {edit.cut}; {len(edit.sounds)} dialogue clip(s)"
        )
        folder = done.folder.relative_to(p.root)
        for fmt, path in done.files.items():
            stored = done.stored.get(fmt)
            also = f" (stored as {stored.name.relpath})" if stored else ""
            out.print(f"  {fmt}: {plain(folder / path.name)}{also}")
        for skipped in done.skipped:
            out.print(f"  skipped {plain(skipped)}")
        if done.media:
            out.print(f"  media: {len(done.media)} file(s) copied into {plain(folder)}/")
