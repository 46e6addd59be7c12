-- bi_reader: SELECT on marts, analytics and reporting, including tables the writer creates
-- later (default privileges); no access to raw, raw_quarantine, staging, intermediate or ops.
grant usage on schema marts, analytics, reporting to bi_reader;
grant select on all tables in schema marts, analytics, reporting to bi_reader;
revoke insert, update, delete, truncate, references, trigger
    on all tables in schema marts, analytics, reporting from bi_reader;
alter default privileges for role bi_writer in schema marts, analytics, reporting
    grant select on tables to bi_reader;

revoke all on schema raw, raw_quarantine, staging, intermediate, ops from bi_reader, bi_client;
revoke all on all tables in schema raw, raw_quarantine, staging, intermediate, ops
    from bi_reader, bi_client;

-- bi_client may look into reporting only; SELECT on each client-keyed table is granted with
-- its row-level-security policies (040 and the dbt macro apply_client_row_security).
grant usage on schema reporting to bi_client;
revoke all on schema marts, analytics from bi_client;
