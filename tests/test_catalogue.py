"""The model catalogue (core._catalogue): shipped entries, snapping, costs, overrides, errors."""

from __future__ import annotations

import math
import re
import tomllib
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from filmslate.core._catalogue import Catalogue, ModelEntry, load_catalogue
from filmslate.core._errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "src" / "filmslate" / "core" / "catalogue"
KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
REQUIRED = (
    KLING,
    "fal:fal-ai/kling-video/v3/pro/image-to-video",
    "fal:fal-ai/veo3.1/image-to-video",
    "fal:fal-ai/sora-2/image-to-video",
    "fal:bytedance/seedance-2.0/reference-to-video",
    "fal:wan/v2.6/image-to-video",
    "fal:fal-ai/minimax/hailuo-2.3/standard/image-to-video",
    "fal:fal-ai/flux/dev",
    "fal:fal-ai/bytedance/seedream/v4/edit",
    "comfyui:flux-dev",
    "comfyui:wan2.2-i2v-14b",
    "replicate:kwaivgi/kling-v2.1",
    "replicate:black-forest-labs/flux-dev",
)
SOURCE_FORMS = ("https://", "local:", "unverified:")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def entry(catalogue: Catalogue, key: str) -> ModelEntry:
    return catalogue.get(key)


# --- the shipped entries -------------------------------------------------------------------


def test_every_required_model_is_shipped(catalogue: Catalogue) -> None:
    missing = [key for key in REQUIRED if key not in catalogue]
    assert not missing


def test_every_shipped_entry_carries_its_price_source_and_date(catalogue: Catalogue) -> None:
    for key in catalogue:
        billing = catalogue.get(key).billing
        assert billing.source.startswith(SOURCE_FORMS), key
        assert date(2025, 1, 1) <= billing.as_of <= date.today(), key
        assert billing.verified == (not billing.source.startswith("unverified")), key


def test_every_shipped_video_entry_snaps_and_prices_every_frame(catalogue: Catalogue) -> None:
    for key in catalogue:
        model = catalogue.get(key)
        for width, height in ((640, 360), (1280, 720), (720, 1280), (1920, 1080)):
            planned = 5.0 if model.kind == "video" else 0.0
            worst = model.worst_case_cost(planned, width, height)
            assert worst >= model.cost(planned, width, height) >= 0, key
        if model.kind == "video":
            allowed = model.allowed_durations()
            assert model.snap_duration(0.01) == allowed[0], key
            assert model.snap_duration(999.0) == allowed[-1], key


def test_the_package_data_glob_covers_every_shipped_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["filmslate"]
    assert "core/catalogue/*.toml" in globs
    assert {p.suffix for p in SHIPPED_DIR.iterdir() if p.is_file()} == {".toml"}


def test_entries_are_frozen(catalogue: Catalogue) -> None:
    kling = entry(catalogue, KLING)
    with pytest.raises(ValidationError):
        kling.max_prompt_chars = 10  # type: ignore[misc]


def test_the_key_splits_into_provider_and_model(catalogue: Catalogue) -> None:
    kling = entry(catalogue, KLING)
    assert (kling.provider, kling.model) == ("fal", KLING.removeprefix("fal:"))


def test_an_unknown_model_is_refused_with_close_matches(catalogue: Catalogue) -> None:
    with pytest.raises(UserError) as caught:
        catalogue.get("fal:fal-ai/flux/devv")
    assert "did you mean fal:fal-ai/flux/dev" in str(caught.value)
    assert '[catalogue."fal:fal-ai/flux/devv"]' in str(caught.value)
    assert "\n" not in str(caught.value)


# --- snapping durations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned", "snapped"),
    [(1.0, 5.0), (4.2, 5.0), (5.0, 5.0), (5.0004, 5.0), (5.01, 10.0), (10.0, 10.0), (12.0, 10.0)],
)
def test_snapping_takes_the_shortest_length_not_below_the_plan(
    catalogue: Catalogue, planned: float, snapped: float
) -> None:
    assert entry(catalogue, KLING).snap_duration(planned) == snapped


def test_snapping_a_range_uses_its_steps(catalogue: Catalogue) -> None:
    wan = entry(catalogue, "comfyui:wan2.2-i2v-14b")
    assert wan.snap_duration(3.3) == 3.5
    assert wan.snap_duration(0.1) == 0.25
    assert wan.snap_duration(7.0) == 5.0


@pytest.mark.parametrize("seconds", [0.0, -1.0, math.nan, math.inf])
def test_snapping_refuses_a_length_that_is_not_a_clip(catalogue: Catalogue, seconds: float) -> None:
    with pytest.raises(UserError):
        entry(catalogue, KLING).snap_duration(seconds)


