"""Decode once, on disk (issue 13 §5): a take decoded by one command is not decoded again by the
next. The decode lives under the project's ``.filmslate/decoded`` (a derived cache: verify
accepts it, deleting it only costs a decode), written atomically; a corrupt entry is decoded
again; the folder is pruned to its bound, least recently used first.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

import test_skills_qc as qc
from conftest import run_slate
from filmslate.engine._runner import Runner
from filmslate.rules import _media_cache, _media_decode
from filmslate.store._project import Project

film = qc.film


def ffmpeg_launches(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every process started from now on (subprocess.run starts its process through Popen)."""
    launched: list[object] = []
    real_popen = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> object:
        launched.append(args[0])
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", popen)
    return launched


def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every decode of a clip from now on (the real one runs), by the clip's size."""
    counted: list[int] = []
    real = _media_decode.analyse

    def analyse(data: bytes, samples: int) -> object:
        counted.append(len(data))
        return real(data, samples)

    monkeypatch.setattr(_media_decode, "analyse", analyse)
    return counted


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def later_command(root: Path) -> Runner:
    """What a later `slate` command starts with: a new runner and nothing decoded in memory."""
    _media_decode._CACHE.clear()
    _media_decode._FACTS.clear()
    runner, _ = qc.runner(root)
    return runner


def test_a_take_graded_by_a_later_command_is_not_decoded_again(
    film: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = qc.packaged(film)
    take = qc.clip(tmp_path, qc.MILL_BROWN)
    qc.proxy(r, "S01_SH02", take)
    first = later_command(film).run("qc-grader", "S01_SH02")  # not decoded by another test
    stored = film / ".filmslate" / "decoded" / f"{sha(take)}-24.v1.npy"
    assert stored.exists()
    launched, decoded = ffmpeg_launches(monkeypatch), decodes(monkeypatch)
    again = later_command(film).run("qc-grader", "S01_SH02", force=True)
    assert (launched, decoded) == ([], [])  # read from disk: no decode
    assert (again.gate.verdict, qc.batch(r).rows[-1].notes) == (
        first.gate.verdict,
        qc.batch(r).rows[0].notes,
    )
    # a corrupt entry (cut short) is decoded again and written whole
    size = stored.stat().st_size
    stored.write_bytes(stored.read_bytes()[: size // 2])
    assert later_command(film).run("qc-grader", "S01_SH02", force=True).gate.passed
    # decoded once, inside this process (OpenCV's FFmpeg libraries): no ffmpeg run
    assert (launched, decoded) == ([], [len(take)])
    assert stored.stat().st_size == size
    # the cache is no artifact: verify accepts it (and a writer's leftover partial file)
    (stored.parent / f"{stored.name}.123-abcd.part").write_bytes(b"half")
    verified = run_slate("verify", "-C", str(film))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with Project(film) as project:
        assert project.verify() == []


def test_the_folder_is_pruned_least_recently_used_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "decoded"
    _media_cache.use_folder(folder)
    clips = [qc.clip(tmp_path / str(n), colour) for n, colour in enumerate(("#5A4632", "#3A5A6A"))]
    _media_decode._CACHE.clear()  # these bytes may have been decoded by another test
    try:
        _media_decode.decode(clips[0])
        (one,) = folder.glob("*.npy")
        monkeypatch.setattr(_media_cache, "MAX_BYTES", one.stat().st_size + 1)
        _media_decode.decode(clips[1])  # the second take pushes the first out
        assert [p.name for p in folder.glob("*.npy")] != [one.name]
        assert len(list(folder.glob("*.npy"))) == 1
        # the facts database is never pruned with the decodes: both clips' facts stay
        assert (folder / _media_cache.FACTS_FILE).exists()
        assert all(_media_cache.load_facts(sha(c)) for c in clips)
    finally:
        _media_cache.use_folder(None)


def test_a_take_probed_first_is_decoded_once_for_every_consumer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download check and the conform probe a take before the gate and QC decode it: the
    first probe decodes it whole (in this process), so one decode serves all; a later
    command's probe reads the facts database; a clip too large to be a take is only counted,
    its facts kept too."""
    _media_cache.use_folder(tmp_path / "decoded")
    take = qc.clip(tmp_path, "#3A5A6A", duration=3.0)
    _media_decode._CACHE.clear()
    _media_decode._FACTS.clear()
    try:
        launched, decoded = ffmpeg_launches(monkeypatch), decodes(monkeypatch)
        info = _media_decode.probe(take)
        # decoded whole (the header and the frames), inside this process: no ffmpeg run
        assert (launched, decoded) == ([], [len(take)])
        assert _media_decode.decode(take).info == info and len(decoded) == 1
        _media_decode._CACHE.clear()  # a later command: nothing in memory
        _media_decode._FACTS.clear()
        assert _media_decode.probe(take) == info and len(decoded) == 1  # the facts database
        assert launched == []
        assert _media_cache.load_facts(sha(take)) == (
            info.duration_s,
            info.width,
            info.height,
            info.fps,
            info.frames,
        )
        # a whole cut (here: any clip above the bound) is counted, never decoded for frames
        monkeypatch.setattr(_media_decode, "DECODE_ON_PROBE_BYTES", 0)
        cut = qc.clip(tmp_path / "cut", "#5A4632", duration=2.0)
        before = len(list((tmp_path / "decoded").glob("*.npy")))
        counted = _media_decode.probe(cut)
        assert len(list((tmp_path / "decoded").glob("*.npy"))) == before
        _media_decode._FACTS.clear()
        runs = len(launched)
        assert _media_decode.probe(cut) == counted and len(launched) == runs
    finally:
        _media_cache.use_folder(None)
