"""Images on text-model requests reach the wire in each vendor's format (issue 13 §1).

Constructed exchanges as in test_providers_http (respx behind the gateway's own client): the
request a vendor SDK puts on the wire carries one image part per attachment, after a text part
naming it, and the worst case reserved before the call counts the image tokens.
"""

from __future__ import annotations

import base64
import json

import pytest

from filmslate.core._errors import UserError
from filmslate.engine._attachments import Attachment, blind_model, image_tokens, takes_images
from filmslate.testing._media_server import png_bytes
from test_providers_http import GOOD, VENDORS, Vendor, ask, make_gateway, ok

FRAMES = tuple(
    Attachment(f"take frame {i} of 3", png_bytes(320, 180, f"frame {i}")) for i in range(1, 4)
)
SHEET = Attachment("reference: CHAR_NELL_REF_v002", png_bytes(1280, 720, "nell"))
IMAGES = (*FRAMES, SHEET)


def sent_images(vendor: Vendor, body: dict) -> list[tuple[str, bytes]]:
    """(media type, bytes) of every image part in a request body, in order."""
    found = []
    if vendor.prefix == "anthropic":
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else []:
                if block["type"] == "image":
                    source = block["source"]
                    found.append((source["media_type"], base64.b64decode(source["data"])))
    elif vendor.prefix == "gemini":
        for content in body["contents"]:
            for part in content["parts"]:
                if "inline_data" in part or "inlineData" in part:
                    data = part.get("inline_data") or part["inlineData"]
                    mime = data.get("mime_type") or data["mimeType"]
                    # the SDK sends URL-safe base64 (bytes fields in Google's JSON mapping)
                    found.append((mime, base64.urlsafe_b64decode(data["data"])))
    else:
        for message in body["messages"]:
            content = message.get("content")
            for part in content if isinstance(content, list) else []:
                if part["type"] == "image_url":
                    url = part["image_url"]["url"]
                    head, _, data = url.partition(",")
                    found.append((head.removeprefix("data:").split(";")[0], base64.b64decode(data)))
    return found


def sent_text(body: dict) -> str:
    return json.dumps(body)


@pytest.mark.parametrize("vendor", VENDORS, ids=[v.prefix for v in VENDORS])
def test_every_image_goes_out_as_an_image_part_with_its_label(tmp_path, vendor):
    import respx

    router = respx.Router(assert_all_mocked=True, assert_all_called=False)
    route = router.post(vendor.url).mock(return_value=ok(vendor))
    with make_gateway(tmp_path, router) as gateway:
        result = gateway.complete(ask(vendor, images=IMAGES))
    assert result.output.model_dump() == GOOD
    body = json.loads(route.calls.last.request.content)
    images = sent_images(vendor, body)
    assert images == [("image/png", a.data) for a in IMAGES]
    for attachment in IMAGES:
        assert attachment.label in sent_text(body)


@pytest.mark.parametrize("vendor", VENDORS, ids=[v.prefix for v in VENDORS])
def test_worst_case_counts_the_image_tokens(tmp_path, vendor):
    import respx

    router = respx.Router(assert_all_mocked=True)
    with make_gateway(tmp_path, router) as gateway:
        plain = gateway.worst_case_cost(ask(vendor))
        seen = gateway.worst_case_cost(ask(vendor, images=IMAGES))
    prices = gateway.provider(f"{vendor.prefix}:{vendor.model}").token_prices(vendor.model)
    tokens = sum(image_tokens(vendor.prefix, *a.size) for a in IMAGES)
    retries = 1 + 2  # schema_retries=2: each re-ask resends the images
    assert seen - plain >= tokens * prices[0] / 1e6 * retries - 1e-12