def test_an_image_model_has_no_durations(catalogue: Catalogue) -> None:
    with pytest.raises(UserError, match="image model"):
        entry(catalogue, "fal:fal-ai/flux/dev").snap_duration(5.0)


@given(st.floats(min_value=0.01, max_value=60.0))
def test_a_snapped_length_is_allowed_and_never_short_unless_the_plan_is_too_long(
    planned: float,
) -> None:
    for key in (KLING, "fal:fal-ai/veo3.1/image-to-video", "comfyui:wan2.2-i2v-14b"):
        model = load_catalogue().get(key)
        snapped = model.snap_duration(planned)
        allowed = model.allowed_durations()
        assert snapped in allowed
        assert snapped >= planned - 1e-3 or snapped == allowed[-1]
        shorter = [length for length in allowed if planned - 1e-3 <= length < snapped]
        assert not shorter


@pytest.mark.parametrize(
    ("key", "planned", "sent"),
    [
        (KLING, 4.0, "5"),
        ("fal:fal-ai/veo3.1/image-to-video", 5.0, "6s"),
        ("fal:fal-ai/sora-2/image-to-video", 7.5, 8),
        ("comfyui:wan2.2-i2v-14b", 5.0, 81),
        ("comfyui:wan2.2-i2v-14b", 3.3, 57),
    ],
)
def test_the_duration_is_sent_in_the_model_s_format(
    catalogue: Catalogue, key: str, planned: float, sent: object
) -> None:
    assert entry(catalogue, key).duration_input(planned) == sent


# --- costs ---------------------------------------------------------------------------------


def test_per_second_cost_is_the_snapped_length_at_the_frame_s_tier(catalogue: Catalogue) -> None:
    veo = entry(catalogue, "fal:fal-ai/veo3.1/image-to-video")
    assert veo.cost(5.0, 1280, 720) == pytest.approx(1.2)  # 6 s at $0.20
    assert veo.cost(8.0, resolution="4k") == pytest.approx(3.2)
    assert veo.worst_case_cost(5.0, 3840, 2160) == pytest.approx(2.4)
    assert veo.worst_case_cost(5.0, 1920, 1080) == pytest.approx(1.2)
    assert entry(catalogue, "fal:fal-ai/sora-2/image-to-video").cost(8.0) == pytest.approx(0.8)


def test_a_price_by_resolution_needs_the_frame_or_the_tier(catalogue: Catalogue) -> None:
    with pytest.raises(UserError, match="priced by resolution"):
        entry(catalogue, "fal:fal-ai/veo3.1/image-to-video").cost(4.0)
    with pytest.raises(UserError, match="no resolution '8k'"):
        entry(catalogue, "fal:fal-ai/veo3.1/image-to-video").cost(4.0, resolution="8k")


def test_per_clip_cost_is_the_price_of_the_clip_sent(catalogue: Catalogue) -> None:
    kling = entry(catalogue, KLING)
    assert kling.cost(5.0) == pytest.approx(0.28)
    assert kling.cost(7.0) == pytest.approx(0.56)  # a 10 s clip is sent and paid
    assert kling.worst_case_cost(7.0, 1280, 720) == pytest.approx(0.56)
    hailuo = entry(catalogue, "fal:fal-ai/minimax/hailuo-2.3/standard/image-to-video")
    assert hailuo.cost(3.0) == pytest.approx(0.28)


def test_per_image_cost_is_flat(catalogue: Catalogue) -> None:
    seedream = entry(catalogue, "fal:fal-ai/bytedance/seedream/v4/edit")
    assert seedream.cost(0.0, 2048, 2048) == pytest.approx(0.03)
    assert seedream.worst_case_cost(0.0, 4096, 4096) == pytest.approx(0.03)
    assert entry(catalogue, "comfyui:flux-dev").worst_case_cost(0.0, 1920, 1080) == 0.0


def test_per_megapixel_cost_rounds_up_to_whole_megapixels(catalogue: Catalogue) -> None:
    flux = entry(catalogue, "fal:fal-ai/flux/dev")
    assert flux.cost(0.0, 1024, 1024) == pytest.approx(0.025)
    assert flux.cost(0.0, 1280, 720) == pytest.approx(0.025)
    assert flux.cost(0.0, 1920, 1080) == pytest.approx(0.05)
    with pytest.raises(UserError, match="priced by area"):
        flux.cost(0.0)


