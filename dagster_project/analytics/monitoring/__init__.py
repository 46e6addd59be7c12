"""Monitoring: anomaly detection over the catalog's metric series, typed patterns."""

from dagster_project.analytics.monitoring.baseline import (
                                                           BaselineSettings,
                                                           history_start,
                                                           robust_baseline,
)
from dagster_project.analytics.monitoring.calibration import (
                                                           combine_scores,
                                                           empirical_score,
                                                           gaussian_score,
)
from dagster_project.analytics.monitoring.detect import (
                                                           DETECTORS,
                                                           SCHEMA,
                                                           DetectionSettings,
                                                           DetectorModels,
                                                           baselines,
                                                           detect,
                                                           fit_models,
                                                           model_scores,
)
from dagster_project.analytics.monitoring.metric_catalog import METRICS, MonitoredMetric, metric
from dagster_project.analytics.monitoring.patterns import (
                                                           PATTERNS,
                                                           PatternSettings,
                                                           classify,
                                                           mann_kendall,
)
from dagster_project.analytics.monitoring.series import regular_grid, series_sql
from dagster_project.analytics.monitoring.status import STATUS_CODES, status_table
from dagster_project.analytics.monitoring.vectors import FAMILIES, family_vectors

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
