"""How fast the trainer is on this machine, next to a plain matmul and PyTorch, in one run.

Prints side by side:

(a) achieved training GFLOP/s of a 32x32x3 VGG-style net (the first two blocks of VGG-16:
    conv64-conv64-pool-conv128-conv128-pool-dense256-output, SGD with momentum, batch 64 by
    default) through the trainer's compiled step and batch loop, and that as a share of the JAX
    float32 matmul GFLOP/s of the same machine (a large jitted matmul). Training FLOPs are counted
    as 3x the forward FLOPs of :func:`cnn_design_env.space.analyze` (forward + two backward
    products); floor 35%.
(b) images/s of the same net and step (same batch, SGD with momentum) in PyTorch eager on CPU,
    and the JAX/PyTorch ratio (skipped with a message when torch is not importable); floor 0.9x.
(c) time per new candidate (build + compile + 3 epochs on ``digits`` + validation) for 20
    distinct ``vgg_mini`` designs, median and mean, for the JAX trainer with a cold persistent
    cache (fresh directory, fresh evaluator), per form: exact (one program per architecture,
    ``compile=network`` as on main, and ``compile=layer``), masked (one program per shape
    signature, whole-network or layer-wise) and ``auto`` (the cost model, the default), next to
    the same designs trained by PyTorch eager (a builder for vgg_mini-like chains below);
    floor: JAX (the default) at most 1.0x PyTorch, goal 0.5x. Both do the same work: the
    trainer's epoch-loss restart is off here (PyTorch's loop has none). A last row compiles
    with XLA's default options instead of the trainer's (``TrainerSettings.xla_options``).
(d) design-seeds per second of 16 distinct ``vgg_mini`` designs of one shape signature, 3
    epochs on ``digits``, cold: one at a time (exact, as on main; and the default form) against
    all 16 together (``evaluate_many``: vmapped programs, groups of 16, 8 and 4); floor 5/s,
    goal 10/s.

Timings are medians of repeats; the machine may be shared, so compare the columns of one run.

Run: ``python benchmarks/trainer_throughput.py [--batch 64] [--candidates 20] [--skip-torch]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.space import Analysis, SearchSpace, analyze, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.train import loop
from cnn_design_env.train.data import Dataset, load_digits
from cnn_design_env.train.masked import envelope
from cnn_design_env.train.model import build_network
from cnn_design_env.train.settings import TrainerSettings
from cnn_design_env.train.termination import TerminationConfig, TerminationMonitor

SHARE_FLOOR = 0.35
TORCH_FLOOR = 0.9
CANDIDATE_FLOOR = 1.0
CANDIDATE_GOAL = 0.5
GROUP_FLOOR = 5.0
GROUP_GOAL = 10.0


def vgg_blocks_space(num_classes: int = 10) -> SearchSpace:
    """VGG-16's first two blocks on 32x32x3 with a 256-unit dense layer."""
    layers = (
        L.input_layer(),
        L.conv("conv1_1", "input", kernels=64, tune={"kernels": (64,)}),
        L.conv("conv1_2", "conv1_1", kernels=64),
        L.pool("pool1", "conv1_2"),
        L.conv("conv2_1", "pool1", kernels=128),
        L.conv("conv2_2", "conv2_1", kernels=128),
        L.pool("pool2", "conv2_2"),
        L.flatten("flatten", "pool2"),
        L.dense("fc1", "flatten", units=256),
        L.output("output", "fc1"),
    )
    return SearchSpace("vgg_blocks", layers, (32, 32, 3), num_classes,
                       training={"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 64})


# ------------------------------------------------------------------------------- timing
def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(n: int = 2048, repeats: int = 9) -> float:
    """GFLOP/s of a jitted float32 ``n x n`` matmul (2 n^3 FLOPs)."""
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    b = jnp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    f = jax.jit(jnp.matmul)
    seconds = median_time(lambda: f(a, b).block_until_ready(), repeats)
    return 2 * n ** 3 / seconds / 1e9


def jax_images_per_s(space: SearchSpace, batch: int, steps: int, repeats: int,
                     compile_mode: str | None) -> tuple[float, float]:
    """Images/s of the trainer's loop (``loop.train_epoch``) on random data; also compile s."""
    net = build_network(space)
    tx = loop.make_optimizer("sgd", learning_rate=0.01)
    kwargs = {"compile": compile_mode} if compile_mode else {}
    built = loop.compile_steps(net, tx, loop.cross_entropy, batch_size=batch, **kwargs)
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps, *space.input_shape), dtype=np.float32)
    y = rng.integers(0, space.num_classes, batch * steps).astype(np.int32)
    params, state = jax.device_put(net.init(rng))
    carry = loop.TrainCarry(params, state, built.init_optimizer(tx, params))
    monitor = TerminationMonitor(TerminationConfig(loss_threshold=None), loss_threshold=None)

    def epoch() -> None:
        loop.train_epoch(built, carry, x, y, batch_size=batch, rng=rng, key=loop.dropout_key(0),
                         monitor=monitor)
        jax.block_until_ready(carry.params)

    seconds = median_time(epoch, repeats)
    return batch * steps / seconds, built.compile_s


