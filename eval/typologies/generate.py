#!/usr/bin/env python3
"""An independent labelled generator of card and payment traffic, for evaluating the
fraud/AML detectors on shapes they were not written for (issue 19).

It is written from published typologies, not from the detectors or their configuration:
- FATF, "Money Laundering and Terrorist Financing Red Flag Indicators" and the
  trade-based/professional ML typology reports (structuring, smurfing, funnel accounts,
  round amounts, rapid movement across borders, dormant accounts that wake);
- FinCEN advisories and the Bank Secrecy Act thresholds (USD 10,000 currency transaction
  reports, USD 3,000 recordkeeping), the EU's EUR 10,000 cash threshold and EUR 15,000
  occasional-transaction threshold (AMLD), GBP and CHF equivalents;
- card-network guidance on card testing (many small authorisations, varied merchants, often
  card-not-present, followed by a cash-out);
- the shapes of the PaySim (mobile money: CASH_IN/TRANSFER/CASH_OUT chains, steps of an hour)
  and AMLSim (fan-in, fan-out, cycle, scatter-gather between accounts) simulators.

Every record is a valid input record (../shared/DESIGN.md). Its `label` object (synthetic
only; the pipeline ignores it) holds the `pattern` and the `incident` that groups the records
of one occurrence; normal records have none, or a `scenario` that a naive detector would flag
(online purchases from foreign merchants, real travel, large legitimate purchases), so their
false positives can be counted. Cross-account patterns carry `counterparty_account`.

Usage: generate.py [--records N] [--seed S] > traffic.jsonl
"""

import argparse
import json
import math
import random
import sys
import zlib
from datetime import datetime, timedelta, timezone

# Capital cities, (lat, lon, UTC offset in hours, currency): public geography.
COUNTRIES = {
    "DE": (52.52, 13.40, 1, "EUR"), "FR": (48.86, 2.35, 1, "EUR"), "ES": (40.42, -3.70, 1, "EUR"),
    "IT": (41.90, 12.50, 1, "EUR"), "NL": (52.37, 4.90, 1, "EUR"), "BE": (50.85, 4.35, 1, "EUR"),
    "PT": (38.72, -9.14, 0, "EUR"), "AT": (48.21, 16.37, 1, "EUR"), "IE": (53.35, -6.26, 0, "EUR"),
    "PL": (52.23, 21.01, 1, "PLN"), "SE": (59.33, 18.07, 1, "SEK"), "CH": (46.95, 7.45, 1, "CHF"),
    "GB": (51.51, -0.13, 0, "GBP"), "US": (38.90, -77.04, -5, "USD"), "CA": (45.42, -75.70, -5, "CAD"),
    "MX": (19.43, -99.13, -6, "MXN"), "BR": (-15.79, -47.88, -3, "BRL"), "AR": (-34.60, -58.38, -3, "ARS"),
    "JP": (35.68, 139.69, 9, "JPY"), "KR": (37.57, 126.98, 9, "KRW"), "CN": (39.90, 116.40, 8, "CNY"),
    "IN": (28.61, 77.21, 5, "INR"), "SG": (1.35, 103.82, 8, "SGD"), "AE": (24.45, 54.38, 4, "AED"),
    "TR": (39.93, 32.86, 3, "TRY"), "ZA": (-25.75, 28.19, 2, "ZAR"), "NG": (9.08, 7.40, 1, "NGN"),
    "AU": (-35.28, 149.13, 10, "AUD"), "NZ": (-41.29, 174.78, 12, "NZD"), "TH": (13.76, 100.50, 7, "THB"),
    "HK": (22.32, 114.17, 8, "HKD"), "CY": (35.19, 33.38, 2, "EUR"), "MT": (35.90, 14.51, 1, "EUR"),
    "LU": (49.61, 6.13, 1, "EUR"), "PA": (8.98, -79.52, -5, "USD"), "KY": (19.29, -81.37, -5, "KYD"),
}
HOME = ["DE", "FR", "ES", "IT", "NL", "BE", "PT", "AT", "IE", "PL", "SE", "GB"]
# Rough exchange rates to EUR, for plausible local amounts.
EUR_PER = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.04, "PLN": 0.23, "SEK": 0.087,
           "CAD": 0.68, "MXN": 0.054, "BRL": 0.18, "ARS": 0.001, "JPY": 0.0062, "KRW": 0.00068,
           "CNY": 0.13, "INR": 0.011, "SGD": 0.69, "AED": 0.25, "TRY": 0.028, "ZAR": 0.05,
           "NGN": 0.0006, "AUD": 0.6, "NZD": 0.55, "THB": 0.026, "HKD": 0.12, "KYD": 1.1}

