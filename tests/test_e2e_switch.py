"""Issue 12 §1: switching a visual model mid-project goes through `slate switch`, like a text
tier. After a fal production, `[visual] low` is pointed at another catalogue model; a render
of a low-tier shot must be refused until the switch is recorded, naming the command, with
nothing sent to the vendor."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_film import make_film, plugin_env, run_slate, slate
from filmslate.synthetic import set_key
from test_e2e_providers import KEY, VENDORS

pytestmark = pytest.mark.slow
FAL = VENDORS["fal"]
HAILUO = "fal:fal-ai/minimax/hailuo-2.3/standard/image-to-video"
LOW_SHOT = "S01_SH01"  # hero C: the low tier


@pytest.mark.xfail(
    strict=True,
    reason="no visual-tier switch guard: a changed [visual] model is not refused; the render "
    "fails with 'no video provider for model <old>: ... set [visual] to one of them' "
    "(see /tmp/f_bugs.md)",
)
def test_a_changed_visual_model_is_refused_until_slate_switch(tmp_path: Path) -> None:
    with FAL.server() as fal:
        root = tmp_path / "film"
        make_film(root, 2, 2, FAL.settings(fal.url))
        with open(root / "filmslate.toml", "a", encoding="utf-8") as config:
            config.write(FAL.catalogue)
        env = plugin_env(tmp_path / "site", 2, 2, {FAL.key_env: KEY})
        slate(root, env, "run")
        config = root / "filmslate.toml"
        config.write_text(set_key(config.read_text(), "visual", "low", f'"{HAILUO}"'))
        sent = len(fal.submits())
        refused = run_slate(
            "run", "render-proxy", "--shot", LOW_SHOT, "--force", "-C", str(root), env=env
        )
        assert refused.returncode != 0
        assert "slate switch low" in refused.stdout + refused.stderr
        assert len(fal.submits()) == sent
