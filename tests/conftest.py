"""Shared fixtures."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from cnn_design_env.space import list_spaces

# Property tests (Hypothesis): "ci" (the default) keeps the whole suite within its time budget on
# 2 cores; HYPOTHESIS_PROFILE=dev runs 10x more examples, e.g. before a release.
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PRESETS = list_spaces()
SMALL_PRESETS = ["vgg_mini", "inception_mini", "unet_mini"]


@pytest.fixture(params=PRESETS)
def preset_name(request) -> str:
    """Every preset space name."""
    return request.param
