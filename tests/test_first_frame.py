"""First-frame similarity (issue 13 §3): an image-to-video take starts from its storyboard frame.

Through the real runner: storyboard-generator draws the shot's frame, the offline animatic
renders a take from it (its first frame is the storyboard frame) and qc-grader passes it; a
take rendered from another picture fails with the measured similarity. The measure itself:
1 for the same picture whatever its brightness, far below the threshold for another layout.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

import test_skills_qc as qc
from filmslate.engine._runner import Runner
from filmslate.engine._video import VideoJob
from filmslate.providers.animatic import AnimaticProvider
from filmslate.rules._looks import LookThresholds, first_frame_check, first_frame_similarity
from filmslate.rules._media import CHECK_CATEGORIES

film = qc.film


def take_from(tmp: Path, r: Runner, shot: str, image: bytes) -> bytes:
    """The animatic's proxy of ``shot`` rendered from ``image`` (its GenPack's camera move)."""
    res = r.config.resolution.proxy
    prompt = qc.pack(r, shot).render().decode("utf-8")
    job = VideoJob(shot, prompt, 4.0, res.width, res.height, res.fps, image=image)
    provider = AnimaticProvider(tmp / "renders")
    return provider.download(provider.submit(job))


def rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.array(image.convert("RGB"))


def png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_take_of_its_own_storyboard_passes_and_one_of_another_picture_fails(
    film: Path, tmp_path: Path
) -> None:
    r = qc.packaged(film)
    drawn = r.run("storyboard-generator", "S01_SH02")
    assert drawn.gate.passed, drawn.gate.reasons
    storyboard = r.store.read(drawn.records[0].name)
    qc.proxy(r, "S01_SH02", take_from(tmp_path, r, "S01_SH02", storyboard))
    own = r.run("qc-grader", "S01_SH02")
    assert own.gate.verdict == "PASS", qc.batch(r).rows[-1].notes
    assert "first_frame" not in qc.batch(r).rows[-1].notes
    # the same camera move over another picture (the set's own colours: only the start differs)
    qc.proxy(r, "S01_SH02", take_from(tmp_path, r, "S01_SH02", qc.picture(qc.MILL_BROWN)))
    other = r.run("qc-grader", "S01_SH02")
    assert other.gate.verdict == "FAIL"
    row = qc.batch(r).rows[-1]
    assert "first_frame severe: the first frame does not show the storyboard frame" in row.notes
    assert (row.set_continuity, row.motion_integrity) == (0, 0)
    assert CHECK_CATEGORIES["first_frame"] == ("set_continuity", "motion_integrity")
    similarity = float(row.notes.split("similarity ")[1].split(" ")[0])
    assert similarity < LookThresholds().first_frame_min


def test_a_take_without_an_image_to_video_model_is_not_held_to_its_storyboard(
    film: Path, tmp_path: Path
) -> None:
    """A video model that takes no first image (here a vendor's reference-to-video model) never
    saw the storyboard, and is not judged by it; an image-to-video one is (test_first_frame_vendor
    through slate run)."""
    config = film / "filmslate.toml"
    text = config.read_text()
    assert 'low = "animatic"' in text
    config.write_text(
        text.replace('low = "animatic"', 'low = "fal:fal-ai/veo3.1/reference-to-video"')
    )
    r = qc.packaged(film)
    assert r.run("storyboard-generator", "S01_SH02").gate.passed
    qc.proxy(r, "S01_SH02", take_from(tmp_path, r, "S01_SH02", qc.picture(qc.MILL_BROWN)))
    r.run("qc-grader", "S01_SH02")
    assert "first_frame" not in qc.batch(r).rows[-1].notes


def test_which_models_start_from_the_image_sent(film: Path) -> None:
    """The catalogue says which: an entry with a first_image key does (image-to-video)."""
    from filmslate.skills.production._first_frame import starts_from_image

    config = qc.packaged(film).config
    assert starts_from_image(config, "animatic")
    assert starts_from_image(config, "fal:fal-ai/kling-video/v2.1/standard/image-to-video")
    assert starts_from_image(config, "comfyui:wan2.2-i2v-14b")
    assert not starts_from_image(config, "fal:fal-ai/veo3.1/reference-to-video")
    assert not starts_from_image(config, "fake:clip")  # outside the catalogue: never known


def test_the_similarity_measures_layout_not_brightness() -> None:
    board = rgb(qc.picture("#5A4632", spread=60.0))
    board[60:300, 80:260] //= 3  # a dark figure on the left
    brighter = np.clip(board.astype(int) * 1.3 + 20, 0, 255).astype(np.uint8)
    assert first_frame_similarity(brighter, board) > 0.99
    assert first_frame_check(brighter, board) == []
    flipped = np.ascontiguousarray(board[:, ::-1])  # the figure on the right
    other = first_frame_check(flipped, board)
    assert [f.check for f in other] == ["first_frame"] and other[0].severity == "severe"
    # a smaller take of a wider picture: the picture is cropped to cover it, as a provider does
    wide = np.concatenate([board[:, :80], board, board[:, -80:]], axis=1)
    assert first_frame_similarity(board[::2, ::2], wide) > 0.95


def test_a_final_take_not_started_from_its_storyboard_never_reaches_the_cut(
    tmp_path: Path,
) -> None:
    """render-final's technical checks hold the final take to the storyboard too."""
    import test_real_clips as real
    from filmslate.engine._render import RenderService
    from filmslate.engine._skill import Registry
    from filmslate.skills.production import AssembleCut, RenderFinal, RenderProxy
    from filmslate.store._project import Project
    from test_skills_production import put

    root = real.film.__wrapped__(tmp_path)  # type: ignore[attr-defined]
    config = root / "filmslate.toml"
    config.write_text(config.read_text().replace('mid = "fake:clip"', 'mid = "animatic"'))
    board = rgb(qc.picture(qc.MILL_BROWN, spread=60.0))
    board[60:300, 80:260] //= 3  # a dark figure on the left
    storyboard, mirrored = png_of(board), png_of(np.ascontiguousarray(board[:, ::-1]))
    with Project(root) as project:
        put(project, "STORYBOARD", "S01_SH02", storyboard)  # type: ignore[arg-type]
        proxy_res, final_res = project.config.resolution.proxy, project.config.resolution.final

    def take(image: bytes, res: object) -> bytes:
        job = VideoJob("S01_SH02", "camera_type: medium", 4.0, res.width, res.height, res.fps,  # type: ignore[attr-defined]
                       image=image)  # fmt: skip
        provider = AnimaticProvider(tmp_path / "renders")
        return provider.download(provider.submit(job))

    # the final starts from the picture mirrored: the figure on the right
    fake = real.ModelFake(take(storyboard, proxy_res), take(mirrored, final_res))
    project = Project(root)
    registry = Registry()
    for skill in (RenderProxy, RenderFinal, AssembleCut):
        registry.register(skill)
    service = RenderService(project, providers={"animatic": fake}, poll_interval_s=0.0)
    r = Runner(project, registry)
    assert r.run("render-proxy", "S01_SH02", params={"render": service}).gate.passed
    real.qc(root, ("S01_SH02", 1, "PASS"))
    final = r.run("render-final", "S01_SH02", params={"render": service})
    assert final.gate.verdict == "FAIL"
    assert "first_frame severe: the first frame does not show the storyboard" in str(
        final.gate.reasons
    )
