"""Monitoring: anomaly detection over the catalog's metric series, typed patterns."""

from .baseline import (
                                                           BaselineSettings,
                                                           history_start,
                                                           robust_baseline,
)
from .calibration import (
                                                           combine_scores,
                                                           empirical_score,
                                                           gaussian_score,
)
from .detect import (
                                                           DETECTORS,
                                                           SCHEMA,
                                                           DetectionSettings,
                                                           DetectorModels,
                                                           baselines,
                                                           detect,
                                                           fit_models,
                                                           model_scores,
)
from .metric_catalog import METRICS, MonitoredMetric, metric
from .patterns import (
                                                           PATTERNS,
                                                           PatternSettings,
                                                           classify,
                                                           mann_kendall,
)
from .series import regular_grid, series_sql
from .status import STATUS_CODES, status_table
from .vectors import FAMILIES, family_vectors

__all__ = [
                                                           "DETECTORS",
                                                           "FAMILIES",
                                                           "METRICS",
                                                           "PATTERNS",
                                                           "SCHEMA",
                                                           "STATUS_CODES",
                                                           "BaselineSettings",
                                                           "DetectionSettings",
                                                           "DetectorModels",
                                                           "MonitoredMetric",
                                                           "PatternSettings",
                                                           "baselines",
                                                           "classify",
                                                           "combine_scores",
                                                           "detect",
                                                           "empirical_score",
                                                           "family_vectors",
                                                           "fit_models",
                                                           "gaussian_score",
                                                           "history_start",
                                                           "mann_kendall",
                                                           "metric",
                                                           "model_scores",
                                                           "regular_grid",
                                                           "robust_baseline",
                                                           "series_sql",
                                                           "status_table",
]