def test_per_video_token_cost_follows_the_token_formula(catalogue: Catalogue) -> None:
    seedance = entry(catalogue, "fal:bytedance/seedance-2.0/reference-to-video")
    # 1280 x 720 x 24 fps x 5 s / 1024 = 108,000 tokens at $0.014 per 1000
    assert seedance.cost(5.0, resolution="720p") == pytest.approx(1.512)
    assert seedance.cost(5.0, 1280, 720) == pytest.approx(1.512)
    # A 1000x560 frame maps to the 720p tier, whose native frame is what is billed at worst.
    assert seedance.worst_case_cost(5.0, 1000, 560) == pytest.approx(1.512)
    with pytest.raises(UserError, match="priced by resolution"):
        seedance.cost(5.0)  # 480p, 720p or 1080p: the tier decides the tokens


def test_prompt_limits(catalogue: Catalogue) -> None:
    kling = entry(catalogue, KLING)
    assert kling.fits_prompt("x" * 2500)
    assert not kling.fits_prompt("x" * 2501)
    assert entry(catalogue, "fal:fal-ai/sora-2/image-to-video").fits_prompt("x" * 100_000)


def test_the_resolution_for_a_frame_covers_it_in_either_orientation(
    catalogue: Catalogue,
) -> None:
    veo = entry(catalogue, "fal:fal-ai/veo3.1/image-to-video")
    assert veo.resolution_for(1280, 720) == "720p"
    assert veo.resolution_for(720, 1280) == "720p"
    assert veo.resolution_for(1300, 720) == "1080p"
    assert veo.resolution_for(8000, 4000) == "4k"
    assert entry(catalogue, "fal:fal-ai/flux/dev").resolution_for(1280, 720) is None


# --- overrides from filmslate.toml ---------------------------------------------------------


def test_an_override_changes_a_price_and_keeps_the_rest() -> None:
    catalogue = load_catalogue(
        {
            KLING: {
                "billing": {
                    "clips": {"5": 0.30, "10": 0.60},
                    "source": "fal invoice 2026-11",
                    "as_of": date(2026, 11, 30),
                }
            }
        }
    )
    kling = catalogue.get(KLING)
    assert kling.cost(5.0) == pytest.approx(0.30)
    assert kling.billing.source == "fal invoice 2026-11"
    assert kling.billing.failed_jobs_charged is False
    assert kling.input.first_image == "image_url"
    assert load_catalogue().get(KLING).cost(5.0) == pytest.approx(0.28)  # shipped one untouched


def test_an_override_may_come_as_read_only_mappings() -> None:
    billing = MappingProxyType({"price": 0.03, "source": "a quote", "as_of": date(2026, 12, 1)})
    catalogue = load_catalogue(MappingProxyType({"fal:fal-ai/flux/dev": {"billing": billing}}))
    assert catalogue.get("fal:fal-ai/flux/dev").cost(0.0, 1024, 1024) == pytest.approx(0.03)


def test_an_override_changes_durations_and_limits() -> None:
    catalogue = load_catalogue({KLING: {"max_prompt_chars": 1000, "input": {"seed": "seed"}}})
    kling = catalogue.get(KLING)
    assert not kling.fits_prompt("x" * 1001)
    assert (kling.input.seed, kling.input.first_image) == ("seed", "image_url")


def test_an_override_adds_a_model() -> None:
    new = "fal:fal-ai/kling-video/v2.1/pro/image-to-video"
    catalogue = load_catalogue(
        {
            new: {
                "kind": "video",
                "durations": [5, 10],
                "input": {"first_image": "image_url", "duration": "duration"},
                "billing": {
                    "unit": "per_second",
                    "price": 0.098,
                    "failed_jobs_charged": False,
                    "source": "https://fal.ai/models/fal-ai/kling-video/v2.1/pro/image-to-video",
                    "as_of": "2026-12-01",
                },
            }
        }
    )
    assert catalogue.get(new).cost(5.0) == pytest.approx(0.49)
    assert KLING in catalogue


def test_an_override_with_another_unit_replaces_the_billing() -> None:
    billing = {
        "unit": "per_second",
        "price": 0.05,
        "failed_jobs_charged": True,
        "source": "a gateway's price list",
        "as_of": date(2026, 12, 1),
    }
    kling = load_catalogue({KLING: {"billing": billing}}).get(KLING)
    assert kling.cost(10.0) == pytest.approx(0.5)
    assert kling.billing.clips == {}


