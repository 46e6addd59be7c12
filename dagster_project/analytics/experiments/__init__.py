"""A/B experiment statistics: read-outs, corrections, sequential tests, power and decisions.

One module per concept: ``estimates`` (per-arm estimates and CUPED), ``validity`` (which arms'
statistics can be used), ``status`` (the status codes every read-out row carries),
``comparison`` (lifts, intervals, p-values), ``bayes``, ``sequential`` (always-valid inference),
``multiple_testing``, ``sample_ratio``, ``power``, ``planning`` (planned samples), ``readout``
(the frame-level read-out over experiments x metrics x variants), ``decision`` (progress and the
ship decision) and ``registry`` (validating and sizing a new experiment).
"""

from .decision import decide, progress
from .multiple_testing import adjust_pvalues, benjamini_hochberg, holm
from .planning import plan_samples
from .readout import (
    METRIC_TYPES,
    PRIMARY_METRICS,
    RESULT_STATS,
    arm_estimates,
    compare_to_control,
    experiment_metrics,
    variant_weights,
)
from .registry import Definition, registry_row, registry_union, required_sample, validate
from .sample_ratio import srm, srm_chi2
from .status import STATUS_CODES

__all__ = [
    "METRIC_TYPES", "PRIMARY_METRICS", "RESULT_STATS", "STATUS_CODES", "Definition", "adjust_pvalues",
    "arm_estimates", "benjamini_hochberg", "compare_to_control", "decide", "experiment_metrics",
    "holm", "plan_samples", "progress", "registry_row", "registry_union", "required_sample",
    "srm", "srm_chi2", "validate", "variant_weights",
]
