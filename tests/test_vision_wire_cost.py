"""A QC-shaped vision request on each vendor's wire, and the cost recorded for it (issue 13
Done-when: "against a local OpenAI-compatible server (and a constructed Anthropic and Gemini
exchange), a QC request carries N image parts plus the sheets, and the recorded cost includes
them").

tests/test_qc_vision runs qc-grader itself on the local server; here the same shape of request
(six take frames as JPEG and three sheets as PNG, as qc-grader attaches them) goes through each
vendor's constructed exchange: nine image parts in order, each after its label, the vendor bills
the images in its input tokens, and the cost the gateway returns (what the runner settles) is
those tokens at the model's price, within the worst case reserved before the call.
"""

from __future__ import annotations

import io
import json

import pytest

from filmslate.engine._attachments import Attachment, image_tokens
from filmslate.engine._gateway import estimate_tokens
from filmslate.testing._media_server import png_bytes
from test_providers_http import VENDORS, Vendor, ask, expected_cost, make_gateway, ok
from test_vision_wire import sent_images


def jpeg(label: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(320, 180, label))).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


FRAMES = tuple(
    Attachment(f"take frame {n} of 6 (about {n * 0.6 - 0.6:.1f} s)", jpeg(f"f{n}"), "image/jpeg")
    for n in range(1, 7)
)
SHEETS = tuple(
    Attachment(f"reference: {name}", png_bytes(1280, 720, name))
    for name in ("CHAR_ALEX_REF_v001", "CHAR_MIRA_REF_v001", "SET_OLD_MILL_REF_v001")
)
IMAGES = (*FRAMES, *SHEETS)


@pytest.mark.parametrize("vendor", VENDORS, ids=[v.prefix for v in VENDORS])
def test_a_qc_request_carries_frames_and_sheets_and_its_cost_counts_them(
    tmp_path, vendor: Vendor
) -> None:
    import respx

    request = ask(vendor, images=IMAGES)
    pictures = sum(image_tokens(vendor.prefix, *a.size) for a in IMAGES)
    billed = (estimate_tokens(request.system + request.prompt) + pictures, 80)
    router = respx.Router(assert_all_mocked=True, assert_all_called=False)
    route = router.post(vendor.url).mock(return_value=ok(vendor, tokens=billed))
    with make_gateway(tmp_path, router) as gateway:
        worst = gateway.worst_case_cost(request)
        result = gateway.complete(request)
    body = json.loads(route.calls.last.request.content)
    assert sent_images(vendor, body) == [(a.media_type, a.data) for a in IMAGES]
    wire = json.dumps(body)
    assert all(a.label in wire for a in IMAGES)
    # the cost settled is the vendor's billed tokens, the images' share included
    assert result.usage.input_tokens == billed[0]
    assert result.cost == pytest.approx(expected_cost(vendor, billed))
    text_only = expected_cost(vendor, (billed[0] - pictures, billed[1]))
    assert result.cost > text_only
    assert worst >= result.cost
