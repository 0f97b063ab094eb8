"""Build your own search space in a few lines: a small residual CNN with two tunable convs.

Run: ``python examples/custom_space.py``
"""

from __future__ import annotations

from cnn_design_env.space import SearchSpace, analyze
from cnn_design_env.space import layers as L

CONV = {"kernels": (16, 32, 64), "kernel_size": (3, 5), "stride": (1, 2)}


def residual_space() -> SearchSpace:
    """input -> conv -> [conv -> conv] + skip -> pool -> dense -> output."""
    layers = (
        L.input_layer(),
        L.conv("stem", "input", kernels=32, tune=CONV),
        L.conv("body1", "stem", kernels=32, tune=CONV),
        L.conv("body2", "body1", kernels=32, activation="linear", tune=CONV),
        L.add("residual", ["stem", "body2"]),  # channels projected, spatial resized if needed
        L.activation("relu", "residual"),
        L.pool("pool", "relu", tune={"pool_size": (2, 3)}),
        L.global_pool("gap", "pool"),
        L.dense("fc", "gap", units=64, tune={"units": (32, 64, 128)}),
        L.output("output", "fc"),
    )
    return SearchSpace("residual_demo", layers, input_shape=(32, 32, 3), num_classes=10,
                       training={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 64})


def main() -> None:
    space = residual_space()
    print(space)
    print("agents:", dict(zip(space.agents, space.action_sizes, strict=True)))
    print("agent graph edges:", space.agent_edges)
    original = analyze(space)
    print(f"original network: {original.params:,} params, {original.model_size_mb:.3f} MB, "
          f"{original.flops / 1e6:.1f} MFLOPs per image")
    values = {a: dict(space.by_name[a].actions[-1]) for a in space.agents}
    design = space.design_from_hyperparameters(values)
    print("largest design:", design.actions, f"{analyze(space, design).params:,} params")


if __name__ == "__main__":
    main()
