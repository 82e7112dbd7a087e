"""A ComfyUI behind an authenticating gateway: when ``[providers.comfyui] api_key_env`` names a
variable that is not set, the first call stops naming it (like fal and Replicate), as an
``auth`` failure that proves nothing was sent; the server receives no request at all."""

from __future__ import annotations

import httpx
import pytest

from filmslate import ProviderError
from filmslate.providers.comfyui import ComfyUIImageProvider
from filmslate.testing.comfyui_server import ComfyUIServer
from test_comfyui_provider import IMAGE, image_job


def test_a_named_key_that_is_not_set_stops_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COMFY_GATEWAY_TOKEN", raising=False)
    with ComfyUIServer() as server, httpx.Client(timeout=10) as client:
        provider = ComfyUIImageProvider(
            server.url, entry=IMAGE, http_client=client, api_key_env="COMFY_GATEWAY_TOKEN"
        )
        with pytest.raises(ProviderError, match="COMFY_GATEWAY_TOKEN") as caught:
            provider.submit(image_job())
        assert caught.value.context["failure"] == "auth"
        assert caught.value.context["maybe_sent"] is False
        assert server.received == []