# -------------------------------------------------------------------------------- torch
def import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_model(torch, space: SearchSpace, analysis: Analysis):
    """A ``torch.nn.Sequential`` for a chain design (conv, pool, flatten, dense, output).

    SAME padding is reproduced exactly from the analysed shapes (zero padding for convs,
    -inf for max pools), so every layer has the analysed output shape.
    """
    nn = torch.nn
    acts = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh,
            "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "leaky_relu": nn.LeakyReLU,
            "linear": nn.Identity}
    modules = []
    for info in analysis.layers:
        hp, kind = info.hparams, info.kind
        if kind in ("input", "dropout", "batchnorm"):
            if kind == "batchnorm":
                modules.append(nn.BatchNorm2d(info.output_shape[-1]))
            continue
        if kind in ("conv", "pool"):
            k = hp["kernel_size"] if kind == "conv" else hp["pool_size"]
            s = hp["stride"]
            pads = []
            for n_in, n_out in zip(info.input_shapes[0][:2], info.output_shape[:2], strict=True):
                total = max((n_out - 1) * s + k - n_in, 0)
                pads.append((total // 2, total - total // 2))
            (top, bottom), (left, right) = pads
            if kind == "conv":
                modules += [nn.ZeroPad2d((left, right, top, bottom)),
                            nn.Conv2d(info.input_shapes[0][-1], hp["kernels"], k, s),
                            acts[hp["activation"]]()]
            else:
                modules += [nn.ConstantPad2d((left, right, top, bottom), float("-inf")),
                            nn.MaxPool2d(k, s)]
        elif kind == "flatten":
            modules.append(nn.Flatten())
        elif kind == "dense":
            modules += [nn.Linear(info.input_shapes[0][-1], hp["units"]),
                        acts[hp["activation"]]()]
        elif kind == "output":
            modules.append(nn.Linear(info.input_shapes[0][-1], space.num_classes))
        else:
            raise ValueError(f"torch builder: unsupported layer kind {kind!r}")
    return nn.Sequential(*modules)


def torch_images_per_s(torch, space: SearchSpace, batch: int, steps: int, repeats: int,
                       channels_last: bool) -> float:
    torch.manual_seed(0)
    model = torch_model(torch, space, analyze(space))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    h, w, c = space.input_shape
    x = torch.from_numpy(rng.random((batch, c, h, w), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, space.num_classes, batch))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch() -> None:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            float(loss.detach())

    return batch * steps / median_time(epoch, repeats)


def torch_candidate(torch, space: SearchSpace, design, data: Dataset, epochs: int,
                    seed: int) -> tuple[float, float]:
    """Seconds and validation accuracy of building and training one design in PyTorch eager."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    settings = space.training_settings(design)
    model = torch_model(torch, space, analyze(space, design))
    opt = torch.optim.SGD(model.parameters(), lr=settings["learning_rate"],
                          momentum=settings.get("momentum", 0.9))
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(np.ascontiguousarray(data.x_train.transpose(0, 3, 1, 2)))
    y = torch.from_numpy(data.y_train.astype(np.int64))
    batch = int(settings["batch_size"])
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for idx in loop.batch_indices(len(x), batch, rng):
            t = torch.from_numpy(idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[t]), y[t])
            loss.backward()
            opt.step()
            float(loss.detach())
    with torch.no_grad():
        xv = torch.from_numpy(np.ascontiguousarray(data.x_val.transpose(0, 3, 1, 2)))
        pred = model(xv).argmax(-1).numpy()
    return time.perf_counter() - start, float(np.mean(pred == data.y_val))


# --------------------------------------------------------------------------- candidates
def distinct_designs(space: SearchSpace, count: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    seen, designs = set(), []
    while len(designs) < count:
        design = space.sample(rng)
        signature = build_network(space, design).signature
        if signature not in seen:
            seen.add(signature)
            designs.append(design)
    return designs


def jax_candidates(space: SearchSpace, designs, data: Dataset, epochs: int,
                   **options) -> tuple[list[float], list[float], list[float], list[str]]:
    """Per-design wall seconds, compile seconds, accuracies and forms, one fresh evaluator."""
    # the same work as PyTorch's loop: no restart of designs the epoch-loss rule would catch
    evaluator = TrainingEvaluator(space, data, epochs=epochs,
                                  termination=TerminationConfig(loss_threshold=None), **options)
    walls, compiles, accs, forms = [], [], [], []
    for i, design in enumerate(designs):
        start = time.perf_counter()
        metrics = evaluator.evaluate(design, seed=i)
        walls.append(time.perf_counter() - start)
        compiles.append(metrics.compile_s)
        accs.append(metrics.accuracy)
        forms.append(f"{metrics.extra.get('form', 'exact')}/{metrics.extra.get('compile_mode')}")
        if metrics.terminated and metrics.reason not in ("loss",):
            print(f"    design {i} terminated: {metrics.reason}")
    return walls, compiles, accs, forms


def signature_designs(space: SearchSpace, count: int, seed: int = 0) -> list:
    """``count`` distinct designs sharing the envelope of the first design drawn."""
    rng = np.random.default_rng(seed)
    first = space.sample(rng)
    target = envelope(space, first).signature
    designs = [first]
    while len(designs) < count:
        design = space.sample(rng)
        if design not in designs and envelope(space, design).signature == target:
            designs.append(design)
    return designs


# ------------------------------------------------------------------------------- report
def section_throughput(args, torch) -> None:
    space = vgg_blocks_space()
    analysis = analyze(space)
    train_flops = 3 * analysis.flops
    print(f"(a) {space.name}: 32x32x3, {analysis.params / 1e6:.2f} M params, forward "
          f"{analysis.flops / 1e6:.0f} MFLOP/image, training counted as 3x forward = "
          f"{train_flops / 1e6:.0f} MFLOP/image; batch {args.batch}, {args.steps} steps/epoch")
    peak = matmul_gflops()
    print(f"    JAX float32 matmul 2048x2048 (jit): {peak:8.1f} GFLOP/s")
    jax_ips = {}
    for mode in ("network", "layer"):
        ips, compile_s = jax_images_per_s(space, args.batch, args.steps, args.repeats, mode)
        jax_ips[mode] = ips
        gflops = ips * train_flops / 1e9
        share = gflops / peak
        label = f"compile={mode}" if mode else "trainer"
        print(f"    JAX {label:<16} {ips:8.1f} images/s  {gflops:7.1f} GFLOP/s  "
              f"{100 * share:5.1f}% of matmul (floor {100 * SHARE_FLOOR:.0f}%: "
              f"{'met' if share >= SHARE_FLOOR else 'NOT met'})  compile {compile_s:.1f} s")
    best = max(jax_ips.values())
    print("(b) same net, same step in PyTorch eager (CPU)")
    if torch is None:
        print("    torch is not importable: skipped (pip install torch for this comparison)")
        return
    print(f"    torch {torch.__version__}, {torch.get_num_threads()} threads")
    for channels_last in (False, True):
        ips = torch_images_per_s(torch, space, args.batch, args.steps, args.repeats,
                                 channels_last)
        ratio = best / ips
        layout = "channels_last" if channels_last else "NCHW"
        print(f"    PyTorch {layout:<14} {ips:8.1f} images/s  JAX/PyTorch {ratio:5.2f}x "
              f"(floor {TORCH_FLOOR}x: {'met' if ratio >= TORCH_FLOOR else 'NOT met'})")


def section_candidates(args, torch) -> None:
    space = get_space("vgg_mini")
    data = load_digits(seed=0)
    designs = distinct_designs(space, args.candidates)
    print(f"(c) time per new candidate: {len(designs)} distinct vgg_mini designs, build + compile "
          f"+ {args.epochs} epochs on digits ({data.num_train} train images) + validation; "
          f"median s, mean s [median compile s] (mean accuracy); cold: fresh cache and evaluator")
    torch_median = None
    if torch is not None:
        # one thread: for these tiny nets two intra-op threads were 4-30x slower on a shared
        # 2-core machine (spinning OpenMP barriers), so PyTorch gets its best setting
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        torch_candidate(torch, space, designs[0], data, 1, 0)  # warm-up (lazy init)
        results = [torch_candidate(torch, space, d, data, args.epochs, i)
                   for i, d in enumerate(designs)]
        torch.set_num_threads(threads)
        torch_median = statistics.median(r[0] for r in results)
        print(f"    PyTorch eager, 1 thread                 {torch_median:6.2f} s "
              f"{statistics.mean(r[0] for r in results):6.2f} s"
              f"          (acc {np.mean([r[1] for r in results]):.3f})")
    rows = [("exact, compile=network (main)", {"form": "exact"}),
            ("exact, compile=layer", {"form": "exact", "compile": "layer"}),
            ("masked, one program/signature", {"settings": {"masked_compile": "network",
                                                             "form": "masked"}}),
            ("masked, layer-wise", {"settings": {"masked_compile": "layer", "form": "masked"}}),
            ("auto (cost model, default)", {}),
            ("exact, XLA default options", {"settings": {"xla_options": {}, "form": "exact"}})]
    for label, options in rows[:args.rows]:
        with tempfile.TemporaryDirectory(prefix="jaxcache_") as cache_dir:
            opts = dict(options)
            if "settings" in opts:
                opts["settings"] = TrainerSettings(cache_dir=cache_dir, **opts["settings"])
            else:
                opts["cache_dir"] = cache_dir
            walls, compiles, accs, forms = jax_candidates(space, designs, data, args.epochs,
                                                          **opts)
        median = statistics.median(walls)
        line = (f"    JAX {label:<30} cold {median:6.2f} s {statistics.mean(walls):6.2f} s"
                f" [{statistics.median(compiles):5.2f}] (acc {np.mean(accs):.3f})")
        if torch_median:
            ratio = median / torch_median
            verdict = "met" if ratio <= CANDIDATE_FLOOR else "NOT met"
            line += (f"  {ratio:5.2f}x PyTorch (floor {CANDIDATE_FLOOR}x: {verdict}, "
                     f"goal {CANDIDATE_GOAL}x)")
        counts = {f: forms.count(f) for f in sorted(set(forms))}
        print(line + ("  forms: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                      if label.startswith("auto") else ""), flush=True)


def section_groups(args) -> None:
    space = get_space("vgg_mini")
    data = load_digits(seed=0)
    designs = signature_designs(space, 16)
    env = envelope(space, designs[0])
    flops = [analyze(space, d).flops / 1e6 for d in designs]
    print(f"(d) 16 distinct vgg_mini designs of one shape signature (envelope "
          f"{env.analysis.flops / 1e6:.2f} MFLOP/image, designs {min(flops):.2f}-"
          f"{max(flops):.2f}), {args.epochs} epochs on digits, cold; design-seeds per second")
    seeds = list(range(len(designs)))
    rows = [("one at a time, exact (main)", {"form": "exact"}, False),
            ("one at a time, default form", {}, False),
            ("together, evaluate_many, groups of 16", {"group_size": 16}, True),
            ("together, evaluate_many, groups of 8", {"group_size": 8}, True),
            ("together, evaluate_many, groups of 4", {"group_size": 4}, True)]
    for label, options, together in rows:
        with tempfile.TemporaryDirectory(prefix="jaxcache_") as cache_dir:
            evaluator = TrainingEvaluator(space, data, epochs=args.epochs,
                                          termination=TerminationConfig(loss_threshold=None),
                                          settings=TrainerSettings(cache_dir=cache_dir,
                                                                   **options))
            start = time.perf_counter()
            if together:
                results = evaluator.evaluate_many(designs, seeds)
            else:
                results = [evaluator.evaluate(d, seed=s)
                           for d, s in zip(designs, seeds, strict=True)]
            wall = time.perf_counter() - start
        rate = len(designs) / wall
        bad = [m.reason for m in results if m.terminated]
        verdict = "met" if rate >= GROUP_FLOOR else "NOT met"
        print(f"    {label:<40} {rate:6.2f}/s ({wall:6.1f} s, acc "
              f"{np.mean([m.accuracy for m in results]):.3f})  floor {GROUP_FLOOR}/s: {verdict}, "
              f"goal {GROUP_GOAL}/s" + (f"  terminated: {bad}" if bad else ""), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6, help="steps per timed block (a)(b)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--rows", type=int, default=6, help="(c): rows to run (first N)")
    parser.add_argument("--only", choices=("throughput", "candidates", "groups"))
    args = parser.parse_args(argv)
    torch = None if args.skip_torch else import_torch()
    print(f"JAX {jax.__version__} on {jax.default_backend()} ({os.cpu_count()} CPUs); "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.only in (None, "throughput"):
        section_throughput(args, torch)
    if args.only in (None, "candidates"):
        section_candidates(args, torch)
    if args.only in (None, "groups"):
        section_groups(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
