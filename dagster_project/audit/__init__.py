"""The audit trail ``audit.audit_log``: appending (:mod:`.log`) and verifying its hash chain
(:mod:`.chain`; the ``verify_audit_log`` job in ``defs/audit/`` runs it and raises alerts)."""

from dagster_project.audit.chain import PROBLEMS, Anchor, ChainReport, verify_chain
from dagster_project.audit.log import AUDIT_LOG, GENESIS_HASH, protection_faults, record_audit

__all__ = ["AUDIT_LOG", "GENESIS_HASH", "PROBLEMS", "Anchor", "ChainReport", "protection_faults",
           "record_audit", "verify_chain"]
