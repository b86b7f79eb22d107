"""Per-category record bodies. Each category is a strict schema (a Pydantic model, so a
JSON Schema can be published); some fields carry a sensitive label and are masked for
recipients whose grant does not include that label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from accord.agreements.vocab import RECORD_CATEGORIES


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: type[Any]
    required: bool = False
    label: str | None = None  # PII | PHI | CJI
    max_length: int = 4000
    help: str = ""


TEXT = str
SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "incident_report": (
        FieldSpec("summary", TEXT, True, help="What happened"),
        FieldSpec("location_description", TEXT),
        FieldSpec("units_involved", TEXT),
        FieldSpec("persons_involved", TEXT, label="PII", help="Names and contact details"),
        FieldSpec("arrest_details", TEXT, label="CJI"),
    ),
    "intelligence_bulletin": (
        FieldSpec("summary", TEXT, True),
        FieldSpec("assessment", TEXT, True),
        FieldSpec("source_reliability", TEXT, max_length=1, help="A (reliable) to F (cannot be judged)"),
        FieldSpec("subjects", TEXT, label="PII"),
        FieldSpec("criminal_history", TEXT, label="CJI"),
    ),
    "bolo": (
        FieldSpec("subject_description", TEXT, True),
        FieldSpec("vehicle", TEXT),
        FieldSpec("last_seen", TEXT),
        FieldSpec("subject_name", TEXT, label="PII"),
        FieldSpec("warrant", TEXT, label="CJI"),
    ),
    "case_summary": (
        FieldSpec("summary", TEXT, True),
        FieldSpec("status", TEXT, max_length=40),
        FieldSpec("suspects", TEXT, label="PII"),
        FieldSpec("case_number", TEXT, label="CJI", max_length=60),
    ),
    "public_health_case": (
        FieldSpec("condition", TEXT, True, max_length=200),
        FieldSpec("onset_date", date),
        FieldSpec("case_count", int),
        FieldSpec("exposure_setting", TEXT),
        FieldSpec("patient_name", TEXT, label="PII"),
        FieldSpec("diagnosis_details", TEXT, label="PHI"),
        FieldSpec("lab_results", TEXT, label="PHI"),
    ),
    "inspection_finding": (
        FieldSpec("facility", TEXT, True, max_length=300),
        FieldSpec("finding", TEXT, True),
        FieldSpec("severity", TEXT, max_length=20),
        FieldSpec("inspector_contact", TEXT, label="PII"),
    ),
    "threat_indicator": (
        FieldSpec("indicator_type", TEXT, True, max_length=20, help="ip, domain, url, hash, email"),
        FieldSpec("value", TEXT, True, max_length=2000),
        FieldSpec("description", TEXT),
        FieldSpec("reporter_contact", TEXT, label="PII"),
    ),
}
assert set(SPECS) == set(RECORD_CATEGORIES)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _field(spec: FieldSpec) -> tuple[Any, Any]:
    if spec.kind is str:
        annotation: Any = str if spec.required else str | None
        constraint = Field(
            ... if spec.required else None,
            min_length=1 if spec.required else 0,
            max_length=spec.max_length,
            description=spec.help or None,
        )
    elif spec.kind is int:
        annotation = int | None
        constraint = Field(None, ge=0, le=10_000_000, description=spec.help or None)
    else:
        annotation = spec.kind | None
        constraint = Field(None, description=spec.help or None)
    return annotation, constraint


def _body_model(category: str, specs: tuple[FieldSpec, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {s.name: _field(s) for s in specs}
    name = f"{category.title().replace('_', '')}Body"
    return create_model(name, __base__=_Body, **fields)


BODY_MODELS: dict[str, type[BaseModel]] = {category: _body_model(category, specs) for category, specs in SPECS.items()}

LABELLED: dict[str, dict[str, str]] = {
    category: {s.name: s.label for s in specs if s.label} for category, specs in SPECS.items()
}


def labelled_fields(category: str) -> dict[str, str]:
    """Field name -> label for a category."""
    return LABELLED[category]


def json_schema(category: str) -> dict[str, Any]:
    schema = BODY_MODELS[category].model_json_schema()
    for name, label in LABELLED[category].items():
        schema["properties"][name]["x-accord-label"] = label
    return schema