def test_a_changed_price_without_its_source_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalogue({KLING: {"billing": {"clips": {"5": 0.3, "10": 0.6}}}})
    message = str(caught.value)
    assert message.startswith(f'filmslate.toml [catalogue."{KLING}"]: billing.source:')
    assert "\n" not in message


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"billing": {"prise": 0.3}}, "billing.prise"),
        ({"max_prompt_chars": -5}, "max_prompt_chars"),
        ({"durations": [5, 15]}, "billing.clips"),
        ({"input": {"references": "image_urls"}}, "input.max_references"),
        ({"resolutions": {"720p": "1280 by 720"}}, "resolutions.720p"),
    ],
)
def test_a_malformed_override_names_the_table_and_the_field(
    override: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalogue({KLING: override})
    message = str(caught.value)
    assert message.startswith(f'filmslate.toml [catalogue."{KLING}"]: {field}:'), message
    assert "\n" not in message
    assert caught.value.problems[0][0].startswith(f"catalogue.{KLING}.")


def test_an_override_key_must_name_provider_and_model() -> None:
    with pytest.raises(ConfigError, match='name the model "provider:model"'):
        load_catalogue({"fal-ai/flux/dev": {"max_prompt_chars": 10}})


# --- malformed catalogue files -------------------------------------------------------------

GOOD = """
schema = 1

[[model]]
id = "vendor/clip"
kind = "video"
durations = [5, 10]

[model.input]
duration = "duration"

[model.billing]
unit = "per_clip"
clips = { "5" = 0.2, "10" = 0.4 }
failed_jobs_charged = false
source = "https://example.com/pricing"
as_of = 2026-12-01
"""


def write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_catalogue_file_of_one_s_own_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(files=[write(tmp_path, GOOD)])
    assert catalogue.keys() == ["acme:vendor/clip"]
    assert catalogue.get("acme:vendor/clip").cost(6.0) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('"10" = 0.4', '"15" = 0.4'), "acme.toml: acme:vendor/clip: billing.clips:"),
        (
            ('unit = "per_clip"', 'unit = "per_minute"'),
            "acme.toml: acme:vendor/clip: billing.unit:",
        ),
        (("durations = [5, 10]", "durations = []"), "acme.toml: acme:vendor/clip: durations:"),
        (
            ("durations = [5, 10]", "durations = [5, -10]"),
            "acme.toml: acme:vendor/clip: durations.1:",
        ),
        (('kind = "video"', 'kind = "audio"'), "acme.toml: acme:vendor/clip: kind:"),
        (
            ('source = "https://example.com/pricing"', ""),
            "acme.toml: acme:vendor/clip: billing.source:",
        ),
        (('id = "vendor/clip"', ""), "acme.toml: model #1: id:"),
        (("schema = 1", "schema = 2"), "acme.toml: schema:"),
        (("[model.input]", "[model.inputs]"), "acme.toml: acme:vendor/clip: inputs:"),
        (("as_of = 2026-12-01", "as_of = 2026-13-01"), "acme.toml: not valid TOML:"),
    ],
)
def test_a_malformed_entry_names_the_file_the_model_and_the_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        load_catalogue(files=[write(tmp_path, GOOD.replace(old, new))])
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_a_model_listed_twice_is_refused(tmp_path: Path) -> None:
    twice = GOOD + GOOD.replace("schema = 1", "")
    with pytest.raises(
        ConfigError, match=re.escape("acme.toml: acme:vendor/clip: id: the model is listed")
    ):
        load_catalogue(files=[write(tmp_path, twice)])


def test_a_file_not_named_after_a_provider_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name the file after its provider"):
        load_catalogue(files=[write(tmp_path, GOOD, name="My Models.toml")])


# --- docs/catalogue.md cannot drift --------------------------------------------------------

DOC = ROOT / "docs" / "catalogue.md"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_names_every_field() -> None:
    from filmslate.core._catalogue import Billing, InputShape

    text = DOC.read_text(encoding="utf-8")
    fields = {*ModelEntry.model_fields, *InputShape.model_fields, *Billing.model_fields}
    missing = sorted(f for f in fields - {"key"} if f"`{f}`" not in text)
    assert not missing


def test_the_doc_s_file_example_is_a_valid_catalogue_file(tmp_path: Path) -> None:
    example = toml_blocks()[0]
    catalogue = load_catalogue(files=[write(tmp_path, example, name="vendor.toml")])
    assert catalogue.get("vendor:vendor/clip-model").cost(6.0, 1920, 1080) == pytest.approx(0.9)


def test_the_doc_s_override_example_loads() -> None:
    overrides = tomllib.loads(toml_blocks()[1])["catalogue"]
    catalogue = load_catalogue(overrides)
    assert catalogue.get(KLING).cost(5.0) == pytest.approx(0.25)
    assert catalogue.get("fal:fal-ai/veo3.1/image-to-video").max_prompt_chars == 1500
    assert catalogue.get("fal:fal-ai/kling-video/v2.1/pro/image-to-video").cost(7.0) == 0.98


def test_the_doc_lists_every_shipped_entry(catalogue: Catalogue) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [key for key in catalogue if f"| `{key}` |" not in text] == []
