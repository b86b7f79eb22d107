"""Commands on GeoJSON layers an agency publishes on the operating picture (shelters,
road closures, staging areas...). Publishing again under the same name replaces the
features; audit and live events in the same transaction; nothing here commits."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.agreements.vocab import TIER_RANK
from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.geo.geojson import validate_feature_collection
from accord.operations.models import MapLayer
from accord.operations.schemas import MapLayerCreate

PUBLISH = "operations:layer:publish"


def _publisher(actor: Actor, agency_id: uuid.UUID) -> None:
    if agency_id not in {agency for agency, _ in roles_key(actor, PUBLISH)}:
        raise PermissionDenied(PUBLISH, agency_id)


def publish_layer(db: Session, *, actor: Actor, data: MapLayerCreate) -> MapLayer:
    _publisher(actor, data.agency_id)
    features = validate_feature_collection(data.features, "features")
    layer = db.scalar(select(MapLayer).where(MapLayer.agency_id == data.agency_id, MapLayer.name == data.name))
    replaced = layer is not None
    if layer is None:
        layer = MapLayer(agency_id=data.agency_id, name=data.name, created_by_user_id=actor.user_id)
        db.add(layer)
    layer.withdrawn_at = None
    layer.description = data.description
    layer.tier, layer.tier_rank = data.tier, TIER_RANK[data.tier]
    layer.features, layer.feature_count = features, len(features["features"])
    layer.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.layer.publish",
        agency_id=data.agency_id,
        object_type="map_layer",
        object_id=layer.id,
        details={"name": data.name, "tier": data.tier, "features": layer.feature_count, "replaced": replaced},
    )
    events.emit(
        db,
        kind="map_layer.published",
        object_type="map_layer",
        object_id=layer.id,
        agency_id=data.agency_id,
        payload={"features": layer.feature_count},
    )
    return layer


def withdraw_layer(db: Session, *, actor: Actor, layer_id: uuid.UUID) -> None:
    """Take a layer off the picture. Its row stays, emptied and marked withdrawn, so that
    the live event reaches the maps that show it (a deleted row passes no delivery check)."""
    layer = db.get(MapLayer, layer_id)
    mine = {agency for agency, _ in roles_key(actor, PUBLISH)}
    if layer is None or layer.agency_id not in mine or layer.withdrawn_at is not None:
        raise NotFound("map layer")
    layer.withdrawn_at = layer.updated_at = utcnow()
    layer.features, layer.feature_count = {"type": "FeatureCollection", "features": []}, 0
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.layer.withdraw",
        agency_id=layer.agency_id,
        object_type="map_layer",
        object_id=layer.id,
        details={"name": layer.name},
    )
    events.emit(db, kind="map_layer.withdrawn", object_type="map_layer", object_id=layer.id, agency_id=layer.agency_id)
