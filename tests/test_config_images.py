"""filmslate.toml for real pictures: [images], [providers.<name>] tables beside the flat keys,
[catalogue] overrides, and every model name checked at load with its key and line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import ConfigError, parse_config
from filmslate.core._config import default_toml, key_lines

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
FLUX = "fal:fal-ai/flux/dev"
SEEDREAM = "fal:fal-ai/bytedance/seedream/v4/edit"


def config_text(**replace: str) -> str:
    text = default_toml("demo")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def problem(text: str) -> tuple[str, int | None, str]:
    """The one problem of a config text (and its one-line message names key and line)."""
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert len(info.value.problems) == 1, info.value.problems
    key, line, message = info.value.problems[0]
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"filmslate.toml:{line}: {key}: ")
    return key, line, message


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(needle))


def test_images_default_offline_with_per_use_overrides() -> None:
    config = parse_config(default_toml("demo"))
    assert config.images.model == "offline"
    assert all(config.images.offline(use) for use in ("sheet", "storyboard", "first_frame"))
    config = parse_config(
        config_text(**{'model = "offline"': f'model = "{FLUX}"\nstoryboard = "{SEEDREAM}"'})
    )
    assert config.images.model_for("sheet") == FLUX
    assert config.images.model_for("first_frame") == FLUX
    assert config.images.model_for("storyboard") == SEEDREAM
    assert not config.images.offline("sheet")


def test_visual_and_images_take_catalogue_models() -> None:
    text = config_text(
        **{'premium = "animatic"': f'premium = "{KLING}"', 'model = "offline"': f'model = "{FLUX}"'}
    )
    config = parse_config(text)
    assert config.visual.premium == KLING and config.visual.mid == "animatic"


@pytest.mark.parametrize(
    ("replace", "key", "words"),
    [
        (
            {'premium = "animatic"': f'premium = "{KLING[:-3]}vdeo"'},
            "visual.premium",
            ["not in the model catalogue", f"did you mean {KLING}", '[catalogue."fal:'],
        ),
        ({'mid = "animatic"': 'mid = "kling"'}, "visual.mid", ['"provider:model"']),
        ({'low = "animatic"': f'low = "{FLUX}"'}, "visual.low", ["is an image model"]),
        ({'model = "offline"': f'model = "{KLING}"'}, "images.model", ["is a video model"]),
        ({'model = "offline"': 'model = "animatic"'}, "images.model", ['"offline"']),
        (
            {'model = "offline"': 'model = "offline"\nsheet = "fal:fal-ai/flux/dv"'},
            "images.sheet",
            [f"did you mean {FLUX}"],
        ),
        (
            {'premium = "animatic"': 'premium = "nobody:some-model"'},
            "visual.premium",
            ["filmslate.video_providers"],
        ),
    ],
)
def test_a_bad_model_name_is_one_line_naming_key_line_and_matches(
    replace: dict[str, str], key: str, words: list[str]
) -> None:
    text = config_text(**replace)
    found_key, line, message = problem(text)
    assert found_key == key
    assert line == key_lines(text)[key]
    assert key.rsplit(".", 1)[1] in text.splitlines()[line - 1]
    for word in words:
        assert word in message


def test_a_model_priced_in_prices_video_still_works() -> None:
    # the way before the catalogue: a model described by its per-second price alone
    text = config_text(
        **{
            'premium = "animatic"': 'premium = "fal:hero"',
            "[prices]\n": '[prices]\nvideo = { "fal:hero" = { proxy = 0.1, final = 0.4 } }\n',
        }
    )
    assert parse_config(text).visual.premium == "fal:hero"


def install_provider_plugin(site: Path, group: str, name: str, dist: str) -> None:
    """A distribution on sys.path whose entry point registers a provider, as pip leaves it."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {dist}:Provider\n")


def test_a_provider_registered_by_entry_point_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = config_text(
        **{
            'premium = "animatic"': 'premium = "lumen:clip-1"',
            'model = "offline"': 'model = "lumen:still"',
        }
    )
    with pytest.raises(ConfigError) as refused:  # nothing installed yet
        parse_config(text)
    assert [key for key, _, _ in refused.value.problems] == ["visual.premium", "images.model"]
    install_provider_plugin(tmp_path / "site", "filmslate.video_providers", "lumen", "lumen_video")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "site")])
    # the video group does not make it an image provider
    assert problem(text)[0] == "images.model"
    install_provider_plugin(tmp_path / "site2", "filmslate.image_providers", "lumen", "lumen_image")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "site2")])
    config = parse_config(text)
    assert (config.visual.premium, config.images.model) == ("lumen:clip-1", "lumen:still")


