#!/usr/bin/env python3
"""Scores the detectors on a labelled file after `pipeline run --input FILE` stored it in the
embedded SQLite database. A record counts as flagged when its decision is `review` or it is
quarantined (issue 19). Prints one JSON object: per pattern, record and incident recall;
overall precision and recall; the flag rate of the normal scenarios that invite false
positives; and every record accounted for (rows + quarantine + dead letters = input).

Usage: score.py LABELLED.jsonl PIPELINE.db
"""

import collections
import json
import sqlite3
import sys


def score(labelled_path, db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    flagged = {t for (t,) in db.execute("SELECT transaction_id FROM transactions WHERE decision = 'review'")}
    flagged |= {t for (t,) in db.execute("SELECT transaction_id FROM quarantine")}
    stored = {t for (t,) in db.execute("SELECT transaction_id FROM transactions")}
    stored |= {t for (t,) in db.execute("SELECT transaction_id FROM quarantine")}
    dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]

    per = collections.defaultdict(lambda: {"records": 0, "flagged": 0, "incidents": set(), "caught": set()})
    scen = collections.defaultdict(lambda: [0, 0])
    tp = fp = fn = 0
    total = missing = 0
    for line in open(labelled_path, encoding="utf-8"):
        r = json.loads(line)
        total += 1
        t = r["transaction_id"]
        if t not in stored:
            missing += 1
        hit = t in flagged
        meta = r.get("label") or {}
        label = meta.get("pattern", "")
        if label:
            p = per[label]
            p["records"] += 1
            p["flagged"] += hit
            p["incidents"].add(meta["incident"])
            if hit:
                p["caught"].add(meta["incident"])
            tp += hit
            fn += not hit
        else:
            fp += hit
            if meta.get("scenario"):
                scen[meta["scenario"]][0] += 1
                scen[meta["scenario"]][1] += hit
    out = {
        "records": total,
        "not_stored": missing,
        "dead_letters": dead,
        "labelled": tp + fn,
        "overall": {
            "recall": round(tp / max(tp + fn, 1), 3),
            "precision": round(tp / max(tp + fp, 1), 3),
            "true_positives": tp, "false_positives": fp, "false_negatives": fn,
        },
        "patterns": {
            k: {
                "recall": round(v["flagged"] / v["records"], 3),
                "flagged": v["flagged"], "records": v["records"],
                "incident_recall": round(len(v["caught"]) / len(v["incidents"]), 3),
                "incidents": len(v["incidents"]),
            }
            for k, v in sorted(per.items())
        },
        "normal_scenarios_flagged": {
            k: {"flagged": f, "records": n, "rate": round(f / max(n, 1), 4)} for k, (n, f) in sorted(scen.items())
        },
    }
    return out


if __name__ == "__main__":
    print(json.dumps(score(sys.argv[1], sys.argv[2]), indent=2))
