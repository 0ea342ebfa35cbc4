-- Environments: where components run. `type` is development, staging,
-- production or preview. A preview has a parent (the environment whose
-- config it starts from), a source (repository, branch, pull request, head
-- commit) and an expiry after which the reaper tears it down.
-- config holds the values `environment` resources read (JSON object).
-- status: active, or deleting while its teardown runs.
CREATE TABLE environments (
    name           TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    parent         TEXT,
    config         TEXT NOT NULL DEFAULT '{}',
    source         TEXT,
    follows_branch TEXT,
    expires_at     TEXT,
    status         TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX environments_expires ON environments (expires_at);

-- Deployments: one immutable record per deploy of a component to an
-- environment at a commit. Only status, message, active and updated_at
-- change. `active` marks the deployment the environment should run for that
-- component (the desired state the reconciler restores).
CREATE TABLE deployments (
    id            TEXT PRIMARY KEY,
    component     TEXT NOT NULL,
    environment   TEXT NOT NULL,
    revision      TEXT NOT NULL,
    commit_sha    TEXT NOT NULL,
    workload      TEXT NOT NULL,
    resolved      TEXT NOT NULL,
    status        TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 0,
    kind          TEXT NOT NULL DEFAULT 'deploy',
    based_on      TEXT,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX deployments_target ON deployments (environment, component, created_at);
CREATE INDEX deployments_active ON deployments (active, environment);

-- Webhook deliveries already handled, so a replay is ignored.
CREATE TABLE webhook_deliveries (
    provider    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);
