-- Software template tasks (Backstage's scaffolder task model).
--
-- spec is the task as submitted: the template entity as it was when the task
-- was created, the validated parameter values and the user. Secrets given
-- with a task live only in memory and are never written here.
-- status: open, processing, completed, failed or cancelled.
CREATE TABLE scaffolder_tasks (
    id           TEXT PRIMARY KEY,
    template_ref TEXT NOT NULL,
    spec         TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- Who runs it: the server instance that claimed the task, so a restart
    -- knows which tasks it interrupted.
    runner       TEXT,
    output       TEXT
);
CREATE INDEX scaffolder_tasks_created_by ON scaffolder_tasks (created_by, created_at);
CREATE INDEX scaffolder_tasks_status ON scaffolder_tasks (status);

-- A task's event log, in order: step logs, step status changes, completion.
-- The id orders events and is the `after` cursor of the event stream.
CREATE TABLE scaffolder_task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);
