"""Holm, Benjamini-Hochberg and the SRM chi-square that production runs, against statsmodels,
scipy and hand computations (NaN p-values, ties, several groups at once)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from dagster_project.analytics.experiments import multiple_testing as mt
from dagster_project.analytics.experiments import sample_ratio as sr

P_VALUES = [0.01, 0.04, 0.03, 0.005, 0.55, 0.6]


@pytest.mark.parametrize(("ours", "method"), [(mt.holm, "holm"), (mt.benjamini_hochberg, "fdr_bh")])
def test_adjusted_p_values_equal_statsmodels_multipletests(ours, method):
    expected = multipletests(P_VALUES, method=method)[1]
    np.testing.assert_allclose(ours(P_VALUES), expected, rtol=1e-12)


def test_grouped_adjustment_equals_statsmodels_per_experiment():
    g = np.random.default_rng(3)
    p = g.uniform(0, 0.2, 11) ** 4  # down to 1e-8: an offset of 2 x group would round these
    p[[2, 7]] = np.nan
    df = pl.DataFrame({"experiment_id": np.repeat(["a", "b", "c"], [6, 4, 1]), "p_value": p})
    out = mt.adjust_pvalues(df)
    for e in ("a", "b", "c"):
        part = out.filter(pl.col("experiment_id") == e, pl.col("p_value").is_not_nan())
        q = part["p_value"].to_numpy()
        np.testing.assert_allclose(part["p_holm"], multipletests(q, method="holm")[1], rtol=1e-12)
        np.testing.assert_allclose(part["p_bh"], multipletests(q, method="fdr_bh")[1], rtol=1e-12)
    assert out.filter(pl.col("p_value").is_nan())["p_holm"].null_count() == 2


def test_nan_p_values_are_left_out_of_m_and_stay_nan():
    # hand computation on the three real p-values 0.01, 0.04, 0.03 (m = 3, not 4):
    # Holm sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, 1 x 0.04 = 0.04 -> max 0.06
    # BH: 3 x 0.01 / 1 = 0.03, 3 x 0.03 / 2 = 0.045, 3 x 0.04 / 3 = 0.04 -> min from the top
    p = [0.01, np.nan, 0.04, 0.03]
    np.testing.assert_allclose(mt.holm(p), [0.03, np.nan, 0.06, 0.06], rtol=1e-12)
    np.testing.assert_allclose(mt.benjamini_hochberg(p), [0.03, np.nan, 0.04, 0.04], rtol=1e-12)


def test_ties_get_equal_adjusted_values():
    # p = 0.02, 0.02, 0.5: Holm 3 x 0.02 = 0.06, 2 x 0.02 = 0.04 -> running max 0.06, 0.06, then
    # 1 x 0.5 = 0.5; BH 3 x 0.02 / 1 = 0.06, 3 x 0.02 / 2 = 0.03, 3 x 0.5 / 3 = 0.5 -> 0.03, 0.03
    np.testing.assert_allclose(mt.holm([0.02, 0.5, 0.02]), [0.06, 0.5, 0.06], rtol=1e-12)
    np.testing.assert_allclose(mt.benjamini_hochberg([0.02, 0.5, 0.02]), [0.03, 0.5, 0.03],
                               rtol=1e-12)


def test_null_p_values_in_a_frame_stay_null_and_do_not_count():
    df = pl.DataFrame({"experiment_id": ["a", "a", "a"], "p_value": [0.01, None, 0.04]})
    out = mt.adjust_pvalues(df)
    assert out["p_holm"].to_list() == pytest.approx([0.02, None, 0.04])  # m = 2
    assert out["p_bh"].to_list() == pytest.approx([0.02, None, 0.04])


def test_adjusted_values_are_bounded_and_monotone_in_the_raw_p_value():
    p = np.random.default_rng(8).uniform(0, 1, 200) ** 3
    for adjusted in (mt.holm(p), mt.benjamini_hochberg(p)):
        assert ((adjusted >= p - 1e-15) & (adjusted <= 1)).all()
        order = np.argsort(p)
        assert (np.diff(adjusted[order]) >= 0).all()


@pytest.mark.parametrize("correction", [mt.holm, mt.benjamini_hochberg])
def test_p_values_outside_zero_one_are_a_value_error(correction):
    with pytest.raises(ValueError, match=r"p: p-values must lie in \[0, 1\]"):
        correction([0.5, 1.7, -0.2])


COUNTS = {"two arms, mismatch": ([1268, 952], [0.5, 0.5]),
          "two arms, balanced": ([500, 500], [0.5, 0.5]),
          "three arms": ([340, 330, 290], [0.34, 0.33, 0.33])}


def test_srm_chi_square_equals_scipy_chisquare_per_experiment_at_once():
    counts = np.concatenate([c for c, _ in COUNTS.values()])
    weights = np.concatenate([w for _, w in COUNTS.values()])
    group = np.repeat(list(COUNTS), [len(c) for c, _ in COUNTS.values()])
    labels, stat, p = sr.srm_chi2(counts, weights, group)
    for name, (c, w) in COUNTS.items():
        ref = stats.chisquare(c, np.sum(c) * np.array(w))
        i = list(labels).index(name)
        assert stat[i] == pytest.approx(ref.statistic, rel=1e-12)
        assert p[i] == pytest.approx(ref.pvalue, rel=1e-12)
    assert p[list(labels).index("two arms, mismatch")] < 0.001


def test_srm_frame_flags_the_three_arm_mismatch_like_scipy(experiment_frames):
    f = experiment_frames
    reg = f.registry({"experiment_id": "three", "arms": (("control", 0.34), ("a", 0.33),
                                                         ("b", 0.33))},
                     {"experiment_id": "empty"})
    counts = pl.DataFrame({"experiment_id": ["three"] * 3, "variant": ["control", "a", "b"],
                           "n": [1000, 1000, 800]})
    out = sr.srm(counts, reg)
    ref = stats.chisquare([1000, 1000, 800], 2800 * np.array([0.34, 0.33, 0.33]))
    three = out.filter(pl.col("experiment_id") == "three")
    assert three["srm_p_value"].item() == pytest.approx(ref.pvalue, rel=1e-12)
    assert ref.pvalue < 0.001 and three["srm_flag"].item() is True
    empty = out.filter(pl.col("experiment_id") == "empty")  # no units: no test, no flag
    assert empty["srm_p_value"].item() is None and empty["srm_flag"].item() is False


def test_negative_weights_are_a_value_error():
    with pytest.raises(ValueError, match="weights: arm weights must be finite and >= 0"):
        sr.srm_chi2([10, 10], [0.6, -0.4])