# (mcc, merchant names, typical EUR amount, spread): ISO 18245 merchant category codes.
SPEND = [
    ("5411", ["Corner Grocer", "FreshMart", "Bio Markt", "Mercado Central"], 45, 0.8),
    ("5812", ["Trattoria Sole", "Le Petit Bistro", "Noodle Bar", "Burger Hub"], 32, 0.7),
    ("5541", ["Fuel Point", "Autostop", "Gasolinera Sur"], 60, 0.4),
    ("5311", ["Grand Bazaar Store", "Kaufhaus Mitte"], 85, 0.9),
    ("5732", ["Tech Corner", "Elektro World"], 180, 1.0),
    ("4111", ["City Transit", "Metro Card"], 12, 0.5),
    ("5912", ["Pharmacie Centrale", "Apotheke am Markt"], 22, 0.6),
    ("7011", ["Harbour Hotel", "Alpine Lodge"], 160, 0.6),
    ("4511", ["SkyWays Air", "Eurowing Tickets"], 240, 0.7),
    ("5999", ["Gift Gallery", "Hobby Haus"], 38, 0.9),
]
ONLINE = [
    ("5815", ["StreamNow", "Tunes Online", "eBook Cloud"], 11, 0.4),
    ("5942", ["Paper Planet Books", "Libreria Online"], 24, 0.6),
    ("5964", ["ShopDirect", "Catalogue Express"], 55, 0.9),
    ("4814", ["MobileTopUp", "Prepaid Connect"], 20, 0.5),
    ("5818", ["GameCoins Store", "App Credits"], 9, 0.7),
]
TESTING_MERCHANTS = [("8398", "Hope Charity Donations"), ("5815", "Digital Key Shop"),
                     ("5818", "App Credits"), ("4814", "Prepaid Connect"), ("5734", "Software Licences"),
                     ("5999", "Small Gifts Online"), ("7995", "Lucky Spin"), ("8999", "Micro Services Ltd")]
TRANSFER_MCC = "4829"  # wire transfer / money orders

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAYS = 60


