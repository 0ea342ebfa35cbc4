-- The software catalog: registered locations, entities, their relations and
-- the flattened key/value rows that filters and full-text search run on.

CREATE TABLE catalog_locations (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    target       TEXT NOT NULL,
    origin       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    refreshed_at TEXT,
    errors       TEXT NOT NULL,
    UNIQUE (type, target)
);

CREATE TABLE catalog_entities (
    uid          TEXT PRIMARY KEY,
    entity_ref   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    name         TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    location_key TEXT NOT NULL,
    body         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    etag         TEXT NOT NULL,
    orphan       INTEGER NOT NULL,
    errors       TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX catalog_entities_location ON catalog_entities (location_id);
CREATE INDEX catalog_entities_kind_name ON catalog_entities (kind, name);
CREATE INDEX catalog_entities_updated ON catalog_entities (updated_at);

CREATE TABLE catalog_relations (
    origin_uid  TEXT NOT NULL,
    source_ref  TEXT NOT NULL,
    type        TEXT NOT NULL,
    target_ref  TEXT NOT NULL
);
CREATE INDEX catalog_relations_source ON catalog_relations (source_ref);
CREATE INDEX catalog_relations_type_target ON catalog_relations (type, target_ref, source_ref);
CREATE INDEX catalog_relations_origin ON catalog_relations (origin_uid);

CREATE TABLE catalog_search (
    entity_uid TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT,
    original   TEXT
);
CREATE INDEX catalog_search_key_value ON catalog_search (key, value, entity_uid);
CREATE INDEX catalog_search_entity ON catalog_search (entity_uid);
