"""Shared fixtures."""

from __future__ import annotations

import pytest

from cnn_design_env.space import list_spaces

PRESETS = list_spaces()
SMALL_PRESETS = ["vgg_mini", "inception_mini", "unet_mini"]


@pytest.fixture(params=PRESETS)
def preset_name(request) -> str:
    """Every preset space name."""
    return request.param
