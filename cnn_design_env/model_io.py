"""Save a trained design and load it back as a model that predicts (no pickle).

One ``.npz`` file holds everything: ``model.json`` (a JSON string: format, the search space's
name, the design's action indices and hyperparameters, the network's layer graph with the
design's values fixed, input shape, classes, task, training settings and any extra facts such as
the test accuracy) and one array per parameter (``params/<layer>/<name>``) and batch-norm
statistic (``state/<layer>/<name>``). It is read with ``numpy.load(allow_pickle=False)``: nothing
in the file can execute code.

Example::

    from cnn_design_env import load_model
    model = load_model("runs/default/model.npz")
    labels = model.predict(images)            # (N, H, W, C) or (N, H, W) floats in [0, 1]
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.space import Design, Layer, SearchSpace

FORMAT = "cnn_design_env.model/1"
"""Format tag written into ``model.json``."""


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples the space uses."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def fixed_space(space: SearchSpace, design: Design | Sequence[int]) -> SearchSpace:
    """A copy of ``space`` whose tunable layers offer only ``design``'s values.

    Its only design, all zeros, builds the same network as ``design`` in ``space``.

    Example:
        >>> from cnn_design_env.space import get_space, analyze
        >>> space = get_space("vgg_mini")
        >>> one = fixed_space(space, (3, 0, 1, 2, 1, 0))
        >>> same = analyze(one, (0,) * 6).params == analyze(space, (3, 0, 1, 2, 1, 0)).params
        >>> one.action_sizes, same
        ((1, 1, 1, 1, 1, 1), True)
    """
    design = space.validate(design)
    chosen = dict(zip(space.agents, design.actions, strict=True))
    layers = []
    for layer in space.layers:
        if layer.name in chosen:
            values = layer.actions[chosen[layer.name]]
            layer = dataclasses.replace(layer, choices={k: (values[k],) for k in layer.choices})
        layers.append(layer)
    return SearchSpace(space.name, tuple(layers), space.input_shape, space.num_classes,
                       space.task, space.training, space.description)


def _space_json(space: SearchSpace) -> dict[str, Any]:
    return {"name": space.name, "input_shape": list(space.input_shape),
            "num_classes": space.num_classes, "task": space.task,
            "training": dict(space.training), "description": space.description,
            "layers": [{"name": la.name, "kind": la.kind, "inputs": list(la.inputs),
                        "params": dict(la.params),
                        "choices": {k: list(v) for k, v in la.choices.items()}}
                       for la in space.layers]}


def _space_from_json(data: Mapping[str, Any]) -> SearchSpace:
    layers = tuple(Layer(la["name"], la["kind"], tuple(la["inputs"]), _tuples(la["params"]),
                         {k: tuple(_tuples(v)) for k, v in la["choices"].items()})
                   for la in data["layers"])
    return SearchSpace(data["name"], layers, tuple(data["input_shape"]), int(data["num_classes"]),
                       data["task"], _tuples(data["training"]), data.get("description", ""))


def _flatten(prefix: str, tree: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray]:
    out = {}
    for layer, values in tree.items():
        for name, value in values.items():
            if "/" in layer or "/" in name:
                raise ValueError(f"cannot save parameter {layer!r}/{name!r}: '/' in a name")
            out[f"{prefix}/{layer}/{name}"] = np.asarray(value, dtype=np.float32)
    return out


def save_model(path: str | os.PathLike[str], space: SearchSpace, design: Design | Sequence[int],
               weights: tuple[Mapping[str, Any], Mapping[str, Any]], *,
               extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``design``'s trained ``weights`` (``(params, state)``) with its space to ``path``.

    Args:
        path: The ``.npz`` file to write (parent folders are created).
        space: The space the design belongs to.
        design: The design.
        weights: ``(params, state)`` trees as the trainer keeps them.
        extra: JSON-friendly facts to store beside (e.g. test accuracy, data set).

    Returns:
        The path written.

    Raises:
        ValueError: If the design is not of ``space`` or the weights do not fit its network.
        PermissionError: If ``path`` cannot be written.
    """
    from cnn_design_env.space import analyze

    design = space.validate(design)
    params, state = weights
    fixed = fixed_space(space, design)
    expected = analyze(space, design).params
    stored = sum(int(np.asarray(v).size) for tree in (params, state) for layer in tree.values()
                 for v in layer.values())
    if stored != expected:
        raise ValueError(f"the weights hold {stored} values but design {design.actions} of "
                         f"{space.name!r} has {expected}")
    meta = {"format": FORMAT, "space": space.name, "design": list(design.actions),
            "hyperparameters": {a: dict(space.by_name[a].actions[i])
                                for a, i in zip(space.agents, design.actions, strict=True)},
            "network": _space_json(fixed), "extra": dict(extra or {})}
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model metadata is not JSON: {error}") from error
    arrays = {"model.json": np.array(text), **_flatten("params", params),
              **_flatten("state", state)}
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
    except OSError as error:
        raise PermissionError(f"cannot write model {str(path)!r}: {error}") from error
    return path


