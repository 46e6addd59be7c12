"""The warehouse as the attribution models' journey source: grouped in SQL, read a batch of
clients at a time (``client_id between ? and ?``, in the warehouse's own client order)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dagster_project.analytics.attribution import ClientBatch
from dagster_project.warehouse import WarehouseSession

# the journeys the models credit: every order, and the journeys whose window has closed
ATTRIBUTED_PATHS = """(
    select * from marts.fct_attribution_paths
    where converted or not coalesce(is_window_open, false)
) as paths"""

CLIENTS_SQL = f"""
select client_id, count(distinct coalesce(channel_path, '')) as groups
from {ATTRIBUTED_PATHS}
group by client_id
order by client_id
"""
CHANNELS_SQL = f"""
select distinct step as channel
from (select unnest(string_to_array(channel_path, '>')) as step
      from {ATTRIBUTED_PATHS}
      where channel_path is not null) as steps
"""
JOURNEYS_SQL = f"""
select client_id, channel_path, converted, is_settled, count(*) as journeys,
    sum(revenue) as revenue
from {ATTRIBUTED_PATHS}
where client_id between ? and ?
group by client_id, channel_path, converted, is_settled
"""
RULE_CREDITS_SQL = """
select credits.client_id, paths.channel_path, credits.attribution_model, credits.channel,
    sum(credits.credit) as credit, sum(credits.revenue_credit) as revenue_credit
from marts.fct_attribution_touch_credits as credits
inner join marts.fct_attribution_paths as paths on credits.path_id = paths.path_id
where credits.client_id between ? and ? and paths.client_id between ? and ?
group by credits.client_id, paths.channel_path, credits.attribution_model, credits.channel
"""
# per client: orders and revenue of the journeys the models credit (the conservation check)
CLIENT_TOTALS_SQL = f"""
select client_id, converted, count(*) as journeys, sum(revenue) as revenue
from {ATTRIBUTED_PATHS}
group by client_id, converted
"""


@dataclass(frozen=True)
class WarehouseJourneys:
    """``JourneySource`` over the attribution marts, read through one warehouse session (one
    transaction: both passes over the batches read the same rows)."""

    session: WarehouseSession

    def client_groups(self) -> pl.DataFrame:
        return self.session.read(CLIENTS_SQL)

    def channel_names(self) -> list[str]:
        return self.session.read(CHANNELS_SQL)["channel"].to_list()

    def journeys(self, batch: ClientBatch) -> pl.DataFrame:
        return self.session.read(JOURNEYS_SQL, [batch.first, batch.last])

    def rule_credits(self, batch: ClientBatch) -> pl.DataFrame:
        return self.session.read(RULE_CREDITS_SQL, [batch.first, batch.last] * 2)
