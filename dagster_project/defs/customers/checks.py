"""The status contract of the customers tables: ok rows carry finite values, others none."""

from dagster_project.status_checks import status_contract_check

CHECKED = {
    "customer_clv": ["p_alive", "expected_purchases", "expected_spend", "clv"],
    "client_churn_risk": ["churn_risk", "baseline_risk"],
    "customer_rfm": ["r_score", "f_score", "m_score", "segment"],
}


customer_checks = [status_contract_check(t, c) for t, c in CHECKED.items()]
