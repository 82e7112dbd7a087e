"""Issue 12 §1: switching a visual model mid-project goes through `slate switch`, like a text
tier (SPEC §7). After a fal production, `[visual] low` is pointed at another catalogue model:

- a render of a low-tier shot is refused until the switch is recorded, naming
  `slate switch visual_low` (the tier as the log names it; `slate switch low` is an error
  naming that spelling), with nothing sent to the vendor;
- the switch's ROUTING_DECISION compares the catalogue's worst case per planned shot, old
  against new, with the total for the shots not yet rendered, and names the QC sample and the
  lock-consistency test;
- the tier's other shots are refused on the new model until the sample is graded;
- `slate run` then re-packs the tier's GenPacks for the new model (its clip lengths), renders
  and grades the sample first, and completes; the other tiers' takes stay accepted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e2e_film import make_film, plugin_env, query, run_slate, slate
from filmslate import Project
from filmslate.schemas import GenPack
from filmslate.synthetic import set_key
from test_e2e_providers import KEY, VENDORS

pytestmark = pytest.mark.slow
FAL = VENDORS["fal"]
HAILUO = "fal:fal-ai/minimax/hailuo-2.3/standard/image-to-video"  # 6 or 10 s, per clip
SAMPLE, OTHER = "S01_SH01", "S02_SH01"  # the low tier (hero C): wide shots, no characters


def test_a_changed_visual_model_is_refused_until_slate_switch(tmp_path: Path) -> None:
    with FAL.server() as fal:
        root = tmp_path / "film"
        make_film(root, 2, 2, FAL.settings(fal.url))
        with open(root / "filmslate.toml", "a", encoding="utf-8") as config:
            config.write(FAL.catalogue)
        env = plugin_env(tmp_path / "site", 2, 2, {FAL.key_env: KEY})
        slate(root, env, "run")
        mid_packs = _packs(root, "S01_SH02")
        config = root / "filmslate.toml"
        config.write_text(set_key(config.read_text(), "visual", "low", f'"{HAILUO}"'))
        sent = len(fal.submits())
        for args in (("run", "render-proxy", "--shot", SAMPLE, "--force"), ("run",)):
            refused = run_slate(*args, "-C", str(root), env=env)
            assert refused.returncode != 0
            assert "slate switch visual_low --reason" in refused.stdout + refused.stderr
        assert len(fal.submits()) == sent  # nothing sent, and nothing re-packed
        assert _packs(root, SAMPLE)[-1][0] != HAILUO

        wrong = run_slate("switch", "low", "--reason", "cheaper", "-C", str(root), env=env)
        assert wrong.returncode == 2 and "visual_low" in wrong.stdout + wrong.stderr
        slate(root, env, "switch", "visual_low", "--reason", "Hailuo is cheaper per clip")
        decision = root.rglob("ROUTING_DECISION_PROVIDER_SWITCH_VISUAL_LOW_v001.md")
        text = next(decision).read_text()
        assert f"{SAMPLE} (3s, rendered): 0.56 -> 0.56" in text  # kling 5s 0.28 x2, hailuo 6s
        assert "not yet rendered" in text and f"QC sample: {SAMPLE}" in text
        assert "lock-consistency test" in text

        early = run_slate(
            "run", "render-proxy", "--shot", OTHER, "--force", "-C", str(root), env=env
        )
        assert early.returncode != 0 and f"QC sample {SAMPLE}" in early.stdout + early.stderr
        assert len(fal.submits()) == sent

        ran = slate(root, env, "run")
        # the step line shows what the render service settled (Hailuo 6 s: 0.28 a clip)
        assert re.search(rf"render-proxy {SAMPLE}: PASS.*?cost\s+0\.2800\)", ran, re.S), ran
        for shot in (SAMPLE, OTHER):
            assert _packs(root, shot)[-1] == (HAILUO, "6")  # re-packed: Hailuo's clip length
        assert _packs(root, "S01_SH02") == mid_packs  # another tier: untouched
        jobs = query(
            root,
            "SELECT shot_id FROM render_jobs WHERE provider = ? AND resolution = 'proxy' "
            "ORDER BY rowid",
            HAILUO,
        )
        assert [j[0] for j in jobs] == [SAMPLE, OTHER]  # the sample first
        hailuo = [s for m, s in fal.submits()[sent:] if f"fal:{m}" == HAILUO]
        assert hailuo and all(s["duration"] == "6" for s in hailuo)


def _packs(root: Path, shot: str) -> list[tuple[str, str]]:
    """(video_model, model_duration_s) of every GenPack version of a shot, oldest first."""
    with Project(root) as project:
        store = project.store
        out = []
        for record in store.versions("GENPACK", shot):
            pack = store.load(record.name)
            assert isinstance(pack, GenPack)
            lines = dict(line.split(": ", 1) for line in pack.settings.splitlines() if ": " in line)
            out.append((lines.get("video_model", ""), lines.get("model_duration_s", "")))
        return out
