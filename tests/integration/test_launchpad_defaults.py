"""The admin jobs open the Launchpad with a complete, valid config whose every field is
described, and that config launched unedited is refused: it names nobody (and no proposal,
experiment or alert), which someone must fill in first."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._config import validate_config

pytestmark = pytest.mark.integration

# job -> (its op, what the refusal of the unedited default says)
ADMIN_JOBS = {
    "review_pricing_proposal": ("review_pricing_proposal_op", "refused"),
    "register_experiment": ("register_experiment_op", "name is empty"),
    "apply_alert_rules": ("apply_alert_rules_op", "actor is empty"),
    "acknowledge_alert": ("acknowledge_alert_op", "actor is empty"),
    "resolve_alert": ("resolve_alert_op", "actor is empty"),
}


@pytest.fixture(scope="module")
def definitions():
    from dagster_project.definitions import defs

    return defs()


@pytest.mark.parametrize("job_name", ADMIN_JOBS)
def test_admin_job_has_a_valid_default_config_with_every_field_described(definitions, job_name):
    op_name, _ = ADMIN_JOBS[job_name]
    job = definitions.resolve_job_def(job_name)
    default = job.run_config
    assert default is not None, f"{job_name} opens the Launchpad empty"
    assert validate_config(job.run_config_schema.run_config_schema_type, default).success
    fields = job.graph.node_named(op_name).definition.config_schema.config_type.fields
    assert set(default["ops"][op_name]["config"]) == set(fields)  # every field shown
    assert not [name for name, f in fields.items() if not (f.description or "").strip()]


@pytest.mark.parametrize("job_name", ADMIN_JOBS)
def test_admin_job_launched_with_its_unedited_default_is_refused(pipeline_env, job_name):
    from dagster_project.definitions import defs

    _, refusal = ADMIN_JOBS[job_name]
    result = defs().resolve_job_def(job_name).execute_in_process(  # on pipeline_env's warehouse
        instance=dg.DagsterInstance.get(), raise_on_error=False)
    assert not result.success
    failures = [e.step_failure_data.error.message for e in result.all_events
                if e.is_step_failure]
    assert any(refusal in m for m in failures), failures
