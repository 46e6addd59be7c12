"""Write endpoints: each launches the Dagster job that owns the write and returns its run id
(``202 Accepted``); the job validates and writes (see ``launcher``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dagster_project.serving.auth import AuthError, require_admin
from dagster_project.serving.deps import Caller, service
from dagster_project.serving.launcher import Launched
from dagster_project.serving.models import (
    AlertRulesRequest,
    ApprovePricingRequest,
    RegisterExperimentRequest,
)
from dagster_project.serving.routes_bi import ERRORS

router = APIRouter(prefix="/api/v1/bi", tags=["writes"])
WRITE_ERRORS = {**ERRORS, 502: {"description": "the Dagster webserver refused or is "
                                "unreachable (the attempt is in the audit log)"}}


def accepted(request: Request, job: str, launched: Launched) -> JSONResponse:
    url = request.app.state.service.settings.dagster_url.rstrip("/")
    return JSONResponse(status_code=202, content={
        "job": job, "run_id": launched.run_id, "request_id": launched.request_id,
        "audit_id": launched.audit_id, "run_url": f"{url}/runs/{launched.run_id}"})


@router.post("/approve-pricing", status_code=202, responses=WRITE_ERRORS)
async def approve_pricing(request: Request, body: ApprovePricingRequest,
                          principal: Caller) -> JSONResponse:
    """Admin only: launch ``review_pricing_proposal`` (approve or reject a pending proposal).
    The reviewer is the token's name, which must be in ``BI_PRICING_ADMINS`` where the job
    runs; the job refuses (run fails, refusal audited) what the workflow forbids."""
    require_admin(principal)
    config = {"proposal_id": body.proposal_id, "decision": body.decision,
              "reviewer": principal.name, "notes": body.notes, "notice_days": body.notice_days}
    job = "review_pricing_proposal"
    launched = await service(request).launcher.launch(principal, job,
                                                      "review_pricing_proposal_op", config)
    return accepted(request, job, launched)


@router.post("/experiments", status_code=202, responses=WRITE_ERRORS)
async def register_experiment(request: Request, body: RegisterExperimentRequest,
                              principal: Caller) -> JSONResponse:
    """Launch ``register_experiment`` (validate, size, append to the registry). A client
    token registers for its own client only; an admin for any client, or platform-wide."""
    if not principal.is_admin:
        if body.client_id not in (None, principal.client_id):
            raise AuthError(403, f"this token is scoped to client {principal.client_id}")
        body = body.model_copy(update={"client_id": principal.client_id})
    config = body.model_dump(mode="json", exclude_none=True)
    config["variants"] = [dict(v) for v in config["variants"]]
    job = "register_experiment"
    launched = await service(request).launcher.launch(principal, job, "register_experiment_op",
                                                      config)
    return accepted(request, job, launched)


@router.post("/alerts/rules", status_code=202, responses=WRITE_ERRORS)
async def apply_alert_rules(request: Request, body: AlertRulesRequest,
                            principal: Caller) -> JSONResponse:
    """Admin only: launch ``apply_alert_rules`` on the version-controlled rules file
    (``dagster_project/notify/alert_rules.yml``; the actor is the token's name)."""
    require_admin(principal)
    job = "apply_alert_rules"
    launched = await service(request).launcher.launch(
        principal, job, "apply_alert_rules_op", {"actor": f"api:{principal.name}"})
    return accepted(request, job, launched)