def test_provider_tables_beside_the_flat_keys() -> None:
    text = config_text(
        **{
            "[prices]\n": (
                "[providers.fal]\n"
                'base_url = "http://127.0.0.1:8123/"\n'
                'api_key_env = "STUDIO_FAL_KEY"\n'
                "timeout_s = 30\n"
                "max_concurrent = 3\n\n"
                "[prices]\n"
            ),
            "timeout_s = 120.0": (
                'timeout_s = 120.0\nbase_urls = { compat = "http://localhost:11434/v1" }\n'
                'api_key_env = { openai = "WORK_OPENAI_KEY" }'
            ),
        }
    )
    providers = parse_config(text).providers
    fal = providers.table("fal")
    assert (fal.base_url, fal.api_key_env, fal.timeout_s, fal.max_concurrent) == (
        "http://127.0.0.1:8123",
        "STUDIO_FAL_KEY",
        30,
        3,
    )
    # the old flat keys keep working, and the text gateway's maps see the table too
    assert providers.base_urls == {"compat": "http://localhost:11434/v1", "fal": fal.base_url}
    assert providers.api_key_env == {"openai": "WORK_OPENAI_KEY", "fal": "STUDIO_FAL_KEY"}
    compat = providers.table("compat")
    assert (compat.base_url, compat.timeout_s, compat.max_concurrent) == (
        "http://localhost:11434/v1",
        120.0,
        None,
    )
    assert providers.table("replicate").base_url is None


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        (
            '[providers.fal]\napi_key_env = "fal-123:secret"\n',
            "providers.fal.api_key_env",
            ["never the key"],
        ),
        ("[providers.fal]\nmax_concurrent = 0\n", "providers.fal.max_concurrent", ["greater than"]),
        (
            '[providers.fal]\nbase_url = "queue.fal.run"\n',
            "providers.fal.base_url",
            ["http(s) URL"],
        ),
        ("[providers.fal]\ntimeout = 3\n", "providers.fal.timeout", ["not permitted"]),
        (
            '[providers.fal]\nbase_url = "http://a.example"\n',
            "providers.fal.base_url",
            ["two different values"],
        ),
    ],
)
def test_provider_table_problems(table: str, key: str, words: list[str]) -> None:
    text = config_text(
        **{
            "[prices]\n": table + "\n[prices]\n",
            "timeout_s = 120.0": 'timeout_s = 120.0\nbase_urls = { fal = "http://b.example" }',
        }
    )
    found_key, line, message = problem(text)
    assert found_key == key and line is not None
    assert key.rsplit(".", 1)[1] in text.splitlines()[line - 1]
    assert all(word in message for word in words), message


def test_a_flat_providers_typo_points_at_the_table_form() -> None:
    text = config_text(**{"timeout_s = 120.0": "timeout_s = 120.0\ntimout_s = 3"})
    key, line, message = problem(text)
    assert key == "providers.timout_s" and line == line_of(text, "timout_s")
    assert "[providers.timout_s] table" in message


def test_catalogue_overrides_reach_the_catalogue() -> None:
    text = default_toml("demo") + (
        f'\n[catalogue."{FLUX}".billing]\nprice = 0.03\nsource = "invoice 2026-11"\n'
        "as_of = 2026-11-30\n"
        '\n[catalogue."fal:studio/clip-v1"]\nkind = "video"\ndurations = [5]\n'
        '[catalogue."fal:studio/clip-v1".billing]\nunit = "per_second"\nprice = 0.1\n'
        'failed_jobs_charged = false\nsource = "our contract"\nas_of = 2026-11-30\n'
    )
    text = text.replace('premium = "animatic"', 'premium = "fal:studio/clip-v1"')
    config = parse_config(text)
    catalogue = config.model_catalogue()
    assert catalogue.get(FLUX).billing.price == 0.03
    assert catalogue.get("fal:studio/clip-v1").cost(5) == 0.5
    assert config.visual.premium == "fal:studio/clip-v1"
    # asked per job by a render: built once, not read from the files each time
    assert config.model_catalogue() is parse_config(text).model_catalogue()


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        (
            f'[catalogue."{FLUX}".billing]\nprice = 0.03\n',
            f"catalogue.{FLUX}.billing.source",
            ["source and date"],
        ),
        (
            '[catalogue."fal:studio/clip"]\nkind = "video"\n',
            "catalogue.fal:studio/clip.billing",
            ["missing"],
        ),
        (
            f'[catalogue."{FLUX}"]\nmax_prompt_chars = -3\n',
            f"catalogue.{FLUX}.max_prompt_chars",
            ["greater than 0", "max_prompt_chars ="],
        ),
    ],
)
def test_catalogue_problems_name_the_key_and_line(body: str, key: str, words: list[str]) -> None:
    text = default_toml("demo") + "\n" + body
    found_key, line, message = problem(text)
    assert found_key == key
    # the field's own line when the file has it, else its table's header
    needle = words.pop() if words[-1].endswith(" =") else body.splitlines()[0]
    assert line == line_of(text, needle)
    assert all(word in message for word in words), message


def test_slate_config_check_is_clean_and_names_a_bad_model(tmp_path: Path) -> None:
    run_slate("init", str(tmp_path / "film"), check=True)
    film = tmp_path / "film"
    assert "ok" in run_slate("config", "check", cwd=film, check=True).stdout
    path = film / "filmslate.toml"
    path.write_text(
        path.read_text().replace('mid = "animatic"', 'mid = "fal:fal-ai/sora-2/image-to-vido"')
    )
    refused = run_slate("config", "check", cwd=film)
    assert refused.returncode == 2
    said = refused.stdout + refused.stderr
    assert "visual.mid" in said and "fal:fal-ai/sora-2/image-to-video" in said
    assert "Traceback" not in said
