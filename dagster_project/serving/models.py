"""Request bodies of the REST endpoints (pydantic v2): unknown fields, malformed ids, dates in
the wrong order or too long a span are refused with a 422 naming the field and the rule."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$",
                                description="A client id, e.g. c_0001.")]
Platform = Literal["instagram", "tiktok", "youtube", "linkedin", "twitter", "facebook"]
MAX_SPAN_DAYS = 731
DEFAULT_DAYS = 30


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Timeframe(Strict):
    """Inclusive dates. Both empty: the last 30 days with data for the client."""

    start_date: dt.date | None = Field(default=None, description="First day (YYYY-MM-DD).")
    end_date: dt.date | None = Field(default=None, description="Last day (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _ordered(self):
        if self.start_date and self.end_date:
            if self.start_date > self.end_date:
                raise ValueError("timeframe.start_date must be on or before end_date")
            if (self.end_date - self.start_date).days >= MAX_SPAN_DAYS:
                raise ValueError(f"timeframe spans at most {MAX_SPAN_DAYS} days")
        return self


class ClientRequest(Strict):
    client_id: ClientId | None = Field(default=None, description="The client; a client token "
                                       "may only name its own (default), an admin must name one.")
    timeframe: Timeframe = Field(default_factory=Timeframe)


class UsageFilters(Strict):
    platforms: list[Platform] | None = Field(default=None, max_length=6,
                                             description="Only these platforms.")


class UsageRequest(ClientRequest):
    filters: UsageFilters = Field(default_factory=UsageFilters)


class RevenueRequest(ClientRequest):
    pass


class PerformanceRequest(Strict):
    client_id: ClientId | None = Field(default=None, description="The client whose content "
                                       "generation to include (default: the token's).")


class SegmentFilters(Strict):
    segments: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=50, description="Only these segment names.")


class SegmentsRequest(Strict):
    client_id: ClientId | None = None
    group_by: Literal["rfm_segment", "cluster_segment"] = "rfm_segment"
    filters: SegmentFilters = Field(default_factory=SegmentFilters)


class PricingRequest(Strict):
    include_proposals: Literal["pending", "all", "none"] = Field(
        default="pending", description="Which ops.pricing_proposals to include.")


class ApprovePricingRequest(Strict):
    proposal_id: Annotated[str, Field(pattern=r"^pp-[A-Za-z0-9\-]{1,64}$")]
    decision: Literal["approve", "reject"]
    notes: Annotated[str, Field(max_length=2000)] = ""
    notice_days: Annotated[int, Field(ge=0, le=365)] = 30

    @model_validator(mode="after")
    def _reject_has_notes(self):
        if self.decision == "reject" and not self.notes.strip():
            raise ValueError("notes are required to reject a proposal")
        return self


class Variant(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    weight: Annotated[float, Field(gt=0, le=1)]


class RegisterExperimentRequest(Strict):
    """The ``register_experiment`` job's definition (see its config in the Launchpad)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    hypothesis: Annotated[str, Field(min_length=1, max_length=2000)]
    kind: Literal["pricing", "content", "feature"]
    unit_type: Literal["client", "customer", "user"]
    primary_metric: Literal["conversion", "revenue_14d", "signups"]
    secondary_metrics: list[Literal["conversion", "revenue_14d", "signups"]] = []
    variants: Annotated[list[Variant], Field(min_length=2, max_length=10)]
    control: Annotated[str, Field(min_length=1, max_length=64)] = "control"
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    power: Annotated[float, Field(gt=0, lt=1)] = 0.8
    mde: Annotated[float, Field(gt=0, le=10)] = 0.1
    baseline: Annotated[float, Field(gt=0)] | None = None
    baseline_sd: Annotated[float, Field(gt=0)] | None = None
    client_id: ClientId | None = Field(default=None, description="A client token registers "
                                       "for its own client (default); admin: any, or none "
                                       "for platform-wide.")
    prior_mean: float | None = None
    prior_sd: Annotated[float, Field(gt=0)] | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if abs(sum(v.weight for v in self.variants) - 1.0) > 1e-9:
            raise ValueError("variants' weights must sum to 1")
        if self.control not in {v.name for v in self.variants}:
            raise ValueError(f"control {self.control!r} is not one of the variants")
        if len({v.name for v in self.variants}) != len(self.variants):
            raise ValueError("variant names must be unique")
        if (self.prior_mean is None) != (self.prior_sd is None):
            raise ValueError("prior_mean and prior_sd go together")
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date must be on or before end_date")
        return self


class AlertRulesRequest(Strict):
    """Apply the version-controlled rules file (dagster_project/notify/alert_rules.yml); the
    API never takes a path or rules text. The body is ``{}``."""