@dataclasses.dataclass
class Model:
    """A trained design that predicts: its network, parameters and where it came from.

    Attributes:
        space: The one-design space of the network (its design is all zeros).
        design: The design's action indices in the original space.
        space_name: The original space's name.
        hyperparameters: The design's values, per agent.
        params: Trained parameters.
        state: Batch-norm statistics.
        extra: Facts stored with it (test accuracy, data set, ...).
    """

    space: SearchSpace
    design: tuple[int, ...]
    space_name: str
    hyperparameters: dict[str, dict[str, Any]]
    params: dict[str, dict[str, Any]]
    state: dict[str, dict[str, Any]]
    extra: dict[str, Any]

    def __post_init__(self) -> None:
        import jax

        from cnn_design_env.train.model import build_network

        self.network = build_network(self.space, Design((0,) * self.space.num_agents))
        self._apply = jax.jit(lambda p, s, x: self.network.apply(p, s, x, train=False)[0])

    def logits(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """The network's outputs for ``images`` (``(N, H, W, C)`` or ``(N, H, W)``).

        Raises:
            ValueError: If the images do not have the network's input shape.
        """
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3 and self.space.input_shape[2] == 1:
            x = x[..., None]
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.space.input_shape):
            raise ValueError(f"images of shape {x.shape} do not fit the model's input "
                             f"(N, {', '.join(map(str, self.space.input_shape))})")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        out = [np.asarray(self._apply(self.params, self.state, x[i:i + batch_size]))
               for i in range(0, len(x), int(batch_size))]
        return np.concatenate(out) if out else np.zeros((0,))

    def predict(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Class indices: one per image (classification) or per pixel (segmentation)."""
        return np.argmax(self.logits(images, batch_size=batch_size), axis=-1)


def load_model(path: str | os.PathLike[str]) -> Model:
    """Rebuild the model saved by :func:`save_model` (no pickle is read).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If it is not a model file of this format, or its arrays do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"{str(path)!r} is not a model file (.npz): {error}") from error
    if "model.json" not in arrays:
        raise ValueError(f"{str(path)!r} has no model.json: not written by save_model")
    meta = json.loads(str(arrays.pop("model.json")))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r}: model format {meta.get('format')!r}, expected "
                         f"{FORMAT!r}")
    trees: dict[str, dict[str, dict[str, Any]]] = {"params": {}, "state": {}}
    for key, value in arrays.items():
        kind, layer, name = key.split("/")
        trees[kind].setdefault(layer, {})[name] = value
    space = _space_from_json(meta["network"])
    model = Model(space, tuple(meta["design"]), meta["space"], meta["hyperparameters"],
                  trees["params"], trees["state"], meta.get("extra", {}))
    abstract = model.network.abstract()
    for kind, tree, want in (("params", model.params, abstract[0]),
                             ("state", model.state, abstract[1])):
        shapes = {(la, n): tuple(v.shape) for la, d in tree.items() for n, v in d.items()}
        expected = {(la, n): tuple(v.shape) for la, d in want.items() for n, v in d.items()}
        if shapes != expected:
            raise ValueError(f"{str(path)!r}: the stored {kind} do not fit the network (stored "
                             f"{sorted(shapes)[:3]}..., expected {sorted(expected)[:3]}...)")
    return model


__all__ = ["FORMAT", "Model", "fixed_space", "load_model", "save_model"]
