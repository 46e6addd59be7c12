"""Simulator tests: determinism, the landing contract, advance-days, and truth consistent with data.

Expected values come from the simulator's truth files (the planted parameters) and from
independent recomputation on the written Parquet files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dagster_project.contract import RAW_TABLES, table
from dagster_project.simulator import MEASURED_ROW_COUNTS, scale_row_counts, simulate
from dagster_project.simulator.__main__ import main
from dagster_project.simulator.shapley import noisy_or, shapley_by_set

SEED = 42


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    simulate("tiny", SEED, root / "landing")
    return root


def read(root: Path, name: str) -> pl.DataFrame:
    files = sorted((root / "landing" / name).glob("date=*/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else table(name).empty_frame()


def truth(root: Path, name: str) -> dict:
    return json.loads((root / "truth" / name).read_text())


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_same_seed_gives_byte_identical_files(tiny, tmp_path):
    simulate("tiny", SEED, tmp_path / "landing")
    a, b = files(tiny / "landing"), files(tmp_path / "landing")
    assert a.keys() == b.keys() and len(a) > 100
    assert all(a[k] == b[k] for k in a)


def test_different_seed_gives_different_data(tiny, tmp_path):
    simulate("tiny", SEED + 1, tmp_path / "landing")
    assert read(tiny, "conversions").height != read(tmp_path, "conversions").height


@pytest.mark.parametrize("name", RAW_TABLES)
def test_every_table_conforms_to_the_landing_contract(tiny, name):
    t = table(name)
    df = read(tiny, name)
    assert df.height > 0
    assert df.schema == t.polars_schema()
    for col in t.required_columns:
        assert df[col].null_count() == 0, f"{name}.{col} has nulls"
    assert df.select(t.key).is_duplicated().sum() == 0, f"{name} key not unique"
    for c in t.columns:
        s = df[c.name].drop_nulls()
        if c.allowed is not None:
            assert set(s.unique()) <= set(c.allowed), f"{name}.{c.name}"
        if c.min is not None:
            assert s.min() >= c.min, f"{name}.{c.name} below min"
        if c.max is not None:
            assert s.max() <= c.max, f"{name}.{c.name} above max"
        if c.type == "timestamp" and s.len():
            assert s.max() < dt.datetime(2026, 11, 30)
    # each file holds exactly its day's rows of the partition column
    for f in sorted((tiny / "landing" / name).glob("date=*/*.parquet"))[:5]:
        day = dt.date.fromisoformat(f.parent.name.removeprefix("date="))
        assert f.name == f"{name}-{day.isoformat()}.parquet"
        part = pl.read_parquet(f)[t.partition_by].cast(pl.Date)
        assert (part == day).all()


def test_tiny_row_counts_are_in_the_documented_range(tiny):
    man = json.loads((tiny / "landing" / "_simulation.json").read_text())
    assert man["days"] == scale_row_counts()["tiny"]["days"]
    assert 80_000 <= man["total_rows"] <= 400_000
    assert man["rows"]["clients"] >= 100 and man["rows"]["touchpoints"] >= 10_000


def test_tiny_row_counts_are_the_published_ones(tiny):
    # README's table quotes MEASURED_ROW_COUNTS; a change to the simulator must update both
    man = json.loads((tiny / "landing" / "_simulation.json").read_text())
    assert man["rows"] == MEASURED_ROW_COUNTS["tiny"]


def test_advance_days_equals_a_longer_run_file_by_file(tmp_path, capsys):
    short, longer = tmp_path / "a" / "landing", tmp_path / "b" / "landing"
    simulate("tiny", 7, short)
    assert json.loads((short / "_simulation.json").read_text())["days"] == 50
    before = files(short)
    main(["--out", str(short), "--advance-days", "4", "--quiet"])  # through the CLI
    assert json.loads(capsys.readouterr().out)["total"] > 0
    after = files(short)
    assert all(after[k] == before[k] for k in before), "advance rewrote an existing file"
    simulate("tiny", 7, longer, days=54)  # a 54-day run from scratch
    ref = files(longer)
    assert ref.keys() == after.keys()
    assert all(ref[k] == after[k] for k in ref)
    assert json.loads((short / "_simulation.json").read_text())["days"] == 54


def test_truth_files_have_the_documented_keys(tiny):
    keys = {
        "attribution.json": {"channels", "channel_exposure_rates", "channel_conversion_params", "shapley_share"},
        "pricing.json": {"elasticity", "reference_price", "price_changes", "price_experiments"},
        "churn.json": {"drivers", "base_hazard"},
        "customers.json": {"bgnbd", "gamma_gamma"},
        "usage.json": {"peak_hours", "viral_optimization_lift", "platform_effects", "content_type_effects"},
        "monitoring.json": {"anomalies", "capacity"},
        "revenue.json": {"trend", "weekly_seasonality", "yearly_seasonality"},
    }
    for f, k in keys.items():
        assert k <= truth(tiny, f).keys(), f
    assert set(truth(tiny, "customers.json")["bgnbd"]) >= {"r", "alpha", "a", "b"}
    assert set(truth(tiny, "customers.json")["gamma_gamma"]) >= {"p", "q", "v"}
    exps = truth(tiny, "experiments.json")
    for e in exps.values():
        assert {"effects", "srm", "pre_period_rho"} <= e.keys()
    assert {p["pattern"] for p in truth(tiny, "monitoring.json")["anomalies"]} == {
        "spike", "drop", "level_shift", "trend", "recurring"}
    assert (tiny / "truth" / "customer_latents.parquet").exists()
    assert (tiny / "truth" / "client_churn.parquet").exists()


def test_shapley_matches_two_channel_closed_form():
    # two channels, noisy-OR: phi_1 = (p1 + f12 - p2) / 2 (average of marginal contributions)
    p = np.array([0.2, 0.5])
    f12 = 1 - 0.8 * 0.5
    phi = shapley_by_set(noisy_or(p), np.array([3]))[0]
    assert phi == pytest.approx([(0.2 + f12 - 0.5) / 2, (0.5 + f12 - 0.2) / 2])
    assert phi.sum() == pytest.approx(f12)


def test_shapley_shares_sum_to_one_and_noisy_or_matches_observed_conversion(tiny):
    att = truth(tiny, "attribution.json")
    assert sum(att["shapley_share"].values()) == pytest.approx(1.0)
    sets = pl.read_parquet(tiny / "truth" / "journey_sets.parquet")
    assert sets["conversions"].sum() == att["converted_journeys"]
    # the journey conversions are exactly the conversions rows (decisions within the history)
    assert att["converted_journeys"] == read(tiny, "conversions").height
    # empirical rate per channel-set size vs mean noisy-OR f: within 4 standard errors
    p = np.array([att["channel_conversion_params"][c] for c in att["channels"]])
    f = noisy_or(p)
    df = sets.with_columns(size=pl.col("channels").str.count_matches(",") + 1,
                           f=pl.Series(f[sets["channel_mask"].to_numpy()]))
    agg = df.group_by("size").agg(n=pl.col("journeys").sum(), c=pl.col("conversions").sum(),
                                  ef=(pl.col("f") * pl.col("journeys")).sum()).filter(pl.col("n") > 200)
    for n, c, ef in agg.select("n", "c", "ef").iter_rows():
        se = np.sqrt(ef / n * (1 - ef / n) / n)
        assert abs(c / n - ef / n) < 4 * se + 1e-9
    # channels with a higher exposure x conversion get a larger share
    share = att["shapley_share"]
    assert share["referral"] < share["paid_search"] and share["twitter"] < share["email"]


def test_touches_on_social_platforms_point_at_the_clients_content(tiny):
    tp = read(tiny, "touchpoints").filter(pl.col("content_id").is_not_null())
    content = read(tiny, "content").select("content_id", pl.col("client_id").alias("c_client"),
                                           pl.col("platform").alias("c_platform"), "published_at")
    j = tp.join(content, on="content_id", how="left")
    assert j["c_client"].null_count() == 0
    assert (j["client_id"] == j["c_client"]).all() and (j["channel"] == j["c_platform"]).all()
    assert (j["published_at"] <= j["touched_at"]).all()


def test_experiment_lift_and_srm_are_visible(tiny):
    a = read(tiny, "experiment_assignments")
    ex = truth(tiny, "experiments.json")
    rates = a.group_by("experiment_id", "variant").agg(n=pl.len(), cr=pl.col("converted").mean(),
                                                     m=pl.col("metric_value").mean())
    r = {(e, v): (n, cr, m) for e, v, n, cr, m in rates.iter_rows()}
    # the three-arm test: the winning arm beats control, more than the null arm does
    assert r[("exp-004", "layout_b")][1] > r[("exp-004", "control")][1]
    # the SRM experiment: the treatment share is far below its weight (chi-square > 10)
    srm = [k for k, v in ex.items() if v["srm"]]
    assert srm == ["exp-003"]
    nc, nt = r[("exp-003", "control")][0], r[("exp-003", "treatment")][0]
    exp_n = (nc + nt) / 2
    assert ((nc - exp_n) ** 2 + (nt - exp_n) ** 2) / exp_n > 10
    # CUPED experiment: the correlation of pre and post is the planted rho
    rho = ex["exp-005"]["pre_period_rho"]
    cu = a.filter(pl.col("experiment_id") == "exp-005", pl.col("variant") == "control")
    assert np.corrcoef(cu["metric_value"], cu["pre_metric_value"])[0, 1] == pytest.approx(rho, abs=0.08)
    # the pricing experiment: shown prices differ by the planted multiplier
    ev = read(tiny, "subscription_events").filter(pl.col("price_experiment_id").is_not_null())
    assert set(ev["price_experiment_id"].unique()) == {"exp-006"}
    assert "exp-006" in set(read(tiny, "experiments").filter(pl.col("kind") == "pricing")["experiment_id"])


def test_capacity_crossing_date_matches_fleet_cpu(tiny):
    mon = truth(tiny, "monitoring.json")
    cap = mon["capacity"]["cpu_pct"]
    ru = read(tiny, "resource_usage")
    for a in mon["anomalies"]:  # the planted cpu trend window is not the baseline
        if a["metric"] == "cpu_pct":
            ru = ru.filter(~pl.col("ts").is_between(dt.datetime.fromisoformat(a["start"]),
                                                    dt.datetime.fromisoformat(a["end"])))
    daily = ru.group_by(pl.col("ts").dt.date().alias("d")).agg(pl.col("cpu_pct").mean()).sort("d")
    crossed = daily.filter(pl.col("cpu_pct") >= cap["threshold"])["d"]
    assert abs((crossed.min() - dt.date.fromisoformat(cap["crossing_date"])).days) <= 3


def test_spike_anomaly_is_visible_in_requests(tiny):
    spike = next(a for a in truth(tiny, "monitoring.json")["anomalies"] if a["pattern"] == "spike")
    api = read(tiny, "api_requests").filter(pl.col("endpoint") == spike["entity"])
    start, end = dt.datetime.fromisoformat(spike["start"]), dt.datetime.fromisoformat(spike["end"])
    inside = api.filter(pl.col("ts") >= start, pl.col("ts") < end)["requests"].mean()
    day_before = api.filter(pl.col("ts") >= start - dt.timedelta(days=1),
                            pl.col("ts") < end - dt.timedelta(days=1))["requests"].mean()
    assert inside > 3 * day_before


def test_customer_latents_cover_every_customer_with_orders(tiny):
    lat = pl.read_parquet(tiny / "truth" / "customer_latents.parquet")
    conv = read(tiny, "conversions")
    assert set(conv["customer_id"].unique()) <= set(lat["customer_id"])
    firsts = conv.filter(pl.col("order_type") == "first")
    assert firsts["customer_id"].n_unique() == firsts.height
    bg = truth(tiny, "customers.json")["bgnbd"]
    # mean purchase rate of the customers is the Gamma mean r / alpha (within 10 %)
    assert lat["lambda"].mean() == pytest.approx(bg["r"] / bg["alpha"], rel=0.1)


def test_advance_without_an_existing_run_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="_simulation.json"):
        simulate(None, None, tmp_path / "landing", advance_days=3)
