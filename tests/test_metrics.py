"""Known-answer tests for genlab.metrics, and `evaluate` end to end with a fake method that samples
from the dataset itself (not registered, so the templated method tests never see it)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pytest
import torch

from genlab.data import load_dataset
from genlab.data.base import KINDS, make_dataset
from genlab.data.text import encode_items
from genlab.methods.base import METHODS, Method
from genlab.metrics import classifier as clf
from genlab.metrics import evaluate, metric_info
from genlab.metrics.common import (
    density_coverage,
    frechet_distance,
    knn_predict,
    max_budget,
    mmd2,
    real_sets,
    sliced_wasserstein,
)
from genlab.metrics.images import classifier_score
from genlab.metrics.info import WALL_CLOCK
from genlab.metrics.points import grid_kl_js, mode_stats, point_metrics
from genlab.metrics.sequences import discriminative_score, sequence_metrics, series_stats
from genlab.metrics.text import bigram_nll, length_tv, novelty, strings, uniqueness


# ----- a fake method that samples real data ----------------------------------------------------
@dataclass(frozen=True)
class _NoConfig:
    pass


class FromData(Method):
    """Samples items of `x` (default: the training split) with the given generator; conditional
    mode picks items of the requested labels (shifted by `label_shift` to fake a wrong model)."""

    name = "fromdata"
    label = "Samples the dataset"
    supports = KINDS
    Config = _NoConfig

    def __init__(self, data, x=None, y=None, conditional=False, label_shift=0, nll=None):
        super().__init__(_NoConfig(), data.spec)
        self.x = data.x_train if x is None else x
        self.y = data.y_train if y is None else y
        self.conditional = conditional
        self.label_shift = label_shift
        self.nll = nll
        self.calls = 0

    @torch.no_grad()
    def sample(self, n, y=None, generator=None, **opts):
        g = generator or self.generator
        self.calls += 1
        if y is None:
            return self.x[torch.randint(len(self.x), (n,), generator=g)]
        out = []
        for c in ((y + self.label_shift) % self.spec.n_classes).tolist():
            pool = (self.y == c).nonzero()[:, 0]
            out.append(self.x[pool[torch.randint(len(pool), (1,), generator=g)]])
        return torch.cat(out)

    def evaluate(self, data):
        return {} if self.nll is None else {"eval/nll": torch.tensor(self.nll)}


def test_fake_method_is_not_registered():
    assert "fromdata" not in METHODS


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A fresh GENLAB_HOME for the classifier cache, shared by this module's image tests."""
    root = tmp_path_factory.mktemp("genlab_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLAB_HOME", str(root))
        clf.clear_memory()
        yield root, clf.TRAIN_COUNT
    clf.clear_memory()


# ----- shared kernels --------------------------------------------------------------------------
def test_mmd_same_distribution_near_zero_and_shift_large():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(800, 2, generator=g), torch.randn(800, 2, generator=g)
    bws = (0.1, 0.5, 1.0, 2.0)
    # identical sets: only the unbiased estimator's diagonal correction remains, O(K / n)
    assert abs(mmd2(a, a, bws)) < 4 * len(bws) / 800
    assert abs(mmd2(a, b, bws)) < 0.01
    assert mmd2(a, b + 3.0, bws) > 1.0


def test_frechet_distance_known_answers():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2000, 16, generator=g)
    assert abs(frechet_distance(f, f)) < 1e-6
    shift = torch.zeros(16)
    shift[0], shift[3] = 3.0, 4.0
    # a shifted copy: identical covariances, so FD = |Δμ|² = 25 exactly
    assert frechet_distance(f, f + shift) == pytest.approx(25.0, abs=1e-6)
    # N(0, I) vs N(0, 4I) in d dims: d (1 + 4 - 2·2) = d
    f2 = 2 * torch.randn(20000, 16, generator=g)
    f1 = torch.randn(20000, 16, generator=g)
    assert frechet_distance(f1, f2) == pytest.approx(16.0, rel=0.05)


def test_density_coverage_same_distribution_and_disjoint():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 2, generator=g), torch.randn(1000, 2, generator=g)
    density, coverage = density_coverage(a, b)
    assert density == pytest.approx(1.0, abs=0.1)
    assert coverage == pytest.approx(0.97, abs=0.03)
    density, coverage = density_coverage(a, b + 20.0)
    assert density == 0.0 and coverage == 0.0


