"""The one interface every method implements, and the method registry.

A method is an `nn.Module` that owns its nets and optimisers. The runner owns the loop: it calls
`train_step(x, y)` once per step (exactly one update of every optimiser the method uses, all GAN
phases inside it), `sample(n, y)` for snapshots, and `checkpoint()` / `restore()` for the run store.
Nothing outside `genlab/methods/` branches on a method's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.params import TrainConfig, describe

METHODS: dict[str, type[Method]] = {}


@dataclasses.dataclass(frozen=True)
class Because:
    """A data-aware default with the reason the Train page shows for it (see `because`)."""

    value: Any
    why: str


FEW_CLUSTERS = 8  # 2D points with more clusters than this get the longer step cap


def steps_by_clusters(k: int, few: int, many: int = 20000) -> dict[str, Any]:
    """`Method.defaults_for`'s step cap for 2D points with `k` clusters measured on them
    (`spec.clusters`, never known modes): `many` above FEW_CLUSTERS, `few` otherwise, none
    when nothing was measured."""
    if not k:
        return {}
    steps = many if k > FEW_CLUSTERS else few
    return {"steps": because(steps, f"about {k} clusters found: up to {steps:,} steps")}


def because(value: Any, why: str) -> Any:
    """A value for `Method.defaults_for` that says why it was chosen ("about 12 clusters: up to
    20,000 steps"); `genlab.runs.build.default_choices` collects the reasons."""
    return Because(value, why)


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available by its `name`."""
    METHODS[cls.name] = cls
    return cls


def method_class(name: str) -> type[Method]:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r} (available: {', '.join(METHODS)})")
    return METHODS[name]


class Method(nn.Module):
    name: ClassVar[str]
    label: ClassVar[str]
    supports: ClassVar[tuple[str, ...]]  # data kinds
    conditional: ClassVar[bool] = False  # needs labelled data
    Config: ClassVar[type]
    # TrainConfig defaults that suit this method (the app and the CLI start from these)
    train_defaults: ClassVar[dict[str, Any]] = {}
    # metric keys that `train_step` returns, grouped for the charts: {"loss": ["loss/d", ...]}
    description: ClassVar[str] = ""
    # Separately trainable phases, e.g. ("d", "g") for GANs: such a method also accepts
    # `train_step(x, y, phases=("d",))`, which runs only those phases (the live view's
    # "Train D only" / "Train G only" buttons). Empty: one indivisible update.
    phases: ClassVar[tuple[str, ...]] = ()
    # Hyperparameters added after runs were saved, with the value that reproduces how those runs
    # trained (their run.json lacks the key; the new default may build other nets). Read by
    # `RunDir.read_info`, so resume, sampling and the Generate page all see the old behaviour.
    legacy_values: ClassVar[dict[str, Any]] = {}
    # Extra "Inside the model" views this method feeds: "process" (a sampler from noise to data:
    # `trajectory`, `field`, `noised`, `network_evaluations`), "attention" (`attention`).
    inside: ClassVar[tuple[str, ...]] = ()
    # Model state added after runs were saved: the state_dict names that start with one of these.
    # A checkpoint without them still loads (see `restore`): they keep this model's fresh values,
    # and new parameters (registered last in their optimiser) join it with no Adam state yet.
    added_state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: Any, spec: DataSpec):
        super().__init__()
        self.cfg = cfg
        self.spec = spec
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        # The runner replaces this with the run's own seeded generator on the run's device.
        self.generator = torch.Generator()
        self.step = 0  # set by the runner before each train_step (warm-ups, schedules)

    # ----- what a method defines -------------------------------------------------------------
    @classmethod
    def defaults_for(cls, spec: DataSpec) -> dict[str, Any]:
        """Defaults that suit this data better than the declared ones, keyed by a name of this
        method's Config or of TrainConfig (e.g. a 2-d latent for 2D points). They apply only where
        the user set no value (the app's widgets, the CLI, `Run`); a saved run's config lists
        every value, so it stays authoritative. Wrap a value in `because(value, why)` to say
        why (the Train page lists the reasons before Start). Only what any dataset of the kind
        has may be read (size, shape, measured facts such as `spec.clusters`), never its name or
        facts that only built-in data carries (`spec.modes`)."""
        return {}

    @classmethod
    def problems(cls, cfg: Any, train: TrainConfig, spec: DataSpec) -> list[str]:
        """Cross-field and data-dependent rules (e.g. packing needs batch_size % pack == 0)."""
        return []

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One update; returns detached scalar tensors keyed `loss/...`, `d/...` (synced by the
        runner once per logging interval, not every step)."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        """`n` samples in data space: points (n, 2), images (n, C, H, W) in [0, 1], sequences
        (n, T, C), text (n, L) token ids. The live view passes `preview=True`: a method may then
        trade exactness for speed (the VAE's latent mixture); evaluations never pass it."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, data: Any) -> dict[str, float]:
        """Method-specific held-out figures on `data` (a genlab Dataset), e.g. the VAE's ELBO or the
        LSTM's validation NLL, keyed `eval/...`. Sample-based metrics live in genlab.metrics."""
        return {}

    # ----- looking inside (the "Inside the model" views; None = this method has no such part) ---
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | None:
        """Data-space items -> their reconstructions through the model's code (an autoencoder's
        decode(encode(x))), same shape; None for a method without an encoder."""
        return None

    @torch.no_grad()
    def latent_importance(self, x: torch.Tensor) -> torch.Tensor | None:
        """How much each latent dimension is used on items x: (latent_dim,), larger = more used
        (a VAE's KL per dimension); None when the method cannot tell (e.g. a GAN's noise)."""
        return None

    @torch.no_grad()
    def char_probs(self, tokens: Any) -> torch.Tensor | None:
        """Text models: (N, L-1) probability of each actual next token (end token included, NaN
        at padding) for token rows or strings; None for a method that does not score text."""
        return None

    # ----- looking inside (the live view's 2D views; defaults: nothing to show) ---------------
    def critic(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | None:
        """The discriminator's judgement of data-space items x (N, *shape) [of classes y (N,)]:
        (N,), or (N, T) for a critic that judges every step of a series, as `critic_scale`
        names it; None for a method without a discriminator."""
        return None

    def critic_scale(self) -> tuple[str, float]:
        """(what `critic` returns, the value of "cannot tell"): ("P(real)", 0.5) or
        ("score", 0.0)."""
        return ("score", 0.0)

    def generator_push(
        self, n: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """`n` generated items x_fake (n, *shape) in data space and -dL_G/dx_fake (n, *shape):
        the direction in which the generator's loss pushes each of them (where D says "more
        real"). None for a method without an adversarial generator loss."""
        return None

    def encode_mean(self, x: torch.Tensor) -> torch.Tensor | None:
        """An encoder's posterior means E[z | x] (N, latent) of data-space items x; None for a
        method without an encoder."""
        return None

    # ----- a decodable latent space (the latent tools: interpolation, maps, the 2D manifold) --
    def latent_size(self) -> int | None:
        """The size d of one code z (n, d) that `decode_latent` maps to data, or None for a method
        without one (an autoregressive model, a generator whose noise is per time step)."""
        return None

    def decode_latent(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Codes z (n, latent_size) [and labels y (n,) for a conditional method] -> data-space
        samples (n, *shape), the way `sample` turns its noise into data (images clamped to
        [0, 1])."""
        raise ValueError(f"method {self.name!r} has no latent space to decode")

    # ----- looking inside (diffusion and flow models; None = not such a model) ----------------
    # Their common time axis, whatever the method's own convention: the noise level t in [0, 1],
    # 0 = the data, 1 = pure noise (a diffusion's t / T; a rectified flow's 1 - t).
    def network_evaluations(self, steps: int | None = None) -> int | None:
        """Network evaluations one `sample` call spends per item with the current sampling
        settings, or with `steps` sampling steps (a one-shot generator: None)."""
        return None

    def checking_opts(self) -> dict[str, Any]:
        """`sample` options for the evaluations that decide when a stop=auto run ends (every
        evaluation but its final one): a cheaper sampler where one costs many training steps.
        The weights a run keeps are evaluated again with the full sampler. Default: none."""
        return {}

    def trajectory(
        self, n: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The sampler's path for `n` items: noise levels (S+1,) from 1 down to 0 and the states
        (S+1, n, *shape) in data space at those levels; None for a one-shot generator."""
        return None

    def field(
        self, x: torch.Tensor, t: float, y: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """The learned vector field at data-space items x (N, *shape) and noise level t, in data
        space (N, *shape), pointing towards the data: a flow's velocity, a diffusion's score
        ∇_x log p_t(x); None for a method without one."""
        return None

    def noised(
        self, x: torch.Tensor, t: float, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The forward process: data-space items x (N, *shape) carried to noise level t (a draw
        of x_t given x_0 = x), in data space; None for a method without one."""
        return None

    @torch.no_grad()
    def attention(self, tokens: Any) -> torch.Tensor | None:
        """Text models with self-attention: (layers, heads, L-1, L-1) attention weights of one
        string or token row (query rows, key columns); None for a method without attention."""
        return None

    # ----- shared helpers --------------------------------------------------------------------
    @classmethod
    def supports_data(cls, spec: DataSpec) -> bool:
        return spec.kind in cls.supports and (spec.labelled or not cls.conditional)

    @classmethod
    def check(cls, cfg: Any, train: TrainConfig, spec: DataSpec) -> None:
        """Raise one ValueError naming every problem of this (config, data) pair."""
        probs = []
        if spec.kind not in cls.supports:
            probs.append(
                f"method {cls.name!r} does not support {spec.kind} data "
                f"(it supports: {', '.join(cls.supports)})"
            )
        elif cls.conditional and not spec.labelled:
            probs.append(f"method {cls.name!r} needs a dataset with labels; {spec.name!r} has none")
        else:
            probs += cls.problems(cfg, train, spec)
        if probs:
            raise ValueError("; ".join(probs))

    @property
    def device(self) -> torch.device:
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def noise(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(*shape, generator=generator or self.generator, device=self.device)

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        """Data space -> the model's standardised space."""
        return (x - self.spec.loc) / self.spec.scale

    def to_data(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.spec.scale + self.spec.loc

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Balanced labels 0, 1, ..., K-1, 0, 1, ... for conditional sampling."""
        return torch.arange(n, device=self.device) % max(1, self.spec.n_classes)

    # ----- live knobs ------------------------------------------------------------------------
    def live_params(self) -> list[str]:
        return [p.name for p in describe(self.Config) if p.live]

    def change_live(self, **changes: Any) -> None:
        """Apply `live` hyperparameter changes mid-run, already validated by the caller (the
        run's `set_live` validates and queues them; its loop calls this between steps)."""
        bad = [k for k in changes if k not in self.live_params()]
        if bad:
            raise ValueError(f"not changeable while live: {', '.join(bad)}")
        self.cfg = dataclasses.replace(self.cfg, **changes)
        self.push_learning_rates(changes)

    def push_learning_rates(self, names: Iterable[str] | None = None) -> None:
        """Write the config's learning rates into the optimisers they drive, as each rate
        declares (`param(..., optimizer=...)`): those in `names`, or all of them (a resume, whose
        restored optimisers hold the checkpoint's rates). The schedule scales from the new value."""
        wanted = None if names is None else set(names)
        for p in describe(type(self.cfg)):
            if not p.is_lr or (wanted is not None and p.name not in wanted):
                continue
            if p.optimizer == "*":
                targets = list(self.optimizers.values())
            elif p.optimizer in self.optimizers:
                targets = [self.optimizers[p.optimizer]]
            else:
                raise ValueError(
                    f"{self.name}: {p.name} drives optimiser {p.optimizer!r}, which it does not "
                    f"have (it has {', '.join(self.optimizers) or 'none'})"
                )
            value = getattr(self.cfg, p.name)
            for opt in targets:
                for group in opt.param_groups:
                    group["base_lr"] = value
                    group["lr"] = value * group.get("lr_factor", 1.0)

    def schedule_lr(self, factor: float) -> None:
        """Scale every optimiser's learning rate to `factor` times its configured value (the
        runner's `lr_schedule`); live changes move the configured value."""
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                base = group.setdefault("base_lr", group["lr"])
                group["lr_factor"] = factor
                group["lr"] = base * factor

    # ----- checkpoints (safetensors tensors + JSON meta; never pickle) -----------------------
    def checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        # _snap copies: on CPU .cpu() would alias the live weights and Adam moments, so a restored
        # model (or a checkpoint written later by another thread) would see the next steps' values.
        tensors = {f"model/{k}": _snap(v) for k, v in self.state_dict().items()}
        meta: dict[str, Any] = {"method": self.name, "step": self.step, "optimizers": {}}
        for name, opt in self.optimizers.items():
            sd = opt.state_dict()
            state_meta = {}
            for idx, st in sd["state"].items():
                state_meta[str(idx)] = {}
                for k, v in st.items():
                    if torch.is_tensor(v):
                        tensors[f"opt/{name}/{idx}/{k}"] = _snap(v)
                    else:
                        state_meta[str(idx)][k] = v
            meta["optimizers"][name] = {"param_groups": sd["param_groups"], "state": state_meta}
        tensors["rng/generator"] = self.generator.get_state()
        return tensors, meta

    def restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if meta.get("method") != self.name:
            raise ValueError(f"checkpoint is from method {meta.get('method')!r}, not {self.name!r}")
        model = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
        fresh = self.state_dict()
        prefixes = self.added_state  # str.startswith(()) is False: nothing is added
        added = [k for k in fresh if k not in model and k.startswith(prefixes)]
        model.update({k: fresh[k].detach().cpu() for k in added})
        try:
            self.load_state_dict(model, strict=True)
        except RuntimeError as e:
            first = str(e).splitlines()[0]
            raise ValueError(f"checkpoint does not fit this model: {first}") from None
        new_params = {id(p) for n, p in self.named_parameters() if n in added}
        for name, opt in self.optimizers.items():
            om = meta["optimizers"].get(name)
            if om is None:
                raise ValueError(f"checkpoint has no state for optimiser {name!r}")
            state: dict[int, dict[str, Any]] = {}
            for idx, st in om["state"].items():
                state[int(idx)] = dict(st)
            prefix = f"opt/{name}/"
            for k, v in tensors.items():
                if k.startswith(prefix):
                    idx, key = k[len(prefix) :].split("/", 1)
                    state.setdefault(int(idx), {})[key] = v.to(self.device) if key != "step" else v
            groups = _grown_groups(opt, om["param_groups"], new_params)
            opt.load_state_dict({"state": state, "param_groups": groups})
        if "rng/generator" in tensors:
            self.generator.set_state(tensors["rng/generator"].to(torch.uint8).cpu())
        self.step = int(meta.get("step", 0))


def _grown_groups(
    opt: torch.optim.Optimizer, saved: list[dict[str, Any]], new_params: set[int]
) -> list[dict[str, Any]]:
    """The saved param_groups of a one-group optimiser whose trailing parameters are all new
    (`added_state`), extended to list them; anything else is returned as saved."""
    if not new_params or len(saved) != 1 or len(opt.param_groups) != 1:
        return saved
    live = opt.param_groups[0]["params"]
    n = len(saved[0]["params"])
    if n >= len(live) or not all(id(p) in new_params for p in live[n:]):
        return saved
    return [dict(saved[0], params=list(range(len(live))))]


def _snap(v: torch.Tensor) -> torch.Tensor:
    """A contiguous CPU copy that never shares memory with the live tensor."""
    return v.detach().to("cpu", copy=True).contiguous()