def km(a, b):
    (la1, lo1, *_), (la2, lo2, *_) = COUNTRIES[a], COUNTRIES[b]
    p1, p2 = math.radians(la1), math.radians(la2)
    dp, dl = p2 - p1, math.radians(lo2 - lo1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def travel_hours(a, b):
    """The fastest plausible door-to-door time: 900 km/h in the air plus 2 h at airports."""
    d = km(a, b)
    return 0.0 if d < 1 else d / 900 + 2


class World:
    def __init__(self, rng):
        self.rng = rng
        self.records = []
        self.seq = 0
        self.incidents = 0

    def tid(self):
        self.seq += 1
        return f"ind-{self.seq:07d}-{self.rng.randrange(16**6):06x}"

    def incident(self, pattern):
        self.incidents += 1
        return f"{pattern}-{self.incidents:05d}"

    def add(self, account, ts, amount, currency, merchant, mcc, country, channel,
            label="", incident="", counterparty=None, arrival=None, scenario=""):
        r = {
            "transaction_id": self.tid(), "account_id": account,
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": f"{max(amount, 0.01):.2f}", "currency": currency, "merchant": merchant,
            "mcc": mcc, "country": country, "channel": channel,
        }
        if counterparty:
            r["counterparty_account"] = counterparty
        # The contract's `label` object (synthetic data only, ignored and not stored).
        if label:
            r["label"] = {"pattern": label, "incident": incident}
        elif scenario:
            r["label"] = {"scenario": scenario}
        # Arrival order: by time, unless a record is delivered late (batching at an acquirer,
        # an offline terminal uploading later).
        self.records.append((arrival or ts, r))
        return r


def local_amount(rng, eur, spread, currency):
    v = eur * math.exp(rng.gauss(0, spread)) / EUR_PER[currency]
    return round(v, 0) if currency in ("JPY", "KRW") else round(v, 2)


class Customer:
    def __init__(self, rng, i):
        self.id = f"cust-{i:06d}"
        self.home = rng.choice(HOME)
        self.kind = rng.choices(["day", "night_shift", "traveller", "student", "business"],
                                [60, 10, 10, 12, 8])[0]
        self.daily = {"day": 1.6, "night_shift": 1.4, "traveller": 2.2, "student": 1.2,
                      "business": 3.0}[self.kind] * rng.uniform(0.5, 1.5)
        self.scale = rng.uniform(0.4, 2.5) * (2.5 if self.kind == "business" else 1.0)
        self.payday = rng.choice([1, 15, 25, 28])


def hour_of_day(rng, c):
    """Local hour: day people by day, night shifts after midnight, others in between."""
    if c.kind == "night_shift":
        return rng.choice([22, 23, 0, 1, 2, 3, 4, 5, 6, 13, 14])
    return min(23, max(6, int(rng.gauss(14, 3.5))))


def normal_traffic(w, customers, target):
    """Everyday spending with its own rhythms: payday spikes, weekends, night shifts,
    travellers who really travel (with plausible travel times), online purchases from
    foreign merchants while at home, an occasional large legitimate purchase."""
    rng = w.rng
    per_customer = max(1, target // len(customers))
    for c in customers:
        n = max(1, int(rng.gauss(per_customer, per_customer * 0.3)))
        # Trips: travellers and business customers leave home for a few days.
        trips = []
        if c.kind in ("traveller", "business") or rng.random() < 0.1:
            for _ in range(rng.randint(1, 3)):
                dest = rng.choice([k for k in COUNTRIES if k != c.home])
                start = rng.uniform(1, DAYS - 8)
                trips.append((start, start + rng.uniform(2, 7), dest))
        days = []
        for _ in range(n):
            d = rng.uniform(0, DAYS)
            day_of_month = (START + timedelta(days=d)).day
            # Payday: spending bunches in the three days after it.
            if rng.random() < 0.25:
                d = math.floor(d) + ((c.payday - day_of_month) % 30) + rng.uniform(0, 3)
                d = min(d, DAYS - 0.01)
            days.append(d)
        for d in sorted(days):
            country = c.home
            for (s, e, dest) in trips:
                # The day of flying out and back is spent at home or in the air.
                if s + 0.6 < d < e - 0.6:
                    country = dest
            day0 = START + timedelta(days=math.floor(d))
            hour = hour_of_day(rng, c)
            ts = day0 + timedelta(hours=hour - COUNTRIES[country][2], minutes=rng.uniform(0, 59))
            currency = COUNTRIES[country][3]
            if rng.random() < 0.22:
                mcc, names, eur, spread = rng.choice(ONLINE)
                # Online shops abroad are bought from at home: the country is the merchant's.
                mcountry = rng.choice(["US", "IE", "LU", "NL", "GB", c.home, c.home])
                w.add(c.id, ts, local_amount(rng, eur * c.scale, spread, COUNTRIES[mcountry][3]),
                      COUNTRIES[mcountry][3], rng.choice(names), mcc, mcountry, "online",
                      scenario="online_abroad" if mcountry != c.home else "")
                continue
            r = rng.random()
            if r < 0.05:
                w.add(c.id, ts, local_amount(rng, 100 * c.scale, 0.5, currency) // 10 * 10 + 10,
                      currency, "ATM " + country, "6011", country, "atm",
                      scenario="traveller_abroad" if country != c.home else "")
            elif r < 0.10:
                # Rent, salary-like transfers, bills: transfers at home.
                w.add(c.id, ts, local_amount(rng, 600 * c.scale, 0.6, COUNTRIES[c.home][3]),
                      COUNTRIES[c.home][3], "Transfer to landlord", TRANSFER_MCC, c.home, "transfer",
                      counterparty=f"ext-{zlib.crc32(c.id.encode()) % 10**6:06d}")
            elif r < 0.102:
                # A large legitimate purchase (furniture, a car deposit).
                w.add(c.id, ts, local_amount(rng, 2500 * c.scale, 0.5, currency), currency,
                      rng.choice(["Mobel Haus", "Auto Centre", "Jewellers Row"]), "5712", country,
                      "card_present", scenario="large_purchase")
            else:
                mcc, names, eur, spread = rng.choice(SPEND)
                w.add(c.id, ts, local_amount(rng, eur * c.scale, spread, currency), currency,
                      rng.choice(names), mcc, country, "card_present",
                      scenario="traveller_abroad" if country != c.home else "")


def at(rng):
    return START + timedelta(days=rng.uniform(3, DAYS - 3))


def velocity(w, c):
    """A burst on one card: 6 to 40 purchases, one every 10 s to 8 min."""
    rng, inc = w.rng, w.incident("velocity")
    t = at(rng)
    gap = rng.choice([10, 30, 60, 120, 300, 480])
    online = rng.random() < 0.6
    for _ in range(rng.randint(6, 40)):
        t += timedelta(seconds=gap * rng.uniform(0.5, 1.5))
        if online:
            mcc, names, eur, spread = rng.choice(ONLINE)
            cur = COUNTRIES[c.home][3]
            w.add(c.id, t, local_amount(rng, eur * 3, spread, cur), cur, rng.choice(names), mcc,
                  rng.choice([c.home, "US", "GB"]), "online", "velocity", inc)
        else:
            mcc, names, eur, spread = rng.choice(SPEND)
            cur = COUNTRIES[c.home][3]
            w.add(c.id, t, local_amount(rng, eur * 2, spread, cur), cur, rng.choice(names), mcc,
                  c.home, "card_present", "velocity", inc)


def card_testing(w, c):
    """Probing a stolen card: 4 to 25 tiny authorisations (0.10 to 4.99, varied cents, at
    varied merchants), card-not-present, minutes apart; often a cash-out after."""
    rng, inc = w.rng, w.incident("card_testing")
    t = at(rng)
    cur = rng.choice(["EUR", "USD", "GBP"])
    for _ in range(rng.randint(4, 25)):
        t += timedelta(seconds=rng.uniform(5, 240))
        mcc, m = rng.choice(TESTING_MERCHANTS)
        amt = rng.choice([round(rng.uniform(0.1, 4.99), 2), rng.choice([1.0, 0.5, 2.0, 0.99])])
        w.add(c.id, t, amt, cur, m, mcc, rng.choice(["US", "GB", "NL", "IE", c.home]), "online",
              "card_testing", inc)
    if rng.random() < 0.7:
        t += timedelta(minutes=rng.uniform(2, 90))
        w.add(c.id, t, round(rng.uniform(300, 2500), 2), cur, "Elektro World", "5732",
              rng.choice(["US", "GB", c.home]), "online", "card_testing", inc)


THRESHOLDS = [(10000, "USD"), (10000, "EUR"), (15000, "EUR"), (3000, "USD"), (10000, "GBP"),
              (15000, "CHF"), (8000, "GBP")]


def structuring(w, c):
    """Cash or transfers kept just under a reporting threshold, repeated over days."""
    rng, inc = w.rng, w.incident("structuring")
    limit, cur = rng.choice(THRESHOLDS)
    t = at(rng)
    channel = rng.choice(["atm", "transfer", "transfer"])
    for _ in range(rng.randint(3, 8)):
        t += timedelta(hours=rng.uniform(3, 60))
        amt = round(limit * rng.uniform(0.86, 0.995), rng.choice([0, 2]))
        w.add(c.id, t, amt, cur, "Cash deposit" if channel == "atm" else "Outgoing transfer",
              "6011" if channel == "atm" else TRANSFER_MCC, c.home, channel, "structuring", inc,
              counterparty=None if channel == "atm" else f"benef-{rng.randrange(10**6):06d}")


def smurfing(w, customers):
    """Several people each move a sub-threshold sum to one beneficiary within a day or two."""
    rng, inc = w.rng, w.incident("smurfing")
    limit, cur = rng.choice(THRESHOLDS)
    beneficiary = f"benef-{rng.randrange(10**6):06d}"
    t0 = at(rng)
    for c in rng.sample(customers, rng.randint(3, 9)):
        for _ in range(rng.randint(1, 3)):
            t = t0 + timedelta(hours=rng.uniform(0, 40))
            w.add(c.id, t, round(limit * rng.uniform(0.55, 0.99), 0), cur, "Outgoing transfer",
                  TRANSFER_MCC, c.home, "transfer", "smurfing", inc, counterparty=beneficiary)


def impossible_travel(w, c):
    """The same card physically used in two countries too far apart for the time between."""
    rng, inc = w.rng, w.incident("impossible_travel")
    a = c.home
    b = rng.choice([k for k in COUNTRIES if k != a and travel_hours(a, k) > 3])
    t1 = at(rng)
    gap_h = rng.uniform(0.05, 0.8) * travel_hours(a, b)
    t2 = t1 + timedelta(hours=gap_h)
    ch1, ch2 = rng.choice(["card_present", "atm"]), rng.choice(["card_present", "atm"])
    mcc, names, eur, spread = rng.choice(SPEND)
    w.add(c.id, t1, local_amount(rng, eur, spread, COUNTRIES[a][3]), COUNTRIES[a][3],
          rng.choice(names), "6011" if ch1 == "atm" else mcc, a, ch1)
    # One in three arrives before the earlier record (a terminal uploading late).
    late = rng.random() < 0.33
    arrival = t1 - timedelta(minutes=rng.uniform(1, 30)) if late else None
    mcc, names, eur, spread = rng.choice(SPEND)
    cur = COUNTRIES[b][3]
    amt = local_amount(rng, eur * 3, spread, cur) if ch2 != "atm" else round(200 / EUR_PER[cur], -1)
    w.add(c.id, t2, amt, cur, "ATM " + b if ch2 == "atm" else rng.choice(names),
          "6011" if ch2 == "atm" else mcc, b, ch2, "impossible_travel", inc, arrival=arrival)


def dormant_burst(w, customers, i):
    """An account quiet for weeks wakes with large transfers out within hours."""
    rng, inc = w.rng, w.incident("dormant_burst")
    acct = f"dorm-{i:05d}"
    home = rng.choice(HOME)
    cur = COUNTRIES[home][3]
    # A little activity long before, then nothing for 30 to 50 days.
    t = START + timedelta(days=rng.uniform(0, 5))
    for _ in range(rng.randint(1, 3)):
        t += timedelta(hours=rng.uniform(2, 30))
        w.add(acct, t, local_amount(rng, 40, 0.6, cur), cur, "Corner Grocer", "5411", home,
              "card_present")
    t += timedelta(days=rng.uniform(30, 50))
    for _ in range(rng.randint(2, 6)):
        t += timedelta(minutes=rng.uniform(5, 180))
        w.add(acct, t, round(rng.uniform(2000, 20000) / EUR_PER[cur], 2), cur, "Outgoing transfer",
              TRANSFER_MCC, rng.choice([home, "AE", "HK", "CY", "PA"]), "transfer", "dormant_burst",
              inc, counterparty=f"benef-{rng.randrange(10**6):06d}")


def round_amounts(w, c):
    """Repeated transfers of round sums (5,000; 10,000; 25,000…), often abroad."""
    rng, inc = w.rng, w.incident("round_amount")
    t = at(rng)
    cur = rng.choice(["EUR", "USD", "GBP", "CHF"])
    for _ in range(rng.randint(2, 6)):
        t += timedelta(hours=rng.uniform(1, 72))
        w.add(c.id, t, float(rng.choice([5000, 10000, 20000, 25000, 50000])), cur,
              "Outgoing transfer", TRANSFER_MCC, rng.choice(["CH", "LU", "AE", "HK", "CY", c.home]),
              "transfer", "round_amount", inc, counterparty=f"benef-{rng.randrange(10**6):06d}")


def rapid_cross_border(w, c):
    """PaySim's TRANSFER → CASH_OUT chain across borders: funds in, then out to several
    countries within hours."""
    rng, inc = w.rng, w.incident("rapid_cross_border")
    t = at(rng)
    cur = COUNTRIES[c.home][3]
    total = rng.uniform(5000, 60000)
    w.add(c.id, t, round(total / EUR_PER[cur], 2), cur, "Incoming transfer", TRANSFER_MCC, c.home,
          "transfer", "rapid_cross_border", inc, counterparty=f"src-{rng.randrange(10**6):06d}")
    for dest in rng.sample(["AE", "HK", "CY", "MT", "PA", "KY", "TR", "SG", "NG"], rng.randint(2, 5)):
        t += timedelta(minutes=rng.uniform(10, 240))
        w.add(c.id, t, round(total * rng.uniform(0.15, 0.45) / EUR_PER[cur], 2), cur,
              "Outgoing transfer", TRANSFER_MCC, dest, "transfer", "rapid_cross_border", inc,
              counterparty=f"benef-{rng.randrange(10**6):06d}")


def fan_in(w, customers):
    """AMLSim fan-in: many senders, one receiver, within days."""
    rng, inc = w.rng, w.incident("fan_in")
    target = f"benef-{rng.randrange(10**6):06d}"
    t0 = at(rng)
    cur = rng.choice(["EUR", "GBP"])
    for c in rng.sample(customers, rng.randint(5, 12)):
        w.add(c.id, t0 + timedelta(hours=rng.uniform(0, 72)), round(rng.uniform(800, 4000), 2), cur,
              "Outgoing transfer", TRANSFER_MCC, c.home, "transfer", "fan_in", inc, counterparty=target)


def fan_out(w, c):
    """AMLSim fan-out: one sender pays many new receivers within hours."""
    rng, inc = w.rng, w.incident("fan_out")
    t = at(rng)
    cur = COUNTRIES[c.home][3]
    for _ in range(rng.randint(5, 12)):
        t += timedelta(minutes=rng.uniform(5, 120))
        w.add(c.id, t, round(rng.uniform(500, 3000) / EUR_PER[cur], 2), cur, "Outgoing transfer",
              TRANSFER_MCC, c.home, "transfer", "fan_out", inc,
              counterparty=f"benef-{rng.randrange(10**6):06d}")


def cycle(w, customers):
    """AMLSim cycle: money goes round a ring of accounts and comes back, a little less each hop."""
    rng, inc = w.rng, w.incident("cycle")
    ring = rng.sample(customers, rng.randint(3, 6))
    t = at(rng)
    amt = rng.uniform(3000, 30000)
    cur = "EUR"
    for i, c in enumerate(ring):
        nxt = ring[(i + 1) % len(ring)]
        t += timedelta(hours=rng.uniform(1, 30))
        w.add(c.id, t, round(amt, 2), cur, "Outgoing transfer", TRANSFER_MCC, c.home, "transfer",
              "cycle", inc, counterparty=nxt.id)
        amt *= rng.uniform(0.93, 0.99)


def generate(records, seed):
    rng = random.Random(seed)
    w = World(rng)
    n_customers = max(50, records // 25)
    customers = [Customer(rng, i) for i in range(n_customers)]
    normal_traffic(w, customers, records)
    # About 1.2 % of records are labelled, spread over the typologies.
    scale = max(1, records // 10000)
    for _ in range(3 * scale):
        velocity(w, rng.choice(customers))
        card_testing(w, rng.choice(customers))
        structuring(w, rng.choice(customers))
        impossible_travel(w, rng.choice(customers))
        impossible_travel(w, rng.choice(customers))
        round_amounts(w, rng.choice(customers))
        rapid_cross_border(w, rng.choice(customers))
        fan_out(w, rng.choice(customers))
    for i in range(2 * scale):
        smurfing(w, customers)
        fan_in(w, customers)
        cycle(w, customers)
        dormant_burst(w, customers, i)
    w.records.sort(key=lambda x: x[0])
    return [r for _, r in w.records]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=60000, help="normal records (about)")
    ap.add_argument("--seed", type=int, default=20261207)
    args = ap.parse_args()
    out = sys.stdout
    for r in generate(args.records, args.seed):
        out.write(json.dumps(r, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
