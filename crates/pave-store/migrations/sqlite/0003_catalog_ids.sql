-- The catalog keys its derived rows on an integer entity id instead of the
-- text uid: the search index shrinks by half, rows of one entity sit side
-- by side, and filters intersect sorted id lists. Text search gets its own
-- trigram index (FTS5), so a substring search no longer scans every row.
--
-- Entities, relations and search rows are derived from the registered
-- locations, so they are dropped here and rebuilt by the refresh that runs
-- at start-up; locations themselves are kept. Entity uids change once.

DROP TABLE catalog_search;
DROP TABLE catalog_relations;
DROP TABLE catalog_entities;
UPDATE catalog_locations SET refreshed_at = NULL, errors = '[]';

CREATE TABLE catalog_entities (
    id           INTEGER PRIMARY KEY,
    uid          TEXT NOT NULL UNIQUE,
    entity_ref   TEXT NOT NULL,
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
-- Named, so a query can walk it in order (SQLite's INDEXED BY).
CREATE UNIQUE INDEX catalog_entities_ref ON catalog_entities (entity_ref);
CREATE INDEX catalog_entities_location ON catalog_entities (location_id);
CREATE INDEX catalog_entities_kind_name ON catalog_entities (kind, name);
-- Recently changed entities, and those with processing errors (the portal's
-- home page), newest first without sorting.
CREATE INDEX catalog_entities_updated ON catalog_entities (updated_at, id);
CREATE INDEX catalog_entities_failed ON catalog_entities (updated_at, id) WHERE errors <> '[]';

-- origin_id is the entity whose spec produced the relation.
CREATE TABLE catalog_relations (
    origin_id   INTEGER NOT NULL,
    source_ref  TEXT NOT NULL,
    type        TEXT NOT NULL,
    target_ref  TEXT NOT NULL
);
CREATE INDEX catalog_relations_source ON catalog_relations (source_ref, type, target_ref);
CREATE INDEX catalog_relations_type_target ON catalog_relations (type, target_ref, source_ref);
CREATE INDEX catalog_relations_origin ON catalog_relations (origin_id);

-- original is NULL when it equals value (most values are lower-case already).
CREATE TABLE catalog_search (
    entity_id INTEGER NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT,
    original  TEXT
);
-- original rides along so facet counts are read from the index alone.
CREATE INDEX catalog_search_key_value ON catalog_search (key, value, entity_id, original);
CREATE INDEX catalog_search_entity ON catalog_search (entity_id, key);

-- One row per entity (rowid = entity id): the lower-cased text of the fields
-- full-text search looks at, one per line. The trigram tokenizer serves
-- LIKE '%term%' from the index.
CREATE VIRTUAL TABLE catalog_text USING fts5(text, tokenize = 'trigram', detail = 'none');

-- Bumped by every transaction that changes the catalog, so a reader may
-- keep what it derived (id lists of filter conditions) until it moves.
CREATE TABLE catalog_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO catalog_generation (id, value) VALUES (1, 0);
