"""`slate log --notes` shows what each row says (issue 14 §3: a timeout charged at worst case
has a log row saying so, and a person reads it in the log), its brackets printed as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import ProviderError
from filmslate.testing.openai_server import OpenAIServer
from test_text_timeouts import DELAY_S, film, runner_on


def test_the_log_shows_the_worst_case_charge_of_a_timeout(tmp_path: Path) -> None:
    with OpenAIServer([{}], delay_s=DELAY_S) as server:
        root = film(tmp_path, server)
        with runner_on(root) as runner, pytest.raises(ProviderError):
            runner.run("story-architect", "PROJECT")
    shown = run_slate("log", "--notes", "--limit", "1", "-C", str(root), check=True)
    text = " ".join(shown.stdout.replace("│", " ").split())  # the table's wrapped cells
    assert "spend" in text and "ERROR" in text
    assert "charged at worst case" in text and "may bill" in text
    assert "[providers.compat]" in text  # rich markup did not swallow it
    plain = run_slate("log", "--limit", "1", "-C", str(root), check=True)
    assert "charged at worst case" not in plain.stdout  # notes only when asked for