def test_sliced_wasserstein_known_answers():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2000, 2, generator=g)
    assert sliced_wasserstein(a, a) == pytest.approx(0.0, abs=1e-7)
    # a shift by d along x moves each projection by d·|cos θ|: mean 2d/π over directions
    assert sliced_wasserstein(a, a + torch.tensor([1.0, 0.0]), n_proj=512) == pytest.approx(
        2 / math.pi, rel=0.05
    )


def test_knn_predict():
    feats = torch.tensor([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    assert knn_predict(feats, labels, torch.tensor([[0.05], [5.05]]), k=3).tolist() == [0, 1]


def test_real_sets_are_disjoint_and_the_same_size():
    ds = load_dataset("digits")
    n = max_budget(ds)
    assert n == (ds.spec.n_train + ds.spec.n_val) // 2  # 898
    rs = real_sets(ds, 10_000)
    assert len(rs.ref) == len(rs.other) == n
    ref_rows = {r.numpy().tobytes() for r in rs.ref}
    overlap = sum(r.numpy().tobytes() in ref_rows for r in rs.other)
    assert overlap <= 5  # only pixel-identical duplicates that the dataset itself contains


# ----- points ----------------------------------------------------------------------------------
def test_perfect_ring_samples():
    ds = load_dataset("ring8")
    stats = mode_stats(ds.x_train[:2500], torch.tensor(ds.spec.modes), ds.spec.mode_std)
    assert stats["eval/modes"] == 8
    assert stats["eval/hq"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)  # 98.9%
    assert 0 <= stats["eval/rkl"] < 0.015  # QUALITY: 0.002-0.006 from sampling noise


def test_all_samples_on_one_mode():
    ds = load_dataset("ring8")
    one = ds.x_train[ds.y_train == 0][:2500]
    out = point_metrics(one, ds)
    assert out["eval/modes"] == 1
    assert out["eval/rkl"] == pytest.approx(math.log(8), abs=1e-9)
    assert out["eval/coverage"] == pytest.approx(1 / 8, abs=0.03)
    assert out["eval/mmd"] > 100 * abs(out["floor/mmd"])
    assert out["eval/grid_js"] > 10 * out["floor/grid_js"]


def test_no_high_quality_sample():
    modes = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    stats = mode_stats(torch.full((100, 2), 0.5), modes, 0.01)
    assert stats == {"eval/modes": 0.0, "eval/hq": 0.0, "eval/rkl": pytest.approx(math.log(2))}


def test_grid_divergences():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2500, 2, generator=g)
    assert grid_kl_js(a, a) == (pytest.approx(0.0, abs=1e-9), pytest.approx(0.0, abs=1e-9))
    kl, js = grid_kl_js(a, a + 10.0)  # all generated mass outside: the far border cells
    assert kl > 3 and 0.6 < js <= 1.0


def test_points_evaluate_real_vs_real_is_near_its_floor():
    ds = load_dataset("grid25")
    m = FromData(ds, x=torch.cat([ds.x_val, ds.x_train[-500:]]))
    out = evaluate(m, ds)
    assert out["eval/modes"] == 25 and out["eval/hq"] > 0.98
    assert abs(out["eval/mmd"]) < 0.01 and abs(out["floor/mmd"]) < 0.01
    assert out["eval/coverage"] > 0.9 and out["floor/coverage"] > 0.9
    c0 = time.process_time()
    evaluate(m, ds)
    assert time.process_time() - c0 < 1.5  # ~0.1 s of CPU once the reference set is cached


def test_conditional_points_accuracy():
    ds = load_dataset("moons")
    right = evaluate(FromData(ds, conditional=True), ds)
    wrong = evaluate(FromData(ds, conditional=True, label_shift=1), ds)
    assert right["eval/cond_acc"] > 0.9 and right["floor/cond_acc"] > 0.9
    assert wrong["eval/cond_acc"] < 0.1
    assert "floor/cond_acc" not in evaluate(FromData(ds), ds)


# ----- images ----------------------------------------------------------------------------------
def test_digits_classifier_is_accurate_and_cached(home):
    root, count0 = home
    ds = load_dataset("digits")
    net, info = clf.get_classifier(ds)
    assert clf.TRAIN_COUNT - count0 == 1
    path = clf.cache_path(ds)
    assert path.is_relative_to(root / ".cache" / "classifiers")
    assert path.exists() and path.with_suffix(".json").exists()
    assert sorted(p.suffix for p in path.parent.iterdir()) == [".json", ".safetensors"]
    assert info["val_acc"] >= 0.90
    with torch.no_grad():
        acc = (net(ds.x_val).argmax(1) == ds.y_val).float().mean().item()
    assert acc == pytest.approx(info["val_acc"])
    mtime = path.stat().st_mtime_ns
    clf.clear_memory()  # a new process: the weights come from disk, no retraining
    net2, info2 = clf.get_classifier(ds)
    assert clf.TRAIN_COUNT - count0 == 1 and path.stat().st_mtime_ns == mtime
    assert net2 is not net and info2 == info
    with torch.no_grad():
        assert torch.equal(net2(ds.x_val), net(ds.x_val))


def test_classifier_handles_any_size_and_channels():
    for c, side in ((1, 4), (3, 8), (1, 28), (3, 37), (3, 128)):
        net = clf.Classifier(c, side, 5)
        assert net(torch.rand(2, c, side, side)).shape == (2, 5)
        assert net.features(torch.rand(2, c, side, side)).shape == (2, clf.FEATURES)


def test_classifier_score_known_answers():
    K = 10
    confident = torch.eye(K).repeat(10, 1) * 50  # every class equally often, certain
    assert classifier_score(confident) == pytest.approx(K, rel=1e-3)
    one_class = torch.zeros(100, K)
    one_class[:, 3] = 50
    assert classifier_score(one_class) == pytest.approx(1.0, abs=1e-6)


def test_image_metrics_real_copy_shift_and_collapse(home):
    ds = load_dataset("digits")
    copy = evaluate(FromData(ds), ds)  # a copy of the training set
    assert copy["eval/fd"] < 1.5 * copy["floor/fd"]
    assert copy["eval/coverage"] > 0.9 and copy["eval/score"] > 0.9 * copy["floor/score"]
    assert copy["eval/nn_dist"] == 0.0 < copy["floor/nn_dist"]  # only this check catches it
    g = torch.Generator().manual_seed(0)
    x = ds.x_train
    noisy = evaluate(FromData(ds, x=(x + 0.3 * torch.randn(x.shape, generator=g)).clamp(0, 1)), ds)
    assert noisy["eval/fd"] > 3 * noisy["floor/fd"]  # measured: 27.5 vs 5.0
    assert noisy["eval/mmd"] > 0.03 > 10 * abs(noisy["floor/mmd"])
    blurred = evaluate(FromData(ds, x=torch.nn.functional.avg_pool2d(x, 3, 1, 1)), ds)
    assert blurred["eval/fd"] > 20 * blurred["floor/fd"]  # measured: 407
    assert blurred["eval/coverage"] < 0.2 and blurred["eval/nn_dist"] > blurred["floor/nn_dist"]
    one = evaluate(FromData(ds, x=ds.x_train[ds.y_train == 7]), ds)
    assert one["eval/score"] < 1.5 and one["eval/coverage"] < 0.25
    assert one["eval/fd"] > 10 * one["floor/fd"]


def test_image_conditional_accuracy(home):
    ds = load_dataset("digits")
    right = evaluate(FromData(ds, conditional=True), ds)
    wrong = evaluate(FromData(ds, conditional=True, label_shift=3), ds)
    assert right["eval/cond_acc"] > 0.95 and right["floor/cond_acc"] >= 0.9
    assert wrong["eval/cond_acc"] < 0.1


def test_unlabelled_images_use_pixel_metrics_only(home):
    digits = load_dataset("digits")
    x = torch.cat([digits.x_train, digits.x_val])
    ds = make_dataset("nolabels", "images", x, None, loc=0.5, scale=0.5)
    count = clf.TRAIN_COUNT
    out = evaluate(FromData(ds, x=ds.x_val), ds)
    assert clf.TRAIN_COUNT == count  # no classifier for unlabelled sets
    assert {"eval/nn_dist", "eval/mmd", "floor/nn_dist", "floor/mmd"} <= set(out)
    assert not {"eval/fd", "eval/score", "eval/density", "eval/coverage"} & set(out)
    # validation images are the floor's own set: the same nearest-training distances
    assert out["eval/nn_dist"] == pytest.approx(out["floor/nn_dist"], rel=0.1)


# ----- sequences -------------------------------------------------------------------------------
def test_series_stats_known_answers():
    T = 32
    t = torch.arange(T) / T
    x = (2.0 + 0.5 * torch.sin(2 * math.pi * 3 * t))[None, :, None]  # (1, T, 1)
    mean, std, acf1, acf2, freq = series_stats(x)[0].tolist()
    assert mean == pytest.approx(2.0, abs=1e-5)
    assert std == pytest.approx(0.5 / math.sqrt(2), rel=1e-4)
    assert acf1 == pytest.approx(math.cos(2 * math.pi * 3 / T), abs=0.05)
    assert acf2 == pytest.approx(math.cos(2 * math.pi * 6 / T), abs=0.05)
    assert freq == 3


def test_discriminative_score_same_and_different():
    ds = load_dataset("sines")
    rs = real_sets(ds, 500)
    real = sequence_metrics(rs.other, ds)  # a disjoint real set: what the floor measures
    assert real["eval/disc"] == pytest.approx(0.5, abs=0.1)
    assert abs(real["eval/mmd"]) < 0.05
    g = torch.Generator().manual_seed(0)
    noise = 0.5 * torch.randn(500, *ds.spec.shape, generator=g)
    bad = sequence_metrics(noise, ds)
    assert bad["eval/disc"] > 0.95
    assert bad["eval/mmd"] > 0.5
    assert bad["floor/disc"] == pytest.approx(0.5, abs=0.1)
    # the bare function on features
    a, b = torch.randn(300, 4, generator=g), torch.randn(300, 4, generator=g)
    assert discriminative_score(a, b) == pytest.approx(0.5, abs=0.12)
    assert discriminative_score(a, b + 5) > 0.98


# ----- text ------------------------------------------------------------------------------------
def test_text_set_metrics():
    train = {"anna", "bob"}
    assert novelty(["anna", "bob", "anna"], train) == 0.0
    assert novelty(["zed", "x"], train) == 1.0
    assert uniqueness(["a", "a", "b", "c"]) == 0.75
    assert length_tv(["ab", "cd"], ["xy", "zz", "qq"]) == 0.0
    assert length_tv(["a"], ["abc"]) == 1.0


def test_bigram_nll_known_answer():
    ds = encode_items(["ab", "ab", "ab", "ab"], "t", "")
    x = torch.cat([ds.x_train, ds.x_val])
    # +1 counts over V = 3 tokens: each of the 3 transitions has p = (4 + 1) / (4 + 3)
    assert bigram_nll(x, x, 3) == pytest.approx(math.log(7 / 5), abs=1e-9)
    assert strings(x, ds.spec.vocab) == ["ab"] * 4


def test_bigram_baseline_on_names_beats_uniform():
    ds = load_dataset("names")
    V = len(ds.spec.vocab)
    nll = bigram_nll(ds.x_train, ds.x_val, V)
    assert nll <= math.log(V)
    assert 2.0 < nll < 2.7  # makemore's names.txt: 2.48


def test_text_evaluate_training_items_are_not_novel():
    ds = load_dataset("names")
    out = evaluate(FromData(ds, nll=2.2), ds)
    assert out["eval/novelty"] == 0.0
    assert 0.5 < out["eval/uniqueness"] <= 1.0
    assert out["eval/length_tv"] < 0.1
    assert out["eval/nll"] == pytest.approx(2.2)  # the method's own figure is merged
    assert out["floor/nll"] == out["floor/nll_bigram"] < out["floor/nll_uniform"]
    assert out["floor/novelty"] == 1.0  # validation names are not training names


# ----- evaluate --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ring8", "swissroll", "sines", "names"])
def test_evaluate_is_deterministic_floats_only_and_leaves_global_rng(name):
    ds = load_dataset(name)
    m = FromData(ds)
    state = torch.get_rng_state()
    a = evaluate(m, ds)
    b = evaluate(m, ds)
    assert torch.equal(state, torch.get_rng_state())
    assert a["eval/ms_per_sample"] > 0  # the sampler's cost, a wall-clock figure: not repeatable

    def quality(out):
        return {k: v for k, v in out.items() if k not in WALL_CLOCK}

    assert quality(a) == quality(b)  # a fixed-seed generator each time: evaluations are comparable
    assert all(type(v) is float and math.isfinite(v) for v in a.values())
    assert set(a) <= set(metric_info), set(a) - set(metric_info)


def test_evaluate_budgets(home):
    for name, n in (("ring8", 2500), ("sines", 500), ("names", 1000), ("digits", 898)):
        ds = load_dataset(name)
        m = FromData(ds)
        sizes: list[int] = []
        inner = m.sample

        def counting(k, y=None, generator=None, inner=inner, sizes=sizes, **opts):
            sizes.append(k)
            return inner(k, y, generator)

        m.sample = counting
        evaluate(m, ds)
        assert sum(sizes) == n, name


def test_metric_info_is_complete_and_callable():
    for key, (label, better, help_) in metric_info.items():
        assert label and help_ and better in ("lower", "higher"), key
    assert metric_info("eval/fd")[0] == "FD (dataset classifier)"
    assert metric_info("floor/fd")[1] == "lower"
    with pytest.raises(KeyError):
        metric_info("eval/nope")
