"""`slate mcp`: a real MCP client (the SDK's, over stdio) drives the project end to end."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from conftest import DEMO, SRC, run_slate
from test_handoff_cli import PREMISE, film  # noqa: F401  (the handoff project fixture)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOOLS = {"status", "inbox", "submit", "run", "skills", "impact", "verify", "artifacts"}


def _server(root: Path) -> StdioServerParameters:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "filmslate", "mcp", "--project", str(root)], env=env
    )


def _data(result: Any) -> Any:
    """A tool's answer: its structured content, else the JSON in its first text block."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        found = result.structured_content
        return found.get("result", found) if set(found) == {"result"} else found
    return json.loads(result.content[0].text)


def _session(root: Path, steps: Any) -> Any:
    async def go() -> Any:
        async with Client(_server(root), read_timeout_seconds=60) as client:
            return await steps(client)

    return asyncio.run(asyncio.wait_for(go(), timeout=120))


def test_an_agent_answers_a_handoff_task_end_to_end(film: Path) -> None:  # noqa: F811
    async def steps(client: Client) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["tools"] = {t.name for t in (await client.list_tools()).tools}
        seen["status"] = _data(await client.call_tool("status", {}))
        seen["run"] = _data(await client.call_tool("run", {"skill": "pitch"}))
        seen["inbox"] = _data(await client.call_tool("inbox", {}))
        task = seen["inbox"][0]["task"]
        seen["bad"] = await client.call_tool("submit", {"task": task, "answer": {"title": "x"}})
        seen["good"] = _data(await client.call_tool("submit", {"task": task, "answer": PREMISE}))
        seen["after"] = _data(await client.call_tool("inbox", {}))
        seen["premise"] = _data(await client.call_tool("read_artifact", {"name": "PREMISE"}))
        seen["verify"] = _data(await client.call_tool("verify", {}))
        return seen

    seen = _session(film, steps)
    assert TOOLS | {"read_artifact"} <= seen["tools"]
    assert seen["status"]["log_rows"] >= 1 and seen["status"]["hard_stops"] == []
    assert seen["status"]["caps"][0]["scope"] == "PROJECT"
    assert seen["run"]["status"] == "waiting"
    [task] = seen["inbox"]
    assert task["skill"] == "pitch" and "logline" in json.dumps(task["output_schema"])
    assert seen["bad"].is_error and "logline" in seen["bad"].content[0].text
    assert seen["good"]["verdict"] == "PASS"
    assert seen["good"]["artifacts"] == ["PREMISE_v001.md"]
    assert seen["after"] == []  # answered
    assert "A keeper relights" in seen["premise"]["text"]
    assert seen["verify"]["clean"] is True
    log = run_slate("log", "--skill", "pitch", cwd=film, check=True)  # the same log as the CLI
    assert "WAITING" in log.stdout and "PASS" in log.stdout


def test_the_whole_production_waits_for_the_agent(film: Path) -> None:  # noqa: F811
    premise = DEMO / "inputs" / "PREMISE.md"
    run_slate("add", str(premise), "--reason", "the premise", cwd=film, check=True)

    async def steps(client: Client) -> Any:
        return _data(await client.call_tool("run", {}))

    done = _session(film, steps)
    assert done["status"] == "waiting" and "story-architect" in done["summary"], done
    assert "`submit`" in done["next"]


def test_user_errors_come_back_as_tool_errors(film: Path) -> None:  # noqa: F811
    async def steps(client: Client) -> list[Any]:
        return [
            await client.call_tool("read_artifact", {"name": "NOPE_v001.md"}),
            await client.call_tool("run", {"skill": "no-such-skill"}),
            await client.call_tool("impact", {"lock": "SCENES"}),
        ]

    for result in _session(film, steps):
        assert result.is_error
        text = result.content[0].text
        assert text.startswith("Error executing tool") and "error:" in text
        assert "Traceback" not in text


def test_the_run_lock_is_shared_with_the_cli(film: Path) -> None:  # noqa: F811
    from filmslate.store._runlock import run_lock

    with run_lock(film, "slate run"):  # a `slate run` in another terminal

        async def steps(client: Client) -> Any:
            return await client.call_tool("run", {"skill": "pitch"})

        result = _session(film, steps)
    assert result.is_error and "slate run" in result.content[0].text
    assert not (film / "inbox" / "pitch__PROJECT__1.task.json").exists()


def test_mcp_outside_a_project_is_a_clean_error(tmp_path: Path) -> None:
    result = run_slate("mcp", "--project", str(tmp_path))
    assert result.returncode == 2 and "filmslate.toml" in result.stderr


def test_the_whole_production_is_refused_before_anything_is_made_when_vision_is_blind(
    tmp_path: Path,
) -> None:
    """`run` with no skill is `slate run`: a vision tier that cannot see is refused at the
    start, before a sheet, storyboard or proxy is paid for (workflow._vision_preflight)."""
    from test_vision_preflight import BLIND, configured, made

    root = tmp_path / "film"
    configured(root, **{'vision = "replay:vision"': f'vision = "{BLIND}"'})

    async def steps(client: Client) -> Any:
        return await client.call_tool("run", {})

    result = _session(root, steps)
    assert result.is_error and "qc-grader sends images" in result.content[0].text
    assert made(root) == (0, 0)


def test_run_uses_the_engine_of_the_project_config(film: Path) -> None:  # noqa: F811
    """`[run] engine = "dbos"` holds for the agent too: the run starts DBOS (its SQLite system
    database in .filmslate/), as `slate run` without --engine does."""
    pytest.importorskip("dbos", reason="the dbos engine needs the scale extra (filmslate[scale])")
    config = film / "filmslate.toml"
    config.write_text(config.read_text().replace('# engine = "dbos" ', 'engine = "dbos"'))

    async def steps(client: Client) -> Any:
        return _data(await client.call_tool("run", {"skill": "pitch"}))

    assert _session(film, steps)["status"] == "waiting"
    assert (film / ".filmslate" / "dbos.sqlite").is_file()


def test_mcp_without_its_extra_names_it(film: Path, tmp_path: Path) -> None:  # noqa: F811
    from test_sheet import blocked

    result = run_slate("mcp", "--project", str(film), env=blocked(tmp_path, "mcp"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pip install 'filmslate[mcp]'" in result.stderr