def test_per_vendor_image_token_formulas():
    # OpenAI tiles: 1280x720 -> 1365x768 -> 3x2 tiles = 85 + 6*170; patches 40*23*2.46
    assert image_tokens("openai", 1280, 720) == max(85 + 170 * 6, 2264)
    assert image_tokens("anthropic", 1280, 720) == 1229  # 1280*720/750
    assert image_tokens("gemini", 320, 180) == 258
    assert image_tokens("gemini", 1280, 720) == 258 * 2
    assert image_tokens("compat", 1280, 720) == 2264  # the largest of the three


def test_which_models_take_images():
    assert takes_images("openai:gpt-4.1-mini")
    assert takes_images("anthropic:claude-sonnet-4-6")
    assert takes_images("gemini:gemini-2.5-flash")
    assert not takes_images("openai:gpt-3.5-turbo")
    assert not takes_images("compat:qwen-plus")
    assert takes_images("compat:qwen-plus", {"compat:qwen-plus"})


def test_a_blind_model_is_refused_naming_the_tier():
    message = str(blind_model("compat:qwen-plus", "vision", "qc-grader"))
    assert "vision tier" in message and "compat:qwen-plus" in message
    assert "vision_models" in message


def test_an_attachment_that_is_not_an_image_is_refused():
    with pytest.raises(UserError, match="not an image type"):
        Attachment("take", b"\x00\x00", media_type="video/mp4")


# -- offline providers carry the attachments ---------------------------------------------------


def offline_gateway(tmp_path):
    from filmslate.engine._gateway import Gateway, ProviderSettings

    return Gateway(tmp_path, ProviderSettings(), env={})


def offline_ask(prefix: str, **overrides):
    from filmslate.engine._gateway import TextRequest
    from test_providers_http import Beat

    fields = dict(
        skill="qc-grader",
        target="S01_SH02",
        attempt=1,
        model=f"{prefix}:vision",
        system="Grade the take.",
        prompt="Score the frames.",
        output_type=Beat,
        images=IMAGES,
    )
    return TextRequest(**{**fields, **overrides})


def test_handoff_writes_the_images_beside_the_task(tmp_path):
    import hashlib

    from filmslate.core._errors import WaitingForHandoff

    with offline_gateway(tmp_path) as gateway, pytest.raises(WaitingForHandoff):
        gateway.complete(offline_ask("handoff"))
    inbox = tmp_path / "inbox"
    task = json.loads((inbox / "qc-grader__S01_SH02__1.task.json").read_text())
    assert [i["label"] for i in task["images"]] == [a.label for a in IMAGES]
    for entry, attachment in zip(task["images"], IMAGES, strict=True):
        written = (inbox / entry["file"]).read_bytes()
        assert written == attachment.data
        assert entry["sha256"] == hashlib.sha256(written).hexdigest()
    markdown = (inbox / "qc-grader__S01_SH02__1.task.md").read_text()
    assert "![take frame 2 of 3](qc-grader__S01_SH02__1.image-02.png)" in markdown
    # asked again with the same images: the same task, nothing refused
    with offline_gateway(tmp_path) as gateway, pytest.raises(WaitingForHandoff):
        gateway.complete(offline_ask("handoff"))
    (inbox / "qc-grader__S01_SH02__1.answer.json").write_text(json.dumps(GOOD))
    with offline_gateway(tmp_path) as gateway:
        assert gateway.complete(offline_ask("handoff")).output.model_dump() == GOOD


def test_replay_checks_the_images_an_answer_was_written_for(tmp_path):
    from filmslate import ProviderError

    folder = tmp_path / "replay" / "qc-grader" / "S01_SH02"
    folder.mkdir(parents=True)
    labels = [a.label for a in IMAGES]
    (folder / "1.json").write_text(json.dumps({"output": GOOD, "images": labels}))
    with offline_gateway(tmp_path) as gateway:
        assert gateway.complete(offline_ask("replay")).output.model_dump() == GOOD
        with pytest.raises(ProviderError, match="was written for the images"):
            gateway.complete(offline_ask("replay", images=FRAMES))
