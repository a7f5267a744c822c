"""What each metric key means, for the UI: key -> (label, better: "lower" | "higher", help)."""

from __future__ import annotations

_INFO: dict[str, tuple[str, str, str]] = {
    # 2D points
    "eval/modes": (
        "modes covered",
        "higher",
        "Modes that are the nearest mode of at least one high-quality sample "
        "(VEEGAN/PacGAN, 2,500 samples).",
    ),
    "eval/hq": (
        "high-quality share",
        "higher",
        "Share of samples within 3 std of their nearest mode; a perfect generator scores "
        "98.9% (1 - e^-4.5), not 100%.",
    ),
    "eval/rkl": (
        "reverse KL to uniform modes",
        "lower",
        "KL(q ‖ uniform) of the high-quality samples' mode histogram, nats; 0 = all modes "
        "equally used, log K = one mode (or no high-quality sample).",
    ),
    "eval/swd": (
        "sliced Wasserstein",
        "lower",
        "Mean 1D Wasserstein-1 distance over 64 fixed projections, standardised units.",
    ),
    "eval/grid_kl": (
        "grid KL(real ‖ generated)",
        "lower",
        "GAN Lab's KL on a 50x50 histogram grid over the real data's box, eps 1e-4, bits.",
    ),
    "eval/grid_js": (
        "grid JS divergence",
        "lower",
        "GAN Lab's Jensen-Shannon divergence on a 50x50 histogram grid, bits, 0..1.",
    ),
    # shared
    "eval/mmd": (
        "MMD²",
        "lower",
        "Unbiased squared maximum mean discrepancy with a sum of RBF kernels. Points: "
        "bandwidths 0.1, 0.5, 1, 2 in standardised units (× the data's std), 1,000 points; images: "
        "8x8-averaged pixels, 0.25-2 × the median real distance; sequences: per-series "
        "statistics, standardised, 0.1-2 × sqrt(d). ≈ 0 (can dip below) when alike.",
    ),
    "eval/density": (
        "density",
        "higher",
        "Naeem et al. 2020, k = 5: how many real k-NN balls a sample falls in, / k; "
        "≈ 1 for real data, above 1 when samples crowd dense regions.",
    ),
    "eval/coverage": (
        "coverage",
        "higher",
        "Naeem et al. 2020, k = 5: share of real points whose k-NN ball holds a "
        "sample; ≈ 0.97 for real data, low when modes are missed.",
    ),
    "eval/cond_acc": (
        "conditional accuracy",
        "higher",
        "Share of samples that a classifier (images: the dataset classifier; points "
        "and series: 5-NN on training data) puts in the requested class.",
    ),
    # images
    "eval/fd": (
        "FD (dataset classifier)",
        "lower",
        "Fréchet distance between real and generated features of a small classifier "
        "trained on this dataset (not FID: no Inception net); compare only within one "
        "dataset and sample count, against the real-vs-real floor.",
    ),
    "eval/score": (
        "classifier score",
        "higher",
        "exp(E KL(p(y|x) ‖ p(y))) with the dataset classifier (the Inception-score "
        "formula), 1..number of classes; ≈ 1 signals collapse.",
    ),
    "eval/nn_dist": (
        "distance to training set",
        "higher",
        "Mean L2 pixel distance from each sample to its nearest training image. Far "
        "below the floor (validation images) means copies of the training set; far "
        "above it, samples unlike any training image.",
    ),
    # sequences
    "eval/disc": (
        "discriminative score",
        "lower",
        "Held-out accuracy of a small MLP trained to tell real from generated series "
        "(statistics + raw values); 0.5 = indistinguishable, 1 = always told apart.",
    ),
    # text
    "eval/nll": (
        "validation NLL (nats/char)",
        "lower",
        "The model's held-out negative log-likelihood per character, end token "
        "included; the floor is the bigram-count baseline of the same data.",
    ),
    "eval/bpc": ("validation bits/char", "lower", "eval/nll / ln 2."),
    "eval/nelbo": (
        "validation −ELBO (nats)",
        "lower",
        "The VAE's negative evidence lower bound per held-out item, an upper bound on "
        "its NLL (a likelihood only for binarised images).",
    ),
    "eval/recon": (
        "validation recon. (nats)",
        "lower",
        "The VAE's reconstruction term of −ELBO per held-out item.",
    ),
    "eval/mse": (
        "validation MSE",
        "lower",
        "Mean squared error of the next value on held-out series (model units).",
    ),
    "eval/novelty": (
        "novelty",
        "higher",
        "Share of samples not in the training list (memorisation check).",
    ),
    "eval/uniqueness": ("uniqueness", "higher", "Share of distinct strings among the samples."),
    "eval/length_tv": (
        "length histogram distance",
        "lower",
        "Total variation between the length histograms of samples and training items, 0..1.",
    ),
}

_FLOOR_ONLY: dict[str, tuple[str, str, str]] = {
    "floor/nll_bigram": (
        "bigram baseline NLL",
        "lower",
        "+1-smoothed bigram counts on the training split, NLL per character on "
        "the validation split, end token included: the figure to beat.",
    ),
    "floor/nll_uniform": ("uniform NLL", "lower", "log V: a model that has learnt nothing."),
}


class MetricInfo(dict):
    """A dict key -> (label, better, help) that can also be called: `metric_info("eval/fd")`.
    `floor/<name>` keys (the real-vs-real reference of `eval/<name>`) are included."""

    def __call__(self, key: str) -> tuple[str, str, str]:
        if key not in self:
            raise KeyError(f"unknown metric {key!r}")
        return self[key]


metric_info = MetricInfo(_INFO)
for _key, (_label, _better, _help) in _INFO.items():
    _name = _key.split("/", 1)[1]
    metric_info[f"floor/{_name}"] = (
        f"{_label} (real vs real)",
        _better,
        f"The same figure for real held-out data at the same sample size: what a perfect "
        f"model would score. {_help}",
    )
metric_info["floor/nll"] = ("bigram baseline NLL", "lower", _FLOOR_ONLY["floor/nll_bigram"][2])
metric_info.update(_FLOOR_ONLY)

# The sampler's cost, logged with its quality (no real-vs-real floor). Wall-clock figures vary
# from one call to the next, so they are kept out of comparisons that expect equal values.
_COST: dict[str, tuple[str, str, str]] = {
    "eval/ms_per_sample": (
        "sampling time (ms/sample)",
        "lower",
        "Wall-clock milliseconds per sample when the evaluation drew its samples, on this "
        "run's device.",
    ),
    "eval/nfe": (
        "network evaluations per sample",
        "lower",
        "Forward passes of the network the sampler makes per sample (diffusion and flow "
        "matching: the number of sampling steps).",
    ),
}
metric_info.update(_COST)
WALL_CLOCK = frozenset({"eval/ms_per_sample"})
