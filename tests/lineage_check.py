"""Checks OpenLineage events against openlineage-python's own event model.

Usage: lineage_check.py EVENTS.jsonl

Each line is one RunEvent as the pipeline emitted it. Every event is built into
`openlineage.client.event_v2.RunEvent` (and every facet into its facet class) field by
field, so an unknown field, a missing required one, a wrong type or an invalid value
(a runId that is not a UUID, an eventTime without a time) fails here the way the client's
model fails. The model fills in its own schema URLs, so those are checked on the raw
events: event and facet `schemaURL`/`_schemaURL` must be absolute https URLs naming the
class they describe, and every facet must carry the event's `_producer`.

Prints one JSON line ({"events": N, "by_type": {...}, "jobs": {...}}) and exits 0, or
prints the problems and exits 1. Written for tests/it/lineage_events.rs; the model, not a
copy of the JSON schema, is the reference.
"""

from __future__ import annotations

import datetime
import enum
import json
import sys
import types
import typing
import uuid
from urllib.parse import urlparse

import attr
from openlineage.client import event_v2
from openlineage.client.generated import base
from openlineage.client.generated.column_lineage_dataset import ColumnLineageDatasetFacet
from openlineage.client.generated.data_quality_assertions_dataset import (
    DataQualityAssertionsDatasetFacet,
)
from openlineage.client.generated.data_quality_metrics_dataset import (
    DataQualityMetricsDatasetFacet,
)
from openlineage.client.generated.datasource_dataset import DatasourceDatasetFacet
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
from openlineage.client.generated.input_statistics_input_dataset import (
    InputStatisticsInputDatasetFacet,
)
from openlineage.client.generated.job_type_job import JobTypeJobFacet
from openlineage.client.generated.output_statistics_output_dataset import (
    OutputStatisticsOutputDatasetFacet,
)
from openlineage.client.generated.parent_run import ParentRunFacet
from openlineage.client.generated.processing_engine_run import ProcessingEngineRunFacet
from openlineage.client.generated.schema_dataset import SchemaDatasetFacet
from openlineage.client.serde import Serde

# The facets the pipeline emits, by where they sit and their key. Anything else fails.
FACETS = {
    "run": {
        "parent": ParentRunFacet,
        "processing_engine": ProcessingEngineRunFacet,
        "errorMessage": ErrorMessageRunFacet,
        "pfm_policy": base.RunFacet,  # custom: the base class plus its own fields
    },
    "job": {"jobType": JobTypeJobFacet},
    "dataset": {
        "schema": SchemaDatasetFacet,
        "dataSource": DatasourceDatasetFacet,
        "columnLineage": ColumnLineageDatasetFacet,
        "dataQualityMetrics": DataQualityMetricsDatasetFacet,
    },
    "input": {
        "inputStatistics": InputStatisticsInputDatasetFacet,
        "dataQualityAssertions": DataQualityAssertionsDatasetFacet,
    },
    "output": {"outputStatistics": OutputStatisticsOutputDatasetFacet},
}
CUSTOM_SCHEMA = "https://agentic-pfm.invalid/schema/openlineage/PolicyRunFacet.json#/$defs/PolicyRunFacet"
EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}


class Invalid(Exception):
    pass


