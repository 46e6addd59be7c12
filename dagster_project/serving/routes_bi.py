"""Read endpoints: ``POST /api/v1/bi/<area>`` and the experiment results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response

from dagster_project.serving import queries
from dagster_project.serving.auth import require_admin, scoped_client
from dagster_project.serving.deps import Caller, service
from dagster_project.serving.models import (
    PerformanceRequest,
    PricingRequest,
    RevenueRequest,
    SegmentsRequest,
    UsageRequest,
)
from dagster_project.serving.queries import AreaQuery

router = APIRouter(prefix="/api/v1/bi", tags=["bi"])
ERRORS = {401: {"description": "missing, invalid, expired or revoked token"},
          403: {"description": "outside the token's scope"},
          422: {"description": "invalid request body"},
          429: {"description": "rate limit exceeded (Retry-After)"},
          503: {"description": "warehouse busy (Retry-After)"},
          504: {"description": "warehouse query timed out"}}


async def respond(request: Request, aq: AreaQuery, client_id: str | None, body: dict
                  ) -> Response:
    stored, hit = await service(request).answer(aq, client_id, body)
    headers = {"X-Cache": "hit" if hit else "miss",
               "Cache-Control": f"private, max-age={int(aq.ttl_s)}"}
    # the GZip middleware's own rule; it passes a body that already has a Content-Encoding
    # through, and adds Vary to the plain large ones itself
    if stored.gzipped and "gzip" in request.headers.get("accept-encoding", ""):
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(content=stored.data, media_type="application/json", headers=headers)
    return Response(content=stored.json(), media_type="application/json", headers=headers)


@router.post("/usage-analytics", responses=ERRORS)
async def usage_analytics(request: Request, body: UsageRequest,
                          principal: Caller) -> Response:
    """Daily posts, impressions, reach, engagements, clicks and followers per platform
    (``reporting.rpt_client_usage_daily``) with totals per platform. Cached 1 h."""
    client = scoped_client(principal, body.client_id)
    return await respond(request, queries.usage(body, client), client, body.model_dump())


@router.post("/revenue-tracking", responses=ERRORS)
async def revenue_tracking(request: Request, body: RevenueRequest,
                           principal: Caller) -> Response:
    """Daily revenue and orders (``reporting.rpt_client_revenue_daily``), totals, and the
    current subscription (``reporting.rpt_client_subscription``). Cached 15 min."""
    client = scoped_client(principal, body.client_id)
    return await respond(request, queries.revenue(body, client), client, body.model_dump())


@router.post("/performance-monitoring", responses=ERRORS)
async def performance_monitoring(request: Request, body: PerformanceRequest,
                                 principal: Caller) -> Response:
    """Platform health (``analytics.performance_status``), each service's latest SLO hour
    (``analytics.performance_slo_burn``) and the client's content generation
    (``analytics.content_generation_performance``). Cached 30 s (real-time metrics)."""
    client = None if principal.is_admin and body.client_id is None else scoped_client(
        principal, body.client_id)
    return await respond(request, queries.performance(body, client), client, body.model_dump())


@router.post("/segments", responses=ERRORS)
async def segments(request: Request, body: SegmentsRequest,
                   principal: Caller) -> Response:
    """The client's end-customers by RFM or cluster segment (``reporting.rpt_client_customers``):
    customers, orders, revenue, mean 12-month CLV and mean P(alive). Cached 30 min."""
    client = scoped_client(principal, body.client_id)
    return await respond(request, queries.segments(body, client), client, body.model_dump())


@router.post("/pricing-optimization", responses=ERRORS)
async def pricing_optimization(request: Request, body: PricingRequest,
                               principal: Caller) -> Response:
    """Admin only: the current recommendations beside the market
    (``reporting.rpt_price_recommendations``) and the proposals (``ops.pricing_proposals``).
    Cached 30 min."""
    require_admin(principal)
    return await respond(request, queries.pricing(body), None, body.model_dump())


@router.get("/experiments/{experiment_id}/results", responses={
    **ERRORS, 404: {"description": "no such experiment for this token"}})
async def experiment_results(request: Request,
                             experiment_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")],
                             principal: Caller) -> Response:
    """``analytics.experiment_results`` of one experiment (one row per metric x variant, with
    its status). A client token sees its own client's experiments only (others: 404, so their
    existence does not leak); platform-wide experiments are the admin's. Cached 30 min."""
    svc = service(request)
    sql, params = queries.experiment_owner(experiment_id)
    owner = (await svc.reader.read([(sql, params, queries.tables_in(sql))]))[0]
    if owner is None or owner.is_empty() or not (
            principal.is_admin or owner["client_id"][0] == principal.client_id):
        raise HTTPException(404, f"no experiment {experiment_id!r} visible to this token")
    client = owner["client_id"][0]
    return await respond(request, queries.experiment_results(experiment_id), client,
                         {"experiment_id": experiment_id})
