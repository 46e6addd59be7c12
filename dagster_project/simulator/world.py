"""The day-by-day simulation engine: one ``World`` carries the state, ``step(day)`` emits rows.

Every random draw of day ``d`` comes from ``rng(seed, component, d)``, and the state after day
``d`` depends only on days ``0..d``, so the first D days of a longer run equal a D-day run.

Journeys run on a *decision clock* 30 days ahead of the calendar: on day ``d`` the purchase
opportunities deciding on day ``d + 30`` are drawn, with their touches spread over the 30 days
before the decision. Rows wait in a pending buffer until their own day is emitted, so nothing
already written is ever changed. Day 0 warms the clock up with decision days 0..30.

After a decision a customer starts no new opportunity for ``REFRACTORY_DAYS`` (two lookbacks), so
the touches of one customer's journeys never interleave: the touches in the lookback before an
order are exactly that order's journey, and the other touches, cut wherever a lookback passes
without a touch (two opportunities' touches are more than a lookback apart), are exactly the
non-converting journeys; only journeys that began before the history lack their earlier
touches. Without it (at these opportunity rates, ~3 per customer and lookback) every
reconstructed journey mixed several opportunities and no attribution model could recover the
planted credit.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from dagster_project.simulator import params as P
from dagster_project.simulator.ids import (
    US_PER_DAY,
    choice_rows,
    day_us,
    make_ids,
    pick,
    rng,
    ts,
)

NEVER = np.int64(2**62)
MAX_DAYS = 4000
H = 3_600_000_000  # one hour in microseconds
N_CH = len(P.CHANNELS)
N_PL = len(P.PLATFORMS)
NT = len(P.TIERS)

# random-stream numbers per component
S_CLIENTS, S_CONTENT, S_ENGAGE, S_FEATURE, S_JOBS, S_SPEND, S_JOURNEY, S_COMPET = range(1, 9)


def _col(arrs: dict, key: str, new: np.ndarray) -> None:
    arrs[key] = new if key not in arrs else np.concatenate([arrs[key], new])


class World:
    def __init__(self, scale: P.Scale, seed: int, start: dt.date):
        self.scale, self.seed, self.start = scale, seed, start
        self.base_us = day_us(start, 0)
        self.c: dict[str, np.ndarray] = {}  # client state, one entry per client ever
        self.cu: dict[str, np.ndarray] = {}  # end-customer state
        self.n_content = self.n_jobs = self.n_feature = self.n_touch = self.n_conv = 0
        self.pending_touch: list[pl.DataFrame] = []
        self.pending_conv: list[pl.DataFrame] = []
        self.posts: pl.DataFrame | None = None  # published posts still collecting engagement
        self.latest = np.full((0, N_PL, 2), -1, dtype=np.int64)  # 2 latest content nums
        self.journey_counts: dict[int, np.ndarray] = {}  # decision day -> (2, 2**N_CH)
        self._build_price_schedule()
        ef = np.array([P.EXPOSURE[c] for c in P.CHANNELS])
        pc = np.array([P.CONVERSION_P[c] for c in P.CHANNELS])
        self.exposure, self.conv_p = ef, pc
        self.q_convert = 1.0 - float(np.prod(1.0 - ef * pc))

    # ------------------------------------------------------------------ calendar helpers
    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def _doy(self, days: np.ndarray) -> np.ndarray:
        return (np.asarray(days) + self.start.timetuple().tm_yday - 1) % 365.25

    def _dow(self, days) -> np.ndarray:
        return (np.asarray(days) + self.start.weekday()) % 7

    def sub_season(self, day: int) -> float:
        w = np.array(P.SUB_WEEKDAY) / np.mean(P.SUB_WEEKDAY)
        yearly = 1 + P.SUB_SEASON_AMPLITUDE * math.cos(
            2 * math.pi * (self._doy(day) - P.SUB_SEASON_PEAK_DOY) / 365.25)
        return float(w[self._dow(day)] * yearly)

    def revenue_season(self, day: int) -> float:
        w = np.array(P.REVENUE_WEEKLY) / np.mean(P.REVENUE_WEEKLY)
        yearly = 1 + P.REVENUE_YEARLY_AMPLITUDE * math.cos(
            2 * math.pi * (self._doy(day) - P.REVENUE_YEARLY_PEAK_DOY) / 365.25)
        return float(w[self._dow(day)] * yearly)

    def _build_price_schedule(self) -> None:
        self.price_rows = []  # (day, tier, old, new)
        table = np.zeros((NT, MAX_DAYS))
        for t, tier in enumerate(P.TIERS):
            price = P.REFERENCE_PRICE[tier]
            table[t, :] = price
            self.price_rows.append((0, tier, None, price))
            for frac, mult in P.PRICE_CHANGES[tier]:
                day = int(frac * self.scale.days)
                new = round(price * mult, 0) - 0.01 if price * mult > 5 else round(price * mult, 2)
                table[t, day:] = new
                self.price_rows.append((day, tier, price, new))
                price = new
        self.price_table = table
        pe = P.PRICE_EXPERIMENT
        self.pexp_start = int(pe["start_frac"] * self.scale.days)
        self.pexp_end = self.pexp_start + self.scale.experiment_days // 2

    def list_price(self, tier: np.ndarray, day: np.ndarray) -> np.ndarray:
        return self.price_table[tier, np.minimum(day, MAX_DAYS - 1)]

    # ------------------------------------------------------------------ one day
    def step(self, day: int) -> dict[str, pl.DataFrame]:
        out: dict[str, pl.DataFrame] = {}
        d0 = day * US_PER_DAY
        new_clients, pexp_rows = self._new_clients(day)
        out["clients"] = new_clients
        out["plan_prices"] = self._plan_prices(day)
        out["competitor_prices"] = self._competitor_prices(day)
        out["subscription_events"] = self._subscription_events(day)
        active = self.active_at(d0 + 12 * H)
        self.active_count = int(active.sum())
        out["content"], out["content_generation_jobs"] = self._content(day, active)
        out["content_engagement"] = self._engagement(day)
        out["feature_usage_logs"] = self._features(day, active)
        out["marketing_spend"] = self._spend(day, active)
        for D in (range(31) if day == 0 else [day + P.LOOKBACK_DAYS]):
            self._journeys(day, D)
        out["touchpoints"] = self._pop(self.pending_touch, day, "touchpoints")
        out["conversions"] = self._pop(self.pending_conv, day, "conversions")
        out["_pricing_assignments"] = pexp_rows
        return out

    def _pop(self, buf: list[pl.DataFrame], day: int, name: str) -> pl.DataFrame:
        if not buf:
            return pl.DataFrame()
        allrows = pl.concat(buf)
        buf.clear()
        rest = allrows.filter(pl.col("_day") > day)
        if rest.height:
            buf.append(rest)
        return allrows.filter(pl.col("_day") == day).drop("_day")

    def active_at(self, t: int) -> np.ndarray:
        c = self.c
        if not c:
            return np.zeros(0, dtype=bool)
        return (c["signup"] <= t) & ((t < c["cancel1"]) | ((c["react"] <= t) & (t < c["cancel2"])))

    # ------------------------------------------------------------------ clients
    def _new_clients(self, day: int):
        g = rng(self.seed, S_CLIENTS, day)
        sc = self.scale
        season = self.sub_season(day)
        tiers, prices, arms = [], [], []
        pe = P.PRICE_EXPERIMENT
        in_exp = self.pexp_start <= day < self.pexp_end
        for t, tier in enumerate(P.TIERS):
            lp = self.price_table[t, day]
            offers = [(lp, 1.0, -1)]
            if in_exp and tier in pe["tiers"]:
                offers = [(lp * m, w, k) for k, (_, w, m) in enumerate(pe["arms"])]
            for price, w, arm in offers:
                lam = (P.WEEKLY_DEMAND[tier] / 7 * sc.demand_mult * season * w
                       * (price / P.REFERENCE_PRICE[tier]) ** P.ELASTICITY[tier])
                n = g.poisson(lam)
                tiers += [t] * n
                prices += [round(price, 2)] * n
                arms += [arm] * n
        launch = sc.launch_clients if day == 0 else 0
        lt = g.choice(NT, size=launch, p=P.LAUNCH_TIER_MIX)
        tier = np.concatenate([lt, np.array(tiers, dtype=np.int64)]).astype(np.int64)
        price = np.concatenate([self.price_table[lt, 0], np.array(prices, dtype=float)])
        arm = np.concatenate([np.full(launch, -1), np.array(arms, dtype=np.int64)]).astype(np.int64)
        is_launch = np.arange(len(tier)) < launch
        n = len(tier)
        first = len(self.c.get("signup", []))
        num = np.arange(first, first + n)
        signup = day * US_PER_DAY + np.sort(g.integers(0, US_PER_DAY - H, n))
        trial = (g.random(n) < P.TRIAL_SHARE) & ~is_launch
        sub = np.where(trial, signup + P.TRIAL_DAYS * US_PER_DAY, signup + g.integers(60, 900, n) * 1_000_000)
        annual = g.random(n) < np.array(P.ANNUAL_SHARE)[tier]
        disc = np.where(annual, 15.0, np.where(g.random(n) < 0.1, 20.0, 0.0))
        # latent client traits
        eng_z = g.standard_normal(n)
        feat_p = np.array(P.FEATURE_ADOPTION)
        adopts = g.random((n, len(P.FEATURES))) < feat_p
        adopt_at = np.where(adopts, signup[:, None] + (g.exponential(10.0, adopts.shape) * US_PER_DAY).astype(np.int64), NEVER)
        plat = g.random((n, N_PL)) < np.array(P.PLATFORM_ADOPTION)
        plat[np.arange(n), g.integers(0, N_PL, n)] |= ~plat.any(axis=1)
        spend_ch = np.zeros((n, N_CH), dtype=bool)
        spend_ch[:, :N_PL] = plat & (g.random((n, N_PL)) < 0.35)
        spend_ch[:, P.CHANNELS.index("email")] = g.random(n) < 0.6
        spend_ch[:, P.CHANNELS.index("paid_search")] = g.random(n) < 0.5
        budget = g.lognormal(np.log(8.0 * (1 + tier)), 0.6)
        # churn hazard
        ref = np.array([P.REFERENCE_PRICE[t] for t in P.TIERS])[tier]
        x = {
            "log_price_ratio": np.log(price / ref),
            "engagement_trend": eng_z,
            "feature_adoption": adopts.mean(axis=1) - 0.5,
            "annual_billing": annual.astype(float),
        }
        lin = sum(P.CHURN_DRIVERS[k] * v for k, v in x.items())
        base = np.array([P.BASE_HAZARD[t] for t in P.TIERS])[tier]
        hazard = np.minimum(base * np.exp(lin), 0.9)
        rate = -np.log1p(-hazard) / 30.0
        cancel1 = sub + (g.exponential(1.0, n) / rate * US_PER_DAY).astype(np.int64)
        react = np.where(g.random(n) < P.REACTIVATION_SHARE,
                         cancel1 + g.integers(7, 90, n) * US_PER_DAY + g.integers(0, US_PER_DAY, n), NEVER)
        cancel2 = np.where(react < NEVER, react + (g.exponential(1.0, n) / rate * US_PER_DAY).astype(np.int64), NEVER)
        u = g.random(n)
        step_ = np.where(u < P.UPGRADE_SHARE, 1, np.where(u < P.UPGRADE_SHARE + P.DOWNGRADE_SHARE, -1, 0))
        ch_tier = np.clip(tier + step_, 0, NT - 1)
        change = sub + g.integers(20, 200, n) * US_PER_DAY + g.integers(0, US_PER_DAY, n)
        change = np.where((ch_tier != tier) & (change < cancel1), change, NEVER)
        ch_day = np.minimum(change // US_PER_DAY, MAX_DAYS - 1)
        ch_price = self.list_price(ch_tier, ch_day)
        tier_end = np.where(change < NEVER, ch_tier, tier)
        react_price = self.list_price(tier_end, np.minimum(react // US_PER_DAY, MAX_DAYS - 1))
        post_rate = g.gamma(P.POSTS_PER_DAY_SHAPE, np.array(P.POSTS_PER_DAY_MEAN)[tier] / P.POSTS_PER_DAY_SHAPE)
        seats = 1 + g.poisson(np.array(P.SEATS_MEAN)[tier])
        eng_eff = g.lognormal(0.0, 0.5, n)
        cols = {"num": num, "signup": signup, "tier": tier, "price": price, "arm": arm, "trial": trial, "sub": sub,
                    "annual": annual, "disc": disc, "eng_z": eng_z, "cancel1": cancel1, "react": react,
                    "cancel2": cancel2, "change": change, "ch_tier": ch_tier, "ch_price": ch_price,
                    "tier_end": tier_end, "react_price": react_price, "post_rate": post_rate, "seats": seats,
                    "eng_eff": eng_eff, "hazard": hazard, "budget": budget, "launch": is_launch,
                    "x_feat": x["feature_adoption"], "x_price": x["log_price_ratio"]}
        for k, v in cols.items():
            _col(self.c, k, v)
        for k, v in {"adopt_at": adopt_at, "plat": plat, "spend_ch": spend_ch}.items():
            self.c[k] = v if k not in self.c else np.vstack([self.c[k], v])
        self.latest = np.concatenate([self.latest, np.full((n, N_PL, 2), -1, dtype=np.int64)])
        cid = make_ids("cl-", num, 6)
        names1 = ("Blue", "Bright", "Urban", "Golden", "Green", "Nova", "Silver", "Happy", "Prime",
                  "Wild", "North", "Sunny", "Lucky", "Bold", "Little")
        names2 = ("Oak", "Fox", "Harbor", "Studio", "Bakery", "Fitness", "Labs", "Travel", "Market",
                  "Salon", "Homes", "Academy", "Bistro", "Works", "Collective")
        sfx = ("LLC", "Co", "Inc", "Ltd", "GmbH", "& Sons", "Group", "")
        bn = pl.select(pl.concat_str([pick(names1, g.integers(0, len(names1), n)),
                                      pick(names2, g.integers(0, len(names2), n)),
                                      pick(sfx, g.integers(0, len(sfx), n))], separator=" ")
                       .str.strip_chars()).to_series()
        clients = pl.DataFrame({
            "client_id": cid, "business_name": bn,
            "business_niche": pick(P.NICHES, g.choice(len(P.NICHES), n, p=P.NICHE_MIX)),
            "country": pick(P.COUNTRIES, g.choice(len(P.COUNTRIES), n, p=P.COUNTRY_MIX)),
            "signup_at": ts(signup + self.base_us),
            "acquisition_channel": pick(P.ACQ_CHANNELS, g.choice(len(P.ACQ_CHANNELS), n, p=P.ACQ_MIX)),
        })
        pexp = None
        m = arm >= 0
        if m.any():
            pexp = pl.DataFrame({
                "experiment_id": pe["experiment_id"], "unit_id": cid.filter(pl.Series(m)),
                "variant": pick([a[0] for a in pe["arms"]], arm[m]),
                "assigned_at": ts(signup[m] + self.base_us),
                "metric_value": price[m] * (1 - disc[m] / 100), "converted": True,
                "pre_metric_value": 0.0,
            })
        return clients, pexp

    def _plan_prices(self, day: int) -> pl.DataFrame:
        rows = [r for r in self.price_rows if r[0] == day]
        return pl.DataFrame({
            "tier": [r[1] for r in rows], "monthly_price": [float(r[3]) for r in rows],
            "effective_from": ts(np.array([self.base_us + r[0] * US_PER_DAY for r in rows], dtype=np.int64)),
            "effective_to": pl.Series([None] * len(rows), dtype=pl.Datetime("us")),
            "source": ["launch" if r[2] is None else "list_change" for r in rows],
        })

    def _competitor_prices(self, day: int) -> pl.DataFrame:
        if day % 7 != 3:
            return pl.DataFrame()
        g = rng(self.seed, S_COMPET, day)
        plans = [("Hootlite", "Pro", 0, 25.0), ("Hootlite", "Team", 1, 99.0), ("Hootlite", "Enterprise", 3, 499.0),
                 ("Bufferly", "Essentials", 0, 18.0), ("Bufferly", "Team", 1, 72.0),
                 ("SproutPeak", "Standard", 1, 89.0), ("SproutPeak", "Professional", 2, 249.0),
                 ("SproutPeak", "Advanced", 3, 649.0), ("Latergram", "Growth", 0, 33.0),
                 ("Latergram", "Scale", 2, 180.0)]
        drift = 1 + 0.0004 * day
        return pl.DataFrame({
            "competitor": [p[0] for p in plans], "plan_name": [p[1] for p in plans],
            "comparable_tier": [P.TIERS[p[2]] for p in plans],
            "monthly_price": np.round([p[3] * drift * (1 + 0.02 * g.standard_normal()) for p in plans], 2),
            "observed_at": ts(np.full(len(plans), self.base_us + day * US_PER_DAY + 9 * H)),
        })

    # ------------------------------------------------------------------ subscription events
    def _subscription_events(self, day: int) -> pl.DataFrame:
        c = self.c
        d0, d1 = day * US_PER_DAY, (day + 1) * US_PER_DAY
        parts = []
        idx_all = np.arange(len(c["signup"]))

        def add(mask, t, etype, code, k, tier, price, with_exp=False):
            i = idx_all[mask]
            if len(i) == 0:
                return
            parts.append({"i": i, "t": np.asarray(t)[mask] if np.ndim(t) else np.full(len(i), t),
                              "etype": np.full(len(i), etype), "code": np.full(len(i), code),
                              "k": np.asarray(k)[mask] if np.ndim(k) else np.full(len(i), k),
                              "tier": np.asarray(tier)[mask], "price": np.asarray(price)[mask],
                              "exp": (c["arm"][i] >= 0) & with_exp})

        def inwin(t):
            return (t >= d0) & (t < d1)

        add(c["trial"] & inwin(c["signup"]), c["signup"], 0, "t", 0, c["tier"], c["price"], True)
        add(inwin(c["sub"]), c["sub"], 1, "s", 0, c["tier"], c["price"], True)
        up = c["ch_tier"] > c["tier"]
        add(inwin(c["change"]) & up, c["change"], 2, "u", 0, c["ch_tier"], c["ch_price"])
        add(inwin(c["change"]) & ~up, c["change"], 3, "d", 0, c["ch_tier"], c["ch_price"])
        period = np.where(c["annual"], 365, 30).astype(np.int64) * US_PER_DAY
        for span, (anchor, end) in enumerate(((c["sub"], c["cancel1"]), (c["react"], c["cancel2"]))):
            valid = anchor < NEVER
            k = np.where(valid, -((anchor - d0) // period), 0)  # ceil((d0 - anchor) / period)
            t = anchor + k * period
            m = valid & (k >= 1) & (t < d1) & (t < end)
            if span == 0:
                tier = np.where(t >= c["change"], c["ch_tier"], c["tier"])
                price = np.where(t >= c["change"], c["ch_price"], c["price"])
            else:
                tier, price = c["tier_end"], c["react_price"]
            add(m, t, 4, "r", k + 500 * span, tier, price)
        add(inwin(c["cancel1"]), c["cancel1"], 5, "c", 0, c["tier_end"], np.where(c["change"] < NEVER, c["ch_price"], c["price"]))
        add(inwin(c["react"]), c["react"], 6, "a", 0, c["tier_end"], c["react_price"])
        add(inwin(c["cancel2"]), c["cancel2"], 5, "c", 1, c["tier_end"], c["react_price"])
        if not parts:
            return pl.DataFrame()
        a = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        i = a["i"]
        types = ("trial_start", "subscribe", "upgrade", "downgrade", "renew", "cancel", "reactivate")
        code_k = pl.select(pl.concat_str([pl.Series(a["code"]), pl.Series(a["k"]).cast(pl.String).str.zfill(3)])).to_series()
        eid = pl.select(pl.concat_str([pl.lit("ev-"), make_ids("", c["num"][i], 6), pl.lit("-"), code_k])).to_series()
        return pl.DataFrame({
            "event_id": eid, "client_id": make_ids("cl-", c["num"][i], 6),
            "event_at": ts(a["t"] + self.base_us), "event_type": pick(types, a["etype"]),
            "tier": pick(P.TIERS, a["tier"]),
            "billing_period": pick(("monthly", "annual"), c["annual"][i].astype(np.int64)),
            "monthly_price": np.round(a["price"].astype(float), 2), "discount_pct": c["disc"][i],
            "price_experiment_id": pl.select(pl.when(pl.Series(a["exp"])).then(pl.lit(P.PRICE_EXPERIMENT["experiment_id"]))).to_series(),
        })

    # ------------------------------------------------------------------ content
    def _content(self, day: int, active: np.ndarray):
        g = rng(self.seed, S_CONTENT, day)
        c = self.c
        d0 = day * US_PER_DAY
        ai = np.flatnonzero(active)
        age_m = (d0 - c["signup"][ai]) / US_PER_DAY / 30.0
        trend = np.clip(np.exp(P.POSTING_TREND * c["eng_z"][ai] * age_m), 0.2, 5.0)
        wk = 0.7 if self._dow(day) >= 5 else 1.08
        n = g.poisson(c["post_rate"][ai] * trend * wk * self.scale.post_rate_mult)
        ci = np.repeat(ai, n)
        m = len(ci)
        plat = choice_rows(g, c["plat"][ci].astype(float)) if m else np.zeros(0, dtype=np.int64)
        mix = np.array([P.CONTENT_TYPE_MIX[p] for p in P.PLATFORMS])
        ctype = choice_rows(g, mix[plat]) if m else np.zeros(0, dtype=np.int64)
        created = d0 + g.integers(H, US_PER_DAY, m)
        published = created + np.minimum(g.exponential(3.0, m), 36.0).astype(float).__mul__(H).astype(np.int64)
        is_pub = g.random(m) < 0.95
        automated = g.random(m) < 0.4
        viral_ok = c["adopt_at"][ci, P.FEATURES.index("viral_optimizer")] <= created
        viral = viral_ok & (g.random(m) < 0.5)
        tag_mean = np.array([8, 4, 3, 2, 1, 2])[plat]
        hashtags = g.poisson(tag_mean)
        has_cmp = g.random(m) < 0.3
        nums = np.arange(self.n_content, self.n_content + m)
        self.n_content += m
        cid_s = make_ids("cl-", c["num"][ci], 6)
        date = self.date(day)
        qtag = f"{date.year}q{(date.month - 1) // 3 + 1}"
        plat_s = pick(P.PLATFORMS, plat)
        cmp = pl.select(pl.when(pl.Series(has_cmp)).then(pl.concat_str([
            pl.lit("cmp-"), make_ids("", c["num"][ci], 6), pl.lit("-"), plat_s, pl.lit("-" + qtag)]))).to_series()
        content = pl.DataFrame({
            "content_id": make_ids("ct-", nums, 9), "client_id": cid_s, "platform": plat_s,
            "content_type": pick(P.CONTENT_TYPES, ctype), "created_at": ts(created + self.base_us),
            "published_at": pl.select(pl.when(pl.Series(is_pub)).then(ts(published + self.base_us))).to_series(),
            "automated": automated, "viral_optimized": viral, "hashtag_count": hashtags.astype(np.int64),
            "campaign_id": cmp,
        })
        # latent lifetime impressions
        pub_hour = ((published + self.base_us) // H) % 24
        peak = np.zeros(m, dtype=bool)
        for k, p in enumerate(P.PLATFORMS):
            peak |= (plat == k) & np.isin(pub_hour, P.PEAK_HOURS[p])
        pe = np.array([P.PLATFORM_EFFECTS[p] for p in P.PLATFORMS])[plat]
        te = np.array([P.CONTENT_TYPE_EFFECTS[t] for t in P.CONTENT_TYPES])[ctype]
        life = (P.BASE_IMPRESSIONS * pe * te * (1 + P.PEAK_HOUR_LIFT * peak)
                * (1 + P.VIRAL_OPTIMIZATION_LIFT * viral) * c["eng_eff"][ci]
                * np.exp(P.IMPRESSION_SIGMA * g.standard_normal(m)))
        newp = pl.DataFrame({"num": nums, "ci": ci, "plat": plat, "pub_day": published // US_PER_DAY,
                             "life": life}).filter(pl.Series(is_pub))
        self.posts = newp if self.posts is None else pl.concat([self.posts, newp])
        self.posts = self.posts.filter(pl.col("pub_day") > day - P.ENGAGEMENT_DAYS)
        # latest published content per client x platform (for touch content ids)
        if newp.height:
            last = newp.filter(pl.col("pub_day") <= day).group_by("ci", "plat").agg(pl.col("num").max())
            li, lp, ln = (last[k].to_numpy() for k in ("ci", "plat", "num"))
            self.latest[li, lp, 1] = self.latest[li, lp, 0]
            self.latest[li, lp, 0] = ln
        # generation jobs: one succeeded job per automated post, plus failures and timeouts
        am = automated
        n_fail = g.poisson(P.JOB_FAILURE_RATE * am.sum())
        n_to = g.poisson(P.JOB_TIMEOUT_RATE * am.sum())
        fc = ci[am][g.integers(0, max(am.sum(), 1), n_fail + n_to)] if am.any() else np.zeros(0, dtype=np.int64)
        k_total = int(am.sum()) + len(fc)
        dur = (g.gamma(2.0, 40.0, k_total) * 1e6).astype(np.int64)
        start_ok = created[am] - dur[: am.sum()]
        start_bad = d0 + g.integers(H, US_PER_DAY - H, len(fc))
        status = np.concatenate([np.zeros(am.sum(), dtype=np.int64), np.ones(n_fail, dtype=np.int64),
                                 np.full(n_to, 2, dtype=np.int64)])
        started = np.concatenate([start_ok, start_bad])
        finished = np.concatenate([created[am], start_bad + dur[am.sum():]])
        jobnums = np.arange(self.n_jobs, self.n_jobs + k_total)
        self.n_jobs += k_total
        jobs = pl.DataFrame({
            "job_id": make_ids("job-", jobnums, 9),
            "client_id": make_ids("cl-", c["num"][np.concatenate([ci[am], fc])], 6),
            "content_id": pl.concat([make_ids("ct-", nums[am], 9), pl.Series([None] * len(fc), dtype=pl.String)]),
            "started_at": ts(started + self.base_us),
            "finished_at": pl.select(pl.when(pl.Series(status != 2)).then(ts(finished + self.base_us))).to_series(),
            "status": pick(("succeeded", "failed", "timeout"), status),
            "quality_score": pl.Series(np.where(status == 0, np.round(g.beta(8, 2, k_total), 4), np.nan)).fill_nan(None),
        })
        return content, jobs

    def _engagement(self, day: int) -> pl.DataFrame:
        if self.posts is None or self.posts.height == 0:
            return pl.DataFrame()
        g = rng(self.seed, S_ENGAGE, day)
        live = self.posts.filter(pl.col("pub_day") <= day)
        num, ci, plat, pub_day, life = (live[k].to_numpy() for k in ("num", "ci", "plat", "pub_day", "life"))
        age = day - pub_day
        tau = np.array([P.DECAY_DAYS[p] for p in P.PLATFORMS])
        ages = np.arange(P.ENGAGEMENT_DAYS)
        w = np.exp(-ages[None, :] / tau[:, None])
        w /= w.sum(axis=1, keepdims=True)
        impressions = g.poisson(life * w[plat, age])
        reach = g.binomial(impressions, 0.75)
        like_rate = np.array([0.05, 0.07, 0.03, 0.02, 0.015, 0.025])[plat]
        return pl.DataFrame({
            "content_id": make_ids("ct-", num, 9), "client_id": make_ids("cl-", self.c["num"][ci], 6),
            "platform": pick(P.PLATFORMS, plat),
            "observed_date": pl.Series([self.date(day)] * len(num), dtype=pl.Date),
            "impressions": impressions, "reach": reach, "likes": g.binomial(reach, like_rate),
            "comments": g.binomial(reach, 0.004), "shares": g.binomial(reach, 0.003),
            "saves": g.binomial(reach, 0.005), "clicks": g.binomial(impressions, 0.01),
            "followers_gained": g.binomial(reach, 0.002),
        })

    # ------------------------------------------------------------------ feature usage
    def _features(self, day: int, active: np.ndarray) -> pl.DataFrame:
        g = rng(self.seed, S_FEATURE, day)
        c = self.c
        d0 = day * US_PER_DAY
        ai = np.flatnonzero(active)
        adopted = c["adopt_at"][ai] <= d0 + 12 * H
        wk = 0.5 if self._dow(day) >= 5 else 1.2
        lam = (np.array(P.FEATURE_USES_PER_DAY)[None, :] * np.sqrt(c["seats"][ai])[:, None]
               * wk * self.scale.feature_rate_mult * adopted)
        cnt = g.poisson(lam)
        ci = np.repeat(np.repeat(ai, len(P.FEATURES)), cnt.ravel())
        fi = np.repeat(np.tile(np.arange(len(P.FEATURES)), len(ai)), cnt.ravel())
        m = len(ci)
        plat = choice_rows(g, c["plat"][ci].astype(float)) if m else np.zeros(0, dtype=np.int64)
        plat = np.where(fi == P.FEATURES.index("analytics_dashboard"), -1, plat)
        user = (g.random(m) * c["seats"][ci]).astype(np.int64)
        nums = np.arange(self.n_feature, self.n_feature + m)
        self.n_feature += m
        cid = make_ids("cl-", c["num"][ci], 6)
        return pl.DataFrame({
            "event_id": make_ids("fu-", nums, 10), "client_id": cid,
            "user_id": pl.select(pl.concat_str([cid, pl.lit("-u"), make_ids("", user, 2)])).to_series(),
            "feature_name": pick(P.FEATURES, fi), "platform": pick(P.PLATFORMS, plat),
            "timestamp": ts(d0 + g.integers(0, US_PER_DAY, m) + self.base_us),
            "duration_seconds": np.round(g.lognormal(4.0, 1.0, m), 1),
            "time_saved_minutes": np.round(np.array(P.FEATURE_TIME_SAVED)[fi] * g.lognormal(0, 0.5, m), 2),
        })

    # ------------------------------------------------------------------ marketing spend
    def _spend(self, day: int, active: np.ndarray) -> pl.DataFrame:
        g = rng(self.seed, S_SPEND, day)
        c = self.c
        ai = np.flatnonzero(active)
        sp = c["spend_ch"][ai]
        ci = np.repeat(ai, sp.sum(axis=1))
        ch = np.nonzero(sp)[1]
        m = len(ci)
        wk = 0.8 if self._dow(day) >= 5 else 1.08
        spend = np.round(c["budget"][ci] * wk * g.lognormal(0, 0.3, m), 2)
        cpm = np.array([7.0, 5.0, 9.0, 30.0, 6.0, 8.0, 0.5, 20.0, 1.0, 1.0, 1.0])[ch]
        impressions = g.poisson(spend / cpm * 1000)
        ctr = np.array([0.008, 0.01, 0.006, 0.005, 0.004, 0.009, 0.02, 0.04, 0.01, 0.01, 0.01])[ch]
        date = self.date(day)
        qtag = f"{date.year}q{(date.month - 1) // 3 + 1}"
        ch_s = pick(P.CHANNELS, ch)
        return pl.DataFrame({
            "client_id": make_ids("cl-", c["num"][ci], 6), "channel": ch_s,
            "campaign_id": pl.select(pl.concat_str([pl.lit("cmp-"), make_ids("", c["num"][ci], 6),
                                                    pl.lit("-"), ch_s, pl.lit("-" + qtag)])).to_series(),
            "spend_date": pl.Series([date] * m, dtype=pl.Date),
            "spend": spend, "impressions": impressions, "clicks": g.binomial(impressions, ctr),
        })

    # ------------------------------------------------------------------ customers and journeys
    def _journeys(self, day: int, D: int) -> None:
        g = rng(self.seed, S_JOURNEY, D)
        c, cu, sc = self.c, self.cu, self.scale
        tD = D * US_PER_DAY + 12 * H
        # new prospects: a base for clients signing up on the generation day, then a daily flow
        sd = c["signup"] // US_PER_DAY
        act = self.active_at(tD)
        base_new = (sd == day) & (D == day + P.LOOKBACK_DAYS if day > 0 else (sd == 0) & (D == 0))
        lam_new = base_new * sc.customers_per_client + act * (
            sc.prospect_rate * math.exp(P.PROSPECT_GROWTH * D) * (1 + 0.5 * c["tier"]))
        k = g.poisson(lam_new)
        ci = np.repeat(np.arange(len(k)), k)
        n = len(ci)
        first = len(cu.get("client", []))
        bg = P.BGNBD_OPPORTUNITY
        new = {"num": np.arange(first, first + n), "client": ci, "arrival": np.full(n, D),
                   "lam": g.gamma(bg["r"], 1.0 / bg["alpha"], n),
                   "p": g.beta(P.BGNBD_DROPOUT["a"], P.BGNBD_DROPOUT["b"], n),
                   "nu": g.gamma(P.GAMMA_GAMMA["q"], 1.0 / P.GAMMA_GAMMA["v"], n),
                   "alive": np.ones(n, dtype=bool), "purchases": np.zeros(n, dtype=np.int64),
                   "dropout": np.full(n, -1, dtype=np.int64),
                   "ready": np.full(n, D, dtype=np.int64)}
        for key, v in new.items():
            _col(cu, key, v)
        if not cu or len(cu["client"]) == 0:
            self.journey_counts[D] = np.zeros((2, 2**N_CH), dtype=np.int64)
            return
        alive = np.flatnonzero(cu["alive"])
        has = g.random(len(alive)) < -np.expm1(-cu["lam"][alive] * self.revenue_season(D))
        j = alive[has & (cu["ready"][alive] <= D)]
        cu["ready"][j] = D + P.REFRACTORY_DAYS
        m = len(j)
        x = g.random((m, N_CH)) < self.exposure
        f = 1.0 - np.prod(np.where(x, 1.0 - self.conv_p, 1.0), axis=1)
        conv = g.random(m) < f
        mask = (x * (1 << np.arange(N_CH))).sum(axis=1)
        counts = np.zeros((2, 2**N_CH), dtype=np.int64)
        np.add.at(counts[0], mask, 1)
        np.add.at(counts[1], mask[conv], 1)
        self.journey_counts[D] = counts
        t_dec = D * US_PER_DAY + g.integers(8 * H, 23 * H, m)
        # conversions and BG/NBD dropout after each repeat purchase
        jc = j[conv]
        nc = len(jc)
        revenue = g.gamma(P.GAMMA_GAMMA["p"], 1.0 / cu["nu"][jc])
        first_order = cu["purchases"][jc] == 0
        cu["purchases"][jc] += 1
        # BG/NBD: a customer may drop out after a repeat purchase, never after its first
        drop = (g.random(nc) < cu["p"][jc]) & ~first_order
        cu["alive"][jc[drop]] = False
        cu["dropout"][jc[drop]] = D
        cnums = np.arange(self.n_conv, self.n_conv + nc)
        self.n_conv += nc
        if nc:
            self.pending_conv.append(pl.DataFrame({
                "conversion_id": make_ids("cv-", cnums, 10),
                "client_id": make_ids("cl-", c["num"][cu["client"][jc]], 6),
                "customer_id": make_ids("cu-", cu["num"][jc], 9),
                "converted_at": ts(t_dec[conv] + self.base_us),
                "revenue": np.round(revenue, 2),
                "order_type": pick(("repeat", "first"), first_order.astype(np.int64)),
                "_day": np.full(nc, D, dtype=np.int64),
            }))
        # touches: 1 + Poisson extra per exposed channel, spread over the lookback window
        nt = (x * (1 + g.poisson(P.EXTRA_TOUCHES_MEAN, x.shape))).ravel()
        tj = np.repeat(np.repeat(np.arange(m), N_CH), nt)
        tch = np.repeat(np.tile(np.arange(N_CH), m), nt)
        tt = t_dec[tj] - g.integers(0, (P.LOOKBACK_DAYS - 1) * US_PER_DAY, len(tj))
        keep = tt >= 0
        tj, tch, tt = tj[keep], tch[keep], tt[keep]
        nt_ = len(tj)
        if nt_ == 0:
            return
        tcl = cu["client"][j[tj]]
        slot = g.integers(0, 2, nt_)
        social = tch < N_PL
        cand = np.where(social[:, None], self.latest[tcl, np.minimum(tch, N_PL - 1)], -1)
        chosen = np.where(cand[np.arange(nt_), slot] >= 0, cand[np.arange(nt_), slot], cand[:, 0])
        chosen = np.where(tt >= (day + 1) * US_PER_DAY, chosen, -1)  # only posts already live
        paid = c["spend_ch"][tcl, tch] & np.isin(tch, [P.CHANNELS.index(ch) for ch in P.PAID_CHANNELS])
        tday = tt // US_PER_DAY
        tnums = np.arange(self.n_touch, self.n_touch + nt_)
        self.n_touch += nt_
        ch_s = pick(P.CHANNELS, tch)
        frame = pl.DataFrame({
            "touchpoint_id": make_ids("tp-", tnums, 10),
            "client_id": make_ids("cl-", c["num"][tcl], 6),
            "customer_id": make_ids("cu-", cu["num"][j[tj]], 9),
            "channel": ch_s,
            "_paid": paid, "_cnum": make_ids("", c["num"][tcl], 6),
            "content_id": pl.select(pl.when(pl.Series(chosen >= 0)).then(
                make_ids("ct-", np.maximum(chosen, 0), 9))).to_series(),
            "touched_at": ts(tt + self.base_us),
            "_day": tday,
        })
        self.pending_touch.append(frame.with_columns(
            campaign_id=pl.when(pl.col("_paid")).then(pl.concat_str([
                pl.lit("cmp-"), pl.col("_cnum"), pl.lit("-"), pl.col("channel"), pl.lit("-"),
                pl.col("touched_at").dt.year().cast(pl.String), pl.lit("q"),
                pl.col("touched_at").dt.quarter().cast(pl.String)]))
        ).drop("_paid", "_cnum"))