def build(tp, value, where):
    """`value` (parsed JSON) as an instance of the annotated type `tp`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in typing.get_args(tp):
                return None
            raise Invalid(f"{where}: null")
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return build(options[0], value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise Invalid(f"{where}: expected an object")
        _, v = typing.get_args(tp)
        return {k: build(v, x, f"{where}.{k}") for k, x in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise Invalid(f"{where}: expected an array")
        (v,) = typing.get_args(tp)
        return [build(v, x, f"{where}[{i}]") for i, x in enumerate(value)]
    if tp is typing.Any:
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if attr.has(tp):
        return build_attrs(tp, value, where)
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp in (str, bool):
        ok = isinstance(value, tp)
    else:
        raise Invalid(f"{where}: unexpected type {tp}")
    if not ok:
        raise Invalid(f"{where}: {value!r} is not {tp.__name__}")
    return value


def build_attrs(cls, data, where, facet_kind=None):
    if not isinstance(data, dict):
        raise Invalid(f"{where}: expected an object for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in attr.fields(cls)}
    known = {}
    extra = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            if cls is base.RunFacet:
                extra[key] = value  # the custom facet's own fields
                continue
            raise Invalid(f"{where}: {cls.__name__} has no field {key!r}")
        if not f.init:
            continue  # schemaURL/_schemaURL: the model sets its own; checked on the raw JSON
        if key in ("facets", "inputFacets", "outputFacets") and isinstance(value, dict):
            kind = {
                (base.Run, "facets"): "run",
                (base.Job, "facets"): "job",
                (event_v2.InputDataset, "facets"): "dataset",
                (event_v2.OutputDataset, "facets"): "dataset",
                (event_v2.InputDataset, "inputFacets"): "input",
                (event_v2.OutputDataset, "outputFacets"): "output",
            }.get((cls, key))
            if kind is None:
                known[f.alias] = build(hints[f.name], value, f"{where}.{key}")
                continue
            built = {}
            for name, facet in value.items():
                facet_cls = FACETS[kind].get(name)
                if facet_cls is None:
                    raise Invalid(f"{where}.{key}: unexpected {kind} facet {name!r}")
                built[name] = build_attrs(facet_cls, facet, f"{where}.{key}.{name}")
            known[f.alias] = built
            continue
        known[f.alias] = build(hints[f.name], value, f"{where}.{key}")
    try:
        obj = cls(**known)
    except (TypeError, ValueError) as e:
        raise Invalid(f"{where}: {cls.__name__}: {e}") from e
    if extra:
        obj = obj.with_additional_properties(**extra)
    return obj


def https_url(value, where, problems):
    u = urlparse(value or "")
    if u.scheme != "https" or not u.netloc:
        problems.append(f"{where}: {value!r} is not an absolute https URL")
    return u


def check_facets(facets, kind, producer, where, problems):
    for name, facet in (facets or {}).items():
        if facet.get("_producer") != producer:
            problems.append(f"{where}.{name}: _producer {facet.get('_producer')!r} is not the event's")
        url = facet.get("_schemaURL")
        u = https_url(url, f"{where}.{name}._schemaURL", problems)
        cls = FACETS[kind].get(name)
        if name == "pfm_policy":
            if url != CUSTOM_SCHEMA:
                problems.append(f"{where}.{name}: _schemaURL {url!r}")
        elif cls is not None and u.fragment != f"/$defs/{cls.__name__}":
            problems.append(f"{where}.{name}: _schemaURL {url!r} does not name {cls.__name__}")


def check_raw(ev, i, problems):
    where = f"event {i}"
    if ev.get("eventType") not in EVENT_TYPES:
        problems.append(f"{where}: eventType {ev.get('eventType')!r}")
    try:
        t = datetime.datetime.fromisoformat(ev["eventTime"].replace("Z", "+00:00"))
        if t.tzinfo is None:
            problems.append(f"{where}: eventTime {ev['eventTime']!r} has no time zone")
    except (KeyError, ValueError, AttributeError):
        problems.append(f"{where}: eventTime {ev.get('eventTime')!r} is not ISO 8601")
    run_id = (ev.get("run") or {}).get("runId")
    try:
        uuid.UUID(run_id)
    except (ValueError, TypeError, AttributeError):
        problems.append(f"{where}: runId {run_id!r} is not a UUID")
    producer = ev.get("producer")
    https_url(producer, f"{where}.producer", problems)
    u = https_url(ev.get("schemaURL"), f"{where}.schemaURL", problems)
    if u.fragment != "/$defs/RunEvent" or "/spec/2-0-" not in u.path:
        problems.append(f"{where}: schemaURL {ev.get('schemaURL')!r} is not a 2-0-x RunEvent")
    check_facets(ev.get("run", {}).get("facets"), "run", producer, f"{where}.run.facets", problems)
    check_facets(ev.get("job", {}).get("facets"), "job", producer, f"{where}.job.facets", problems)
    for side, own in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for j, d in enumerate(ev.get(side) or []):
            at = f"{where}.{side}[{j}]"
            check_facets(d.get("facets"), "dataset", producer, f"{at}.facets", problems)
            check_facets(d.get(own), side[:-1] if side == "inputs" else "output", producer, f"{at}.{own}", problems)


def without_schema_urls(v):
    if isinstance(v, dict):
        return {k: without_schema_urls(x) for k, x in v.items() if k not in ("schemaURL", "_schemaURL")}
    if isinstance(v, list):
        return [without_schema_urls(x) for x in v]
    return v


def contained(raw, model, where, problems):
    """Every value of the raw event survives the model unchanged (nothing coerced)."""
    if isinstance(raw, dict):
        if not isinstance(model, dict):
            problems.append(f"{where}: became {model!r}")
            return
        for k, v in raw.items():
            if k not in model:
                problems.append(f"{where}.{k}: dropped by the model")
            else:
                contained(v, model[k], f"{where}.{k}", problems)
    elif isinstance(raw, list):
        if not isinstance(model, list) or len(model) != len(raw):
            problems.append(f"{where}: list changed")
            return
        for n, (a, b) in enumerate(zip(raw, model)):
            contained(a, b, f"{where}[{n}]", problems)
    elif raw != model:
        problems.append(f"{where}: {raw!r} became {model!r}")


def main(path):
    problems = []
    by_type = {}
    jobs = {}
    lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
    for i, line in enumerate(lines):
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"event {i}: not JSON: {e}")
            continue
        check_raw(raw, i, problems)
        try:
            model = build_attrs(event_v2.RunEvent, raw, f"event {i}")
        except Invalid as e:
            problems.append(str(e))
            continue
        contained(without_schema_urls(raw), without_schema_urls(Serde.to_dict(model)), f"event {i}", problems)
        by_type[raw["eventType"]] = by_type.get(raw["eventType"], 0) + 1
        jobs[raw["job"]["name"]] = jobs.get(raw["job"]["name"], 0) + 1
    if problems:
        print("\n".join(problems[:50]))
        print(f"{len(problems)} problems in {len(lines)} events", file=sys.stderr)
        return 1
    print(json.dumps({"events": len(lines), "by_type": by_type, "jobs": jobs}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
