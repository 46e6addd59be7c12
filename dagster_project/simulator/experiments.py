"""A/B experiments with planted effects: a winner, a null, a sample-ratio mismatch, a three-arm
test with one winning arm, and a continuous metric with a pre-period covariate of known rho.

Binary experiments: ``converted ~ Bernoulli(p0 (1 + lift_variant))`` and ``metric_value`` is the
14-day revenue ``converted x Gamma(4, 12.5)`` so both ``conversion`` and ``revenue_14d`` carry the
same relative lift; ``pre_metric_value`` is an independent draw of the same metric (no planted
covariate, ``pre_period_rho`` null). The CUPED experiment draws ``(pre, post)`` bivariate normal
with correlation ``rho``. The SRM experiment loses a share of treatment units after assignment.
The pricing experiment (randomised list price for new sign-ups) lives in the world engine.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl

from dagster_project.simulator import params as P
from dagster_project.simulator.ids import US_PER_DAY, day_us, make_ids, pick, rng, ts

S_EXP = 30

SPECS = (
    {"id": "exp-001", "name": "onboarding_checklist", "kind": "feature", "unit": "user", "client": None,
         "hypothesis": "An onboarding checklist raises 14-day conversion.", "frac": 0.06,
         "arms": (("control", 0.5, 0.0), ("treatment", 0.5, 0.15)), "p0": 0.12, "srm_loss": 0.0, "rho": None},
    {"id": "exp-002", "name": "caption_tone_playful", "kind": "content", "unit": "customer", "client": "cl-000000",
         "hypothesis": "Playful AI captions raise customer conversion.", "frac": 0.10,
         "arms": (("control", 0.5, 0.0), ("treatment", 0.5, 0.0)), "p0": 0.10, "srm_loss": 0.0, "rho": None},
    {"id": "exp-003", "name": "new_post_editor", "kind": "feature", "unit": "user", "client": None,
         "hypothesis": "The new post editor raises conversion to a paid action.", "frac": 0.14,
         "arms": (("control", 0.5, 0.0), ("treatment", 0.5, 0.05)), "p0": 0.15, "srm_loss": 0.2, "rho": None},
    {"id": "exp-004", "name": "pricing_page_layout", "kind": "feature", "unit": "user", "client": None,
         "hypothesis": "One of two new pricing-page layouts raises conversion.", "frac": 0.18,
         "arms": (("control", 0.34, 0.0), ("layout_a", 0.33, 0.0), ("layout_b", 0.33, 0.20)),
         "p0": 0.08, "srm_loss": 0.0, "rho": None},
    {"id": "exp-005", "name": "smart_scheduling", "kind": "feature", "unit": "client", "client": None,
         "hypothesis": "Smart scheduling raises 14-day revenue per client.", "frac": 0.22,
         "arms": (("control", 0.5, 0.0), ("treatment", 0.5, 0.03)), "p0": None, "srm_loss": 0.0, "rho": 0.7},
)
CUPED_MEAN, CUPED_SD = 100.0, 30.0


class Experiments:
    def __init__(self, scale: P.Scale, seed: int, start: dt.date, price_window: tuple[int, int]):
        self.scale, self.seed, self.start = scale, seed, start
        self.windows = {s["id"]: (int(s["frac"] * scale.days), int(s["frac"] * scale.days) + scale.experiment_days)
                        for s in SPECS}
        self.price_window = price_window

    def registry(self, day: int) -> pl.DataFrame:
        rows = []
        for s in SPECS:
            a, b = self.windows[s["id"]]
            if a == day:
                rows.append({"experiment_id": s["id"], "client_id": s["client"], "name": s["name"],
                                 "hypothesis": s["hypothesis"], "kind": s["kind"], "unit_type": s["unit"],
                                 "primary_metric": "revenue_14d" if s["rho"] else "conversion",
                                 "variants": json.dumps([{"name": n, "weight": w} for n, w, _ in s["arms"]]),
                                 "start": a, "end": b, "mde": 0.05 if s["rho"] else 0.1})
        pe = P.PRICE_EXPERIMENT
        if self.price_window[0] == day:
            rows.append({"experiment_id": pe["experiment_id"], "client_id": None, "name": "starter_pro_price_test",
                             "hypothesis": "A 20% higher list price for starter and professional lowers sign-ups "
                                        "by less than it raises revenue per sign-up.",
                             "kind": "pricing", "unit_type": "client", "primary_metric": "signups",
                             "variants": json.dumps([{"name": n, "weight": w} for n, w, _ in pe["arms"]]),
                             "start": self.price_window[0], "end": self.price_window[1], "mde": 0.1})
        if not rows:
            return pl.DataFrame()
        d = pl.DataFrame(rows, schema_overrides={"client_id": pl.String})
        return d.with_columns(
            start_at=ts(np.array([day_us(self.start, r["start"]) for r in rows], dtype=np.int64)),
            end_at=ts(np.array([day_us(self.start, r["end"]) for r in rows], dtype=np.int64)),
            alpha=pl.lit(0.05), power=pl.lit(0.8),
        )

    def assignments(self, day: int) -> pl.DataFrame:
        out = []
        dow = (day + self.start.weekday()) % 7
        for k, s in enumerate(SPECS):
            a, b = self.windows[s["id"]]
            if not a <= day < b:
                continue
            g = rng(self.seed, S_EXP + k, day)
            n = g.poisson(self.scale.experiment_units_per_day * (0.7 if dow >= 5 else 1.1))
            w = np.array([x[1] for x in s["arms"]])
            lift = np.array([x[2] for x in s["arms"]])
            v = g.choice(len(w), n, p=w / w.sum())
            if s["rho"] is not None:
                rho = s["rho"]
                z0, z1 = g.standard_normal(n), g.standard_normal(n)
                pre = CUPED_MEAN + CUPED_SD * z0
                post = CUPED_MEAN * (1 + lift[v]) + CUPED_SD * (rho * z0 + np.sqrt(1 - rho ** 2) * z1)
                conv = post > CUPED_MEAN * 1.2
            else:
                conv = g.random(n) < s["p0"] * (1 + lift[v])
                post = conv * g.gamma(4.0, 12.5, n)
                pre = (g.random(n) < s["p0"]) * g.gamma(4.0, 12.5, n)
            keep = ~((v > 0) & (g.random(n) < s["srm_loss"]))
            idx = np.arange(n)[keep]
            prefix = {"user": "usr-", "customer": "cus-", "client": "cli-"}[s["unit"]]
            out.append(pl.DataFrame({
                "experiment_id": s["id"],
                "unit_id": make_ids(f"{prefix}{day:04d}-", idx, 5),
                "variant": pick([x[0] for x in s["arms"]], v[keep]),
                "assigned_at": ts(day_us(self.start, day) + np.sort(g.integers(0, US_PER_DAY, n))[keep]),
                "metric_value": np.round(post[keep].astype(float), 2),
                "converted": conv[keep], "pre_metric_value": np.round(pre[keep].astype(float), 2),
            }))
        return pl.concat(out) if out else pl.DataFrame()

    def truth(self) -> dict:
        res = {}
        for s in SPECS:
            metrics = ["revenue_14d"] if s["rho"] else ["conversion", "revenue_14d"]
            res[s["id"]] = {
                "effects": {m: {n: l for n, _, l in s["arms"][1:]} for m in metrics},
                "srm": s["srm_loss"] > 0, "pre_period_rho": s["rho"],
                "weights": {n: w for n, w, _ in s["arms"]},
                "treatment_loss_share": s["srm_loss"], "baseline_conversion": s["p0"],
                "start": (self.start + dt.timedelta(days=self.windows[s["id"]][0])).isoformat(),
                "end": (self.start + dt.timedelta(days=self.windows[s["id"]][1])).isoformat(),
            }
        pe = P.PRICE_EXPERIMENT
        effects = {"price": {n: m - 1 for n, _, m in pe["arms"][1:]}}
        for tier in pe["tiers"]:
            effects[f"signups_{tier}"] = {n: m ** P.ELASTICITY[tier] - 1 for n, _, m in pe["arms"][1:]}
        res[pe["experiment_id"]] = {
            "effects": effects, "srm": False, "pre_period_rho": None,
            "weights": {n: w for n, w, _ in pe["arms"]},
            "note": "weights are the shown-price randomisation; sign-up counts per arm differ by the "
                    "demand response (elasticity), which is the effect, not a sample-ratio mismatch",
        }
        return res
