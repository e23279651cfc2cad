"""DRF's browsable API under the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework.renderers import BrowsableAPIRenderer


class BrowsableAPIWithInlineStyles(BrowsableAPIRenderer):
    """DRF's HTML pages, whose templates carry inline `style` attributes and a `<style>` block:
    their answers (and only theirs) allow inline style. Scripts stay this site's files only."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        return super().render(data, accepted_media_type, renderer_context)
