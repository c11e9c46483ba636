from __future__ import annotations

import numpy as np
import pytest

from cxnlp.calibration import PlattCalibrator, expected_calibration_error, tune_thresholds


def test_platt_recovers_known_mapping() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(0, 2, size=(20_000, 2))
    true_a, true_b = np.array([1.5, 0.5]), np.array([-1.0, 2.0])
    p = 1 / (1 + np.exp(-(s * true_a + true_b)))
    y = (rng.random(s.shape) < p).astype(int)
    cal = PlattCalibrator.fit(s, y)
    assert np.allclose(cal.a, true_a, atol=0.1) and np.allclose(cal.b, true_b, atol=0.1)
    assert expected_calibration_error(cal.transform(s), y) < 0.02
    again = PlattCalibrator.from_dict(cal.to_dict())
    assert np.allclose(again.transform(s), cal.transform(s))


def test_platt_survives_separable_and_empty_columns() -> None:
    s = np.array([[-3.0, 0.0], [-2.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    y = np.array([[0, 0], [0, 0], [1, 0], [1, 0]])
    cal = PlattCalibrator.fit(s, y)
    p = cal.transform(s)
    assert np.isfinite(p).all() and p[3, 0] > 0.5 > p[0, 0]
    assert cal.a[1] == 1.0 and cal.b[1] == 0.0  # no positive: left as identity


def test_thresholds_maximise_f1() -> None:
    probs = np.array([[0.9], [0.8], [0.6], [0.4], [0.3], [0.1]])
    y = np.array([[1], [1], [1], [0], [0], [0]])
    (t,) = tune_thresholds(probs, y)
    assert 0.4 < t <= 0.6
    probs2 = np.array([[0.9], [0.7], [0.65], [0.2]])
    y2 = np.array([[1], [0], [1], [0]])
    (t2,) = tune_thresholds(probs2, y2)
    # predicting the top three (F1 0.8) beats the top one (F1 0.667)
    assert 0.2 < t2 <= 0.65
    assert tune_thresholds(np.array([[0.3]]), np.array([[0]]))[0] == 0.5


def test_ece_is_zero_for_perfect_and_large_for_overconfident() -> None:
    rng = np.random.default_rng(1)
    p = rng.random((50_000, 1))
    y = (rng.random((50_000, 1)) < p).astype(int)
    assert expected_calibration_error(p, y) < 0.01
    assert expected_calibration_error(np.full((1000, 1), 0.99), np.zeros((1000, 1))) > 0.9


def test_platt_never_turns_a_keys_scores_upside_down() -> None:
    from cxnlp.calibration import PlattCalibrator

    rng = np.random.default_rng(0)
    # key 0: positives score higher (a real signal); key 1: by chance on a small dev set, lower
    y = np.zeros((60, 2))
    y[:6] = 1
    scores = rng.normal(0, 1, (60, 2))
    scores[:6, 0] += 3
    scores[:6, 1] -= 2
    cal = PlattCalibrator.fit(scores, y)
    assert cal.a[0] > 0 and cal.a[1] == pytest.approx(1.0, abs=1e-3)
    grid = np.linspace(-3, 3, 7)[:, None].repeat(2, axis=1)
    assert np.all(np.diff(cal.transform(grid), axis=0) > 0)  # higher score, higher probability
    # the offset still matches the key's base rate (6 of 60)
    assert cal.transform(scores)[:, 1].mean() == pytest.approx(0.1, abs=0.05)
    refit = cal.refit(scores, y, strength=0.1)
    assert np.all(refit.a > 0)
