"""Per-minute system metrics (api_requests, resource_usage) with labelled anomaly windows.

Request volume = base rate per endpoint x (active clients / launch clients)^0.8 x daily cycle x
weekly cycle; latency and errors rise with load over each endpoint's capacity. Resource
utilisation follows a deterministic fleet load curve over fixed capacity (exponential growth for
CPU, memory and queue depth, linear for disk) so each resource's threshold-crossing date is known
exactly; hosts deviate from the fleet by fixed factors that average to one. Each day is stateless
given the active-client count, so metrics of any day can be produced independently.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from dagster_project.simulator import params as P
from dagster_project.simulator.ids import US_PER_MIN, day_us, rng, ts

S_API, S_RES = 20, 21


class Metrics:
    def __init__(self, scale: P.Scale, seed: int, start: dt.date):
        self.scale, self.seed, self.start = scale, seed, start
        self.endpoints = P.SERVICES_ENDPOINTS[: scale.endpoints]
        self.hosts = [f"host-{i + 1:02d}" for i in range(scale.hosts)]
        c = float(scale.cpu_crossing_day)
        # resource -> (kind, start value, growth, crossing day)
        self.curves = {
            "cpu_pct": ("exp", 45.0, math.log(80.0 / 45.0) / c),
            "memory_pct": ("exp", 50.0, math.log(85.0 / 50.0) / (1.7 * c)),
            "disk_pct": ("lin", 40.0, 50.0 / (2.5 * c)),
            "queue_depth": ("exp", 200.0 * math.exp(-0.03 * 1.3 * c), 0.03),
        }
        self.anomalies = self._anomaly_instances()

    def baseline(self, resource: str, t_days: np.ndarray) -> np.ndarray:
        kind, v0, g = self.curves[resource]
        return v0 * np.exp(g * t_days) if kind == "exp" else v0 + g * t_days

    def crossing_dates(self) -> dict[str, dict]:
        days = np.arange(0, 20000)
        out = {}
        for r, thr in P.CAPACITY_THRESHOLDS.items():
            d = int(np.argmax(self.baseline(r, days + 0.5) >= thr))
            out[r] = {"threshold": thr, "crossing_date": (self.start + dt.timedelta(days=d)).isoformat(),
                      "definition": "first day whose fleet-average baseline (noon) reaches the threshold"}
        return out

    def _anomaly_instances(self) -> list[dict]:
        out = []
        for k in range(60):
            for pattern, metric, ent, off, smin, dur, size in P.ANOMALY_TEMPLATES:
                start = (off + k * P.ANOMALY_CYCLE_DAYS) * 1440 + smin
                if isinstance(ent, int):
                    if ent >= len(self.endpoints):
                        continue
                    service, entity = self.endpoints[ent][0], self.endpoints[ent][1]
                else:
                    service, entity = None, ent
                out.append({"pattern": pattern, "metric": metric, "entity": entity, "service": service,
                                "start_min": start, "end_min": start + dur, "size": size})
        return out

    def truth_anomalies(self, n_days: int) -> list[dict]:
        base = dt.datetime.combine(self.start, dt.time())
        res = []
        for a in self.anomalies:
            if a["start_min"] >= n_days * 1440:
                continue
            end = min(a["end_min"], n_days * 1440)
            item = {"metric": a["metric"], "entity": a["entity"],
                    "start": (base + dt.timedelta(minutes=a["start_min"])).isoformat(),
                    "end": (base + dt.timedelta(minutes=end)).isoformat(),
                    "pattern": a["pattern"], "size": a["size"],
                    "table": "resource_usage" if a["metric"] == "cpu_pct" else "api_requests"}
            if a["service"]:
                item["service"] = a["service"]
            if a["pattern"] == "recurring":
                item["period_minutes"] = P.RECURRING_PERIOD_MIN
                item["duration_minutes"] = P.RECURRING_DURATION_MIN
            res.append(item)
        return res

    def _windows(self, day: int, minutes: np.ndarray, metric: str, entity: str):
        t = day * 1440 + minutes
        for a in self.anomalies:
            if a["metric"] == metric and a["entity"] == entity and a["start_min"] < t[-1] + 1 and a["end_min"] > t[0]:
                m = (t >= a["start_min"]) & (t < a["end_min"])
                if a["pattern"] == "recurring":
                    mod = (t - a["start_min"]) % P.RECURRING_PERIOD_MIN
                    m &= mod < P.RECURRING_DURATION_MIN
                yield a, m, t

    def step(self, day: int, active_clients: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        minutes = np.arange(0, 1440, self.scale.metric_step)
        nm = len(minutes)
        d0 = day_us(self.start, day)
        tsv = d0 + minutes.astype(np.int64) * US_PER_MIN
        dow = (day + self.start.weekday()) % 7
        daily = 1 + 0.6 * np.sin(2 * np.pi * (minutes / 1440 - 0.3))
        weekly = 0.75 if dow >= 5 else 1.08
        load = (max(active_clients, 1) / self.scale.launch_clients) ** 0.8
        g = rng(self.seed, S_API, day)
        api = []
        for service, endpoint, base, lat in self.endpoints:
            rate = base * load * daily * weekly
            util = rate / (base * 6.0)
            err_rate = 0.002 + 0.03 * util ** 4
            lat_mult = np.ones(nm)
            for a, m, t in self._windows(day, minutes, "requests", endpoint):
                rate = np.where(m, rate * a["size"], rate)
            for a, m, t in self._windows(day, minutes, "latency_p95_ms", endpoint):
                lat_mult = np.where(m, a["size"], lat_mult)
            for a, m, t in self._windows(day, minutes, "errors", endpoint):
                err_rate = np.where(m, a["size"], err_rate)
            req = g.poisson(rate)
            p50 = lat * (1 + 1.5 * util ** 3) * g.lognormal(0, 0.08, nm) * lat_mult
            p95 = p50 * (2.2 + g.gamma(4.0, 0.1, nm))
            p99 = p95 * (1.5 + g.gamma(4.0, 0.1, nm))
            api.append(pl.DataFrame({
                "ts": ts(tsv), "service": service, "endpoint": endpoint, "requests": req,
                "errors": g.binomial(req, np.minimum(err_rate, 1.0)),
                "latency_p50_ms": np.round(p50, 2), "latency_p95_ms": np.round(p95, 2),
                "latency_p99_ms": np.round(p99, 2),
            }))
        g = rng(self.seed, S_RES, day)
        tdays = day + minutes / 1440
        cyc = np.sin(2 * np.pi * (minutes / 1440 - 0.375))
        hf = 1 + 0.06 * np.linspace(-1, 1, len(self.hosts)) if len(self.hosts) > 1 else np.ones(1)
        res = []
        for h, host in enumerate(self.hosts):
            cpu = self.baseline("cpu_pct", tdays) * hf[h] + 8 * cyc + g.normal(0, 2.0, nm)
            for a, m, t in self._windows(day, minutes, "cpu_pct", host):
                cpu = cpu + np.where(m, a["size"] * (t - a["start_min"]) / (a["end_min"] - a["start_min"]), 0)
            mem = self.baseline("memory_pct", tdays) * hf[h] + 3 * cyc + g.normal(0, 1.0, nm)
            disk = self.baseline("disk_pct", tdays) * hf[h] + g.normal(0, 0.3, nm)
            q = self.baseline("queue_depth", tdays) * hf[h] * (1 + 0.3 * cyc)
            res.append(pl.DataFrame({
                "ts": ts(tsv), "host": host,
                "cpu_pct": np.round(np.clip(cpu, 0, 100), 2), "memory_pct": np.round(np.clip(mem, 0, 100), 2),
                "disk_pct": np.round(np.clip(disk, 0, 100), 2), "queue_depth": g.poisson(q),
            }))
        return pl.concat(api), pl.concat(res)
