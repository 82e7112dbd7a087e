"""Episodes of a series: the `slate episode` group (add, list). See docs/series.md."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import ProjectOpt, open_project, out

episode_app = typer.Typer(help="Episodes of a series (docs/series.md).", no_args_is_help=True)


@episode_app.command("add")
def episode_add(
    episode: Annotated[str, typer.Argument(help="The episode id, e.g. E02.")],
    project: ProjectOpt = None,
) -> None:
    """Declare an episode (filmslate.toml [series]); its scenes are E02_S01, E02_S02, ..."""
    from ..workflow._episodes import add_episode

    with open_project(project) as p:
        episodes = add_episode(p.root, episode)
    out.print(f"episode {episode} added: the project's episodes are {', '.join(episodes)}")


@episode_app.command("list")
def episode_list(project: ProjectOpt = None) -> None:
    """Each episode: its scenes, spend against its cap, its latest cut and export."""
    from ..workflow._episodes import episode_rows

    with open_project(project) as p:
        rows = episode_rows(p)
    if not rows:
        out.print("no episodes: this project is a single film (`slate episode add E01`)")
    for row in rows:
        out.print(row)
