"""Search spaces: layer graphs with choice sets (pure Python + NumPy)."""

from cnn_design_env.space import layers
from cnn_design_env.space.analysis import Analysis, LayerInfo, analyze, same_size
from cnn_design_env.space.design import Design
from cnn_design_env.space.graph import DEFAULT_TRAINING, SearchSpace
from cnn_design_env.space.layers import Layer
from cnn_design_env.space.presets import PRESETS, get_space, list_spaces

__all__ = [
    "DEFAULT_TRAINING", "PRESETS", "Analysis", "Design", "Layer", "LayerInfo", "SearchSpace",
    "analyze", "get_space", "layers", "list_spaces", "same_size",
]
