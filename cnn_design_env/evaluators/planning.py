"""How each design-seed of a :class:`~.training.TrainingEvaluator` is trained: its plan.

A :class:`Plan` holds a design's network, training settings, optimiser and form (exact or
masked, :mod:`cnn_design_env.train.masked`) and why. :class:`Planner` makes plans and groups
them for ``evaluate_many``. With ``TrainerSettings.form == "auto"`` the form comes from the
static :class:`~cnn_design_env.train.costmodel.CostModel` of the settings and a
:class:`~cnn_design_env.train.costmodel.ProgramLedger` of the programs the planner's requests
asked for so far: a pure function of the design, the space, the training settings, the
trainer settings and the order of requests, never of timings or of what a cache holds.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from cnn_design_env.space import Design, SearchSpace, analyze
from cnn_design_env.train import layerwise, loop
from cnn_design_env.train.costmodel import ProgramLedger
from cnn_design_env.train.masked import Embedding, MaskingError, embedding
from cnn_design_env.train.model import Network, build_network
from cnn_design_env.train.settings import TrainerSettings


@dataclass(frozen=True)
class Plan:
    """How one design-seed is trained: its network, settings and exact or masked form."""

    design: Design
    seed: int
    network: Network
    settings: dict[str, Any]
    batch_size: int
    tx: Any
    form: str
    why: str
    embedding: Embedding | None

    @property
    def program(self) -> Network:
        """The network whose program trains it (masked: the envelope)."""
        return self.embedding.envelope if self.form == "masked" else self.network

    def key(self, size: int) -> tuple:
        """The in-memory program key (group ``size`` 0: the one-design exact steps)."""
        return (self.form, size, self.program.signature, loop.settings_key(self.settings),
                self.batch_size)


class Planner:
    """Plans of one evaluator's designs; remembers the programs asked for (deterministic).

    Args:
        space: The evaluator's space.
        num_train: Training images of its data set.
        settings: Its trainer settings (form, masked compile mode, cost model, group size).
        compile: How the exact form compiles (``TrainingEvaluator``'s ``compile``).
    """

    def __init__(self, space: SearchSpace, num_train: int, settings: TrainerSettings,
                 compile: str = "network") -> None:
        self.space = space
        self.num_train = num_train
        self.settings = settings
        self.compile = compile
        self.ledger = ProgramLedger()
        self._lock = threading.Lock()

    def plan(self, design: Design, seed: int, partial: dict[str, Any], *, epochs: int,
             group: bool = False) -> Plan:
        """The plan of ``design`` (validated) trained ``epochs`` epochs with ``seed``;
        ``partial`` gets the analytic metrics; ``group``: for ``evaluate_many`` (masked
        whenever the design embeds). Records the chosen programs in the ledger."""
        analysis = analyze(self.space, design)
        partial.update(model_size_mb=analysis.model_size_mb, params=analysis.params,
                       flops=analysis.flops)
        network = build_network(self.space, design)
        settings = self.space.training_settings(design)
        batch_size = min(int(settings["batch_size"]), self.num_train)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {settings['batch_size']!r}")
        tx = loop.make_optimizer(settings["optimizer"], learning_rate=settings["learning_rate"],
                                 momentum=settings.get("momentum", 0.9),
                                 weight_decay=settings.get("weight_decay", 0.0))
        plan = Plan(design, seed, network, settings, batch_size, tx, "exact", "", None)
        with self._lock:
            plan, wanted = self._choose(plan, epochs, group)
            if not group:
                self.ledger.record(chosen=self.program_keys(plan), wanted=wanted)
        return plan

    def _choose(self, plan: Plan, epochs: int, group: bool) -> tuple[Plan, list[Hashable]]:
        """The plan with its form, and the programs of both forms (what it could use)."""
        form = self.settings.form
        if form == "exact":
            return dataclasses.replace(plan, why="settings.form='exact'"), []
        try:
            emb = embedding(self.space, plan.design)
        except MaskingError as reason:
            return dataclasses.replace(plan, why=f"no exact masked form: {reason}"), []
        plan = dataclasses.replace(plan, embedding=emb)
        if not group and self.masked_compile(plan) == "layer":
            # layer-wise programs are shared per layer configuration: keep the design's kernel
            # sizes (fewer wasted FLOPs) at the cost of more (cheap) layer programs
            plan = dataclasses.replace(plan, embedding=embedding(self.space, plan.design,
                                                                 kernel_sizes=False))
        masked = dataclasses.replace(plan, form="masked")
        wanted = [*self.program_keys(plan), *self.program_keys(masked)]
        if form == "masked" or group:
            return dataclasses.replace(masked, why=f"settings.form={form!r}"), wanted
        choice = self.settings.costs.choose(
            flops=plan.network.analysis.flops, envelope_flops=emb.envelope.analysis.flops,
            batch=plan.batch_size, steps=epochs * (self.num_train // plan.batch_size),
            exact_new=self.new_programs(plan), masked_new=self.new_programs(masked),
            exact_mode=self.mode(plan), masked_mode=self.mode(masked),
            exact_dispatches=self.dispatches(plan), masked_dispatches=self.dispatches(masked))
        return dataclasses.replace(plan, form=choice.form, why=choice.reason), wanted

    def groups(self, plans: dict[int, Plan]) -> list[list[int]]:
        """Indices of plans that train together: same exact program first, then same envelope
        (masked plans), each chunked to ``settings.group_size``; the rest alone. Plans of a
        group of one design's seeds become exact (``plans`` is updated)."""
        by_exact: dict[tuple, list[int]] = {}
        for i, plan in plans.items():
            exact = dataclasses.replace(plan, form="exact")
            key = ("single", i) if plan.network.has_dropout else exact.key(0)
            by_exact.setdefault(key, []).append(i)
        groups: list[list[int]] = []
        by_envelope: dict[tuple, list[int]] = {}
        for members in by_exact.values():
            if len(members) > 1:
                for i in members:
                    plans[i] = dataclasses.replace(plans[i], form="exact",
                                                   why="a group of one design's seeds")
                groups.append(members)
            elif plans[members[0]].form == "masked":
                by_envelope.setdefault(plans[members[0]].key(0), []).append(members[0])
            else:
                groups.append(members)
        groups += by_envelope.values()
        size = self.settings.group_size
        return [g[i:i + size] for g in groups for i in range(0, len(g), size)]

    # ----------------------------------------------------------------- pieces
    def masked_compile(self, plan: Plan) -> str:
        """``"network"`` or ``"layer"``: how the masked form of ``plan`` compiles."""
        return loop.resolve_compile(self.settings.masked_compile, plan.embedding.envelope,
                                    plan.batch_size)

    def mode(self, plan: Plan) -> str:
        """``"network"`` or ``"layer"``: how ``plan``'s form compiles."""
        if plan.form == "masked":
            return self.masked_compile(plan)
        return loop.resolve_compile(self.compile, plan.network, plan.batch_size)

    def dispatches(self, plan: Plan) -> int:
        """Programs one training step of ``plan`` dispatches (layer-wise: two per layer)."""
        if self.mode(plan) == "layer":
            return 2 * len(plan.program.analysis.layers)
        return 1

    def program_keys(self, plan: Plan, size: int | None = None) -> list[Hashable]:
        """What names the programs ``plan`` trains with (``size``: a group's programs)."""
        if size is not None or (plan.form == "masked" and self.mode(plan) == "network"):
            return [("group", plan.key(1 if size is None else size))]
        if self.mode(plan) == "network":
            return [("network", plan.key(0))]
        return layerwise.program_keys(plan.program, batch_size=plan.batch_size,
                                      tx_key=plan.settings["optimizer"],
                                      masked=plan.form == "masked")

    def new_programs(self, plan: Plan) -> float:
        """The new programs ``plan`` would compile, weighted by the share it pays: shared ones
        (layer programs, a masked envelope's) by the cost model's ``horizon``
        (:meth:`~cnn_design_env.train.costmodel.ProgramLedger.new`), its own exact program
        in full."""
        shared = plan.form == "masked" or self.mode(plan) == "layer"
        return self.ledger.new(self.program_keys(plan),
                               horizon=self.settings.costs.horizon if shared else 0.0)

    def record_group(self, plan: Plan, size: int) -> None:
        """Record the group program of ``size`` replicas of ``plan``'s program."""
        with self._lock:
            self.ledger.record(chosen=self.program_keys(plan, size))
