"""PostgreSQL administration for production mode: roles, BI access, the audit log."""
