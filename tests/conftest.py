"""Shared fixtures."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from cnn_design_env.space import list_spaces

# Property tests (Hypothesis): "ci" (the default) keeps the whole suite within its time budget on
# 2 cores (about 10 s for tests/test_properties.py); HYPOTHESIS_PROFILE=dev runs 10x more.
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PRESETS = list_spaces()
SMALL_PRESETS = ["vgg_mini", "inception_mini", "unet_mini"]


@pytest.fixture(params=PRESETS)
def preset_name(request) -> str:
    """Every preset space name."""
    return request.param
