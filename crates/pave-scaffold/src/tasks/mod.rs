//! The task engine: persisted template runs.
//!
//! [`Scaffolder::create_task`] checks a template and its values, stores an
//! `open` task and starts it in the background; the run's events are
//! written to the task's event log as they happen and the final status,
//! output or error at the end. Readers follow a task with
//! [`Scaffolder::next_events`], which waits for new events without polling
//! while the task runs in this process.
//!
//! Secrets given with a task stay in memory, in the running task only: they
//! are never stored, and events are masked (see [`crate::run::Masker`]).
//!
//! Restarts: a task interrupted by a restart is failed with a `recovered`
//! event, never resumed half-way: its secrets are gone, and the steps with
//! effects outside the workspace are each atomic (`publish:git` creates a
//! hosted repository by renaming a complete one into place), so a failed
//! task leaves either nothing or whole results behind. On SQLite one server
//! owns the database, so every unfinished task found at start-up was
//! interrupted; on PostgreSQL, where replicas share tasks, a task counts as
//! interrupted once its runner has not sent a heartbeat for
//! [`ScaffolderConfig::stale_after`].

mod dry_run;
mod source;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pave_catalog::Catalog;
use pave_git::{GitPublisher, GitReader, Hosting};
use pave_store::{Backend, Store, StoreError, format_time, now};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::actions::{
    ActionRegistry, Cancellation, CatalogRegister, CatalogWrite, PublishGit, PublishSettings,
};
use crate::expression::{Context, UserContext};
use crate::model::Template;
use crate::run::{self, Run, RunError, RunEvent};
use crate::workspace::Workspace;
use crate::{parse_template, validate_values, with_defaults};

pub use dry_run::{DryRunFile, DryRunRequest, DryRunResult};
pub use store::{EventType, TaskEvent, TaskRecord, TaskStatus};

/// How the engine works; from the `scaffolder` section of the config.
#[derive(Debug, Clone)]
pub struct ScaffolderConfig {
    /// Task workspaces and template checkouts (`<data>/scaffolder`).
    pub work_dir: PathBuf,
    /// Pave's own git hosting (`<data>/repositories`), where `publish:git` creates
    /// repositories for the host `pave`.
    pub hosting_root: PathBuf,
    /// Git mirrors for templates that live in remote repositories.
    pub git_cache: PathBuf,
    /// Tasks that run at once; more wait, `open`.
    pub max_running: usize,
    /// On PostgreSQL: how long a processing task may go without a heartbeat
    /// before another server fails it as interrupted.
    pub stale_after: Duration,
    /// Directories under which `publish:git` may push to `file://` remotes
    /// (none by default: a template cannot write into the server's disk).
    pub file_push_roots: Vec<PathBuf>,
}

impl ScaffolderConfig {
    /// Defaults under a data directory.
    pub fn under(data_dir: &std::path::Path) -> ScaffolderConfig {
        ScaffolderConfig {
            work_dir: data_dir.join("scaffolder"),
            hosting_root: data_dir.join("repositories"),
            git_cache: data_dir.join("cache").join("scaffolder-git"),
            max_running: 4,
            stale_after: Duration::from_secs(60),
            file_push_roots: Vec::new(),
        }
    }
}

/// Why the engine refused or failed a request; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ScaffolderError {
    /// No such task (or template).
    #[error("{0}")]
    NotFound(String),
    /// The template or the values cannot run.
    #[error("{message}")]
    Input {
        /// The whole message.
        message: String,
        /// One line per problem, for forms.
        problems: Vec<Problem>,
    },
    /// The task cannot change any more.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file operation of the engine itself failed.
    #[error("{0}")]
    Io(String),
}

/// One problem with submitted values or a template, for forms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The parameter or field, e.g. `name` or `spec.steps[1].action`.
    pub path: String,
    pub message: String,
}

impl ScaffolderError {
    fn input(message: impl Into<String>) -> ScaffolderError {
        ScaffolderError::Input {
            message: message.into(),
            problems: Vec::new(),
        }
    }
}

/// A request to run a template.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// The template entity as the catalog stores it.
    pub template: Value,
    /// Submitted parameter values.
    pub values: Value,
    /// Secrets for this run only.
    pub secrets: BTreeMap<String, String>,
    /// Who runs it: a principal reference such as `user:default/alice`.
    pub created_by: String,
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Scaffolder {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    catalog: Arc<Catalog>,
    registry: ActionRegistry,
    config: ScaffolderConfig,
    reader: GitReader,
    hosting: Hosting,
    running: Mutex<HashMap<String, Running>>,
    permits: Semaphore,
}

/// A task running in this process.
struct Running {
    cancellation: Cancellation,
    /// The id of the last event written; readers wait on it.
    last_event: watch::Sender<i64>,
}

impl Scaffolder {
    /// The engine with every built-in action, `publish:git` and the catalog
    /// actions included.
    pub fn new(store: Store, catalog: Arc<Catalog>, config: ScaffolderConfig) -> Scaffolder {
        Scaffolder::with_actions(store, catalog, config, Vec::new())
    }

    /// [`Scaffolder::new`] plus actions other engines offer (`pave:deploy`).
    /// An action whose name is taken is refused with an error in the log.
    pub fn with_actions(
        store: Store,
        catalog: Arc<Catalog>,
        config: ScaffolderConfig,
        actions: Vec<Arc<dyn crate::actions::Action>>,
    ) -> Scaffolder {
        let hosting = Hosting::new(&config.hosting_root);
        let publisher = GitPublisher::new(config.work_dir.join("git-home"));
        let mut registry = ActionRegistry::with_builtin_actions();
        let extra: [Arc<dyn crate::actions::Action>; 3] = [
            Arc::new(PublishGit::new(PublishSettings {
                hosting: hosting.clone(),
                publisher,
                file_push_roots: config.file_push_roots.clone(),
            })),
            Arc::new(CatalogRegister::new(Arc::clone(&catalog))),
            Arc::new(CatalogWrite),
        ];
        for action in extra.into_iter().chain(actions) {
            if let Err(error) = registry.register(action) {
                tracing::error!(%error, "an action could not be registered");
            }
        }
        Scaffolder {
            inner: Arc::new(Inner {
                reader: GitReader::new(&config.git_cache),
                permits: Semaphore::new(config.max_running.max(1)),
                store,
                catalog,
                registry,
                config,
                hosting,
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The actions templates may use.
    pub fn actions(&self) -> &ActionRegistry {
        &self.inner.registry
    }

    /// Pave's git hosting.
    pub fn hosting(&self) -> &Hosting {
        &self.inner.hosting
    }

    /// Fails tasks a restart interrupted and removes what they left in the
    /// work directory. Call once at start-up, before serving.
    pub async fn recover(&self) -> Result<usize, ScaffolderError> {
        if let Err(error) = self.inner.hosting.clean_incomplete() {
            tracing::warn!(%error, "cannot clean incomplete hosted repositories");
        }
        let before = match self.inner.store.backend() {
            Backend::Sqlite => None,
            Backend::Postgres => Some(self.stale_before()),
        };
        let recovered = self.fail_interrupted(before.as_deref()).await?;
        // Workspaces of tasks that are not running here are leftovers.
        let tasks_dir = self.inner.config.work_dir.join("tasks");
        if let Ok(entries) = std::fs::read_dir(&tasks_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if !self.is_running_here(&name) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(recovered)
    }

    fn stale_before(&self) -> String {
        let stale = jiff::SignedDuration::try_from(self.inner.config.stale_after)
            .unwrap_or(jiff::SignedDuration::from_secs(60));
        let current = now();
        format_time(current.checked_sub(stale).unwrap_or(current))
    }

    async fn fail_interrupted(&self, before: Option<&str>) -> Result<usize, ScaffolderError> {
        let mut count = 0;
        for task in store::interrupted(&self.inner.store, before).await? {
            if self.is_running_here(&task.id) {
                continue;
            }
            let moved = store::transition(
                &self.inner.store,
                &task.id,
                &[TaskStatus::Open, TaskStatus::Processing],
                TaskStatus::Failed,
                None,
            )
            .await?;
            if !moved {
                continue;
            }
            let message = "Pave stopped while this task was waiting or running, so it was failed rather than resumed (its secrets were never stored). Steps that publish are atomic: nothing was published half-way. Run the template again; if a repository was already created, choose another name";
            store::append_event(
                &self.inner.store,
                &task.id,
                EventType::Recovered,
                &json!({"message": message}),
            )
            .await?;
            store::append_event(
                &self.inner.store,
                &task.id,
                EventType::Completion,
                &json!({"message": "Run completed with status: failed", "status": "failed", "error": {"name": "TaskInterrupted", "message": message}}),
            )
            .await?;
            count += 1;
        }
        Ok(count)
    }

    fn is_running_here(&self, id: &str) -> bool {
        self.inner
            .running
            .lock()
            .map(|running| running.contains_key(id))
            .unwrap_or(false)
    }

    /// Heartbeats this server's running tasks, notices cancels made by
    /// other servers, and (on PostgreSQL) fails tasks whose server stopped.
    /// Runs until `stop` turns true.
    pub async fn run_maintenance_loop(&self, mut stop: watch::Receiver<bool>) {
        let period = (self.inner.config.stale_after / 4).max(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.maintain().await {
                tracing::warn!(%error, "scaffolder maintenance failed; retrying later");
            }
        }
    }

    async fn maintain(&self) -> Result<(), ScaffolderError> {
        let running: Vec<(String, Cancellation)> = self
            .inner
            .running
            .lock()
            .map(|running| {
                running
                    .iter()
                    .map(|(id, task)| (id.clone(), task.cancellation.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let ids: Vec<String> = running.iter().map(|(id, _)| id.clone()).collect();
        store::heartbeat(&self.inner.store, &ids).await?;
        for (id, cancellation) in running {
            if store::status(&self.inner.store, &id).await? == Some(TaskStatus::Cancelled) {
                cancellation.cancel();
            }
        }
        if self.inner.store.backend() == Backend::Postgres {
            let before = self.stale_before();
            self.fail_interrupted(Some(&before)).await?;
        }
        Ok(())
    }

    /// Checks a template and values and prepares the run; shared by tasks
    /// and dry runs.
    fn prepare(
        &self,
        entity: &Value,
        values: &Value,
        secrets: &BTreeMap<String, String>,
    ) -> Result<(Template, Value), ScaffolderError> {
        let template = parse_template(entity).map_err(|error| ScaffolderError::Input {
            message: error.to_string(),
            problems: error
                .problems
                .iter()
                .map(|problem| Problem {
                    path: problem.path.clone(),
                    message: problem.message.clone(),
                })
                .collect(),
        })?;
        let missing = run::missing_actions(&template, &self.inner.registry);
        if !missing.is_empty() {
            return Err(ScaffolderError::input(run::missing_actions_message(
                &missing,
                &self.inner.registry,
            )));
        }
        if !values.is_object() {
            return Err(ScaffolderError::input(
                "`values` must be an object of parameter values",
            ));
        }
        let values = with_defaults(&template, values);
        // A parameter whose value is given as a secret is validated with it,
        // but only `values` (without secrets) is kept.
        let mut checked = values.clone();
        if let Some(object) = checked.as_object_mut() {
            for (key, secret) in secrets {
                let declared = template
                    .parameters
                    .iter()
                    .any(|page| page.properties.contains_key(key));
                if declared {
                    object.insert(key.clone(), Value::String(secret.clone()));
                }
            }
        }
        // Problems quote values; a secret never appears in them.
        let masker = run::Masker::new(secrets.values());
        validate_values(&template, &checked).map_err(|problems| ScaffolderError::Input {
            message: masker.mask(&format!(
                "the values do not fit the template `{}`: {}",
                template.name,
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            problems: problems
                .iter()
                .map(|problem| Problem {
                    path: problem.path.clone(),
                    message: masker.mask(&problem.message),
                })
                .collect(),
        })?;
        Ok((template, values))
    }

    async fn user_context(&self, principal: &str) -> UserContext {
        let entity = match pave_catalog_model::parse_ref(principal, None, "default") {
            Ok(reference) if reference.kind.eq_ignore_ascii_case("user") => {
                self.inner.catalog.entity_by_ref(&reference).await.ok()
            }
            _ => None,
        };
        UserContext {
            entity,
            entity_ref: principal.to_string(),
        }
    }

    /// Stores a task for `request` and starts it; returns the stored task.
    pub async fn create_task(&self, request: NewTask) -> Result<TaskRecord, ScaffolderError> {
        let (template, values) =
            self.prepare(&request.template, &request.values, &request.secrets)?;
        let template_ref = entity_ref_of(&request.template);
        let user = self.user_context(&request.created_by).await;
        let spec = json!({
            "apiVersion": crate::TEMPLATE_API_VERSION,
            "templateInfo": {
                "entityRef": template_ref,
                "baseUrl": source::location_of(&request.template),
                "entity": {"metadata": request.template.get("metadata").cloned().unwrap_or(Value::Null)},
            },
            "parameters": values,
            "steps": request.template.pointer("/spec/steps").cloned().unwrap_or(json!([])),
            "output": request.template.pointer("/spec/output").cloned().unwrap_or(json!({})),
            "user": {"ref": user.entity_ref, "entity": user.entity},
        });
        let id = uuid::Uuid::now_v7().to_string();
        let task = store::insert_task(
            &self.inner.store,
            &id,
            &template_ref,
            &spec,
            &request.created_by,
        )
        .await?;
        let cancellation = Cancellation::new();
        let (last_event, _) = watch::channel(0);
        if let Ok(mut running) = self.inner.running.lock() {
            running.insert(
                id.clone(),
                Running {
                    cancellation: cancellation.clone(),
                    last_event: last_event.clone(),
                },
            );
        }
        let mut context = Context::new(values);
        context.user = Some(user);
        context.secrets = request.secrets;
        let engine = self.clone();
        let entity = request.template;
        tokio::spawn(async move {
            engine
                .execute(id, template, entity, context, cancellation, last_event)
                .await;
        });
        Ok(task)
    }

    /// Runs a stored task to its end and records the outcome.
    async fn execute(
        &self,
        id: String,
        template: Template,
        entity: Value,
        context: Context,
        cancellation: Cancellation,
        last_event: watch::Sender<i64>,
    ) {
        let store = self.inner.store.clone();
        let outcome = match self.inner.permits.acquire().await {
            Ok(_permit) => {
                let started = store::transition(
                    &store,
                    &id,
                    &[TaskStatus::Open],
                    TaskStatus::Processing,
                    None,
                )
                .await;
                match started {
                    Ok(true) => {
                        let engine = self.clone();
                        let (task_id, sender) = (id.clone(), last_event.clone());
                        let cancel = cancellation.clone();
                        // Its own task, so a panic in an action fails this
                        // task instead of leaving it `processing`.
                        let handle = tokio::spawn(async move {
                            engine
                                .run_in_workspace(
                                    &task_id, &template, &entity, context, cancel, sender,
                                )
                                .await
                        });
                        match handle.await {
                            Ok(outcome) => Some(outcome),
                            Err(error) => Some(Err(RunError::StepFailed {
                                step: "unknown".into(),
                                message: format!(
                                    "an action stopped unexpectedly ({error}); this is a bug in Pave, please report it"
                                ),
                            })),
                        }
                    }
                    // Cancelled before it could start.
                    Ok(false) => None,
                    Err(error) => Some(Err(RunError::StepFailed {
                        step: "start".into(),
                        message: format!("the task could not start: {error}"),
                    })),
                }
            }
            Err(_) => None,
        };
        let recorded = match outcome {
            Some(outcome) => self.finish(&id, outcome).await,
            None => self.finish_cancelled_before_start(&id).await,
        };
        if let Err(error) = recorded {
            tracing::error!(task = %id, %error, "cannot record the end of a task");
        }
        last_event.send_modify(|last| *last += 1);
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(&id);
        }
        let _ = std::fs::remove_dir_all(self.task_dir(&id));
    }

    fn task_dir(&self, id: &str) -> PathBuf {
        self.inner.config.work_dir.join("tasks").join(id)
    }

    async fn run_in_workspace(
        &self,
        id: &str,
        template: &Template,
        entity: &Value,
        context: Context,
        cancellation: Cancellation,
        last_event: watch::Sender<i64>,
    ) -> Result<run::RunOutput, RunError> {
        let (sender, receiver) = mpsc::unbounded_channel::<RunEvent>();
        let writer = tokio::spawn(write_events(
            self.inner.store.clone(),
            id.to_string(),
            receiver,
            last_event,
        ));
        let result = async {
            let directory = self.task_dir(id);
            let workspace_dir = directory.join("workspace");
            std::fs::create_dir_all(&workspace_dir).map_err(|error| RunError::StepFailed {
                step: "start".into(),
                message: format!(
                    "cannot create the workspace {}: {error}",
                    workspace_dir.display()
                ),
            })?;
            let workspace =
                Workspace::new(&workspace_dir).map_err(|error| RunError::StepFailed {
                    step: "start".into(),
                    message: error.to_string(),
                })?;
            let template_directory =
                source::template_directory(&self.inner.reader, entity, &directory.join("template"))
                    .await
                    .map_err(|message| RunError::StepFailed {
                        step: "start".into(),
                        message,
                    })?;
            let mut observer = sender;
            run::run_template(
                Run {
                    template,
                    context,
                    registry: &self.inner.registry,
                    workspace: &workspace,
                    template_directory: template_directory.as_ref(),
                    dry_run: false,
                    cancellation,
                },
                &mut observer,
            )
            .await
        }
        .await;
        // The sender is gone with the run; the writer drains and stops.
        let _ = writer.await;
        result
    }

    async fn finish(
        &self,
        id: &str,
        outcome: Result<run::RunOutput, RunError>,
    ) -> Result<(), ScaffolderError> {
        let store = &self.inner.store;
        let (status, body) = match &outcome {
            Ok(result) => (
                TaskStatus::Completed,
                json!({"message": "Run completed with status: completed", "status": "completed", "output": result.output}),
            ),
            Err(RunError::Cancelled { .. }) => (
                TaskStatus::Cancelled,
                json!({"message": "Run completed with status: cancelled", "status": "cancelled"}),
            ),
            Err(error) => (
                TaskStatus::Failed,
                json!({"message": "Run completed with status: failed", "status": "failed", "error": {"name": "TaskFailed", "message": error.to_string()}}),
            ),
        };
        let output = outcome.as_ref().ok().map(|result| &result.output);
        let moved = store::transition(store, id, &[TaskStatus::Processing], status, output).await?;
        let body = if moved {
            body
        } else {
            // A cancel was recorded while the last step ran.
            json!({"message": "Run completed with status: cancelled", "status": "cancelled"})
        };
        store::append_event(store, id, EventType::Completion, &body).await?;
        Ok(())
    }

    async fn finish_cancelled_before_start(&self, id: &str) -> Result<(), ScaffolderError> {
        let status = store::status(&self.inner.store, id).await?;
        if status == Some(TaskStatus::Cancelled) {
            store::append_event(
                &self.inner.store,
                id,
                EventType::Completion,
                &json!({"message": "Run completed with status: cancelled", "status": "cancelled"}),
            )
            .await?;
        }
        Ok(())
    }

    /// One task.
    pub async fn task(&self, id: &str) -> Result<TaskRecord, ScaffolderError> {
        store::task(&self.inner.store, id)
            .await?
            .ok_or_else(|| ScaffolderError::NotFound(format!("there is no task `{id}`")))
    }

    /// Tasks, newest first; with `created_by`, only that principal's.
    pub async fn tasks(
        &self,
        created_by: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<TaskRecord>, i64), ScaffolderError> {
        Ok(store::tasks(
            &self.inner.store,
            created_by,
            limit.clamp(1, 500),
            offset.max(0),
        )
        .await?)
    }

    /// Events of a task after `after`, waiting up to `wait` for new ones
    /// while it runs. The flag is true when the task has finished and every
    /// event up to its completion has been returned.
    pub async fn next_events(
        &self,
        id: &str,
        after: Option<i64>,
        wait: Duration,
    ) -> Result<(Vec<TaskEvent>, bool), ScaffolderError> {
        let mut receiver = self
            .inner
            .running
            .lock()
            .ok()
            .and_then(|running| running.get(id).map(|task| task.last_event.subscribe()));
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let events = store::events(&self.inner.store, id, after, 500).await?;
            let finished = events
                .iter()
                .any(|event| event.event_type == EventType::Completion);
            if !events.is_empty() {
                return Ok((events, finished));
            }
            let task = self.task(id).await?;
            if task.status.is_finished() && !self.is_running_here(id) {
                // Completion is written before the task leaves `running`,
                // possibly after the read above: read once more.
                let events = store::events(&self.inner.store, id, after, 500).await?;
                return Ok((events, true));
            }
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Ok((Vec::new(), false));
            }
            // Another server's task (no receiver) is polled.
            let nap = remaining.min(Duration::from_millis(500));
            match receiver.as_mut() {
                Some(receiver) => {
                    let _ = tokio::time::timeout(nap, receiver.changed()).await;
                }
                None => tokio::time::sleep(nap).await,
            }
        }
    }

    /// Cancels a task that has not finished.
    pub async fn cancel(&self, id: &str, by: &str) -> Result<TaskRecord, ScaffolderError> {
        let task = self.task(id).await?;
        if task.status.is_finished() {
            return Err(ScaffolderError::Conflict(format!(
                "task `{id}` already finished with status {}; only open or processing tasks can be cancelled",
                task.status.as_str()
            )));
        }
        let moved = store::transition(
            &self.inner.store,
            id,
            &[TaskStatus::Open, TaskStatus::Processing],
            TaskStatus::Cancelled,
            None,
        )
        .await?;
        if moved {
            store::append_event(
                &self.inner.store,
                id,
                EventType::Cancelled,
                &json!({"message": format!("Cancelled by {by}")}),
            )
            .await?;
            let running = self.inner.running.lock().ok().and_then(|running| {
                running
                    .get(id)
                    .map(|task| (task.cancellation.clone(), task.last_event.clone()))
            });
            if let Some((cancellation, last_event)) = running {
                // Readers waiting on the stream see the cancel at once.
                last_event.send_modify(|last| *last += 1);
                cancellation.cancel();
            }
        }
        self.task(id).await
    }

    /// Runs a template given inline, in a throwaway workspace, with no
    /// effect outside it; returns the log, the files and the output.
    pub async fn dry_run(&self, request: DryRunRequest) -> Result<DryRunResult, ScaffolderError> {
        let (template, values) =
            self.prepare(&request.template, &request.values, &request.secrets)?;
        let user = self.user_context(&request.created_by).await;
        dry_run::run(self, template, values, user, request).await
    }

    /// Waits for a task to finish (tests, the CLI's `--wait`); gives up at
    /// `timeout` with the task as it is.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<TaskRecord, ScaffolderError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut after = None;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (events, finished) = self.next_events(id, after, remaining).await?;
            if let Some(last) = events.last() {
                after = Some(last.id);
            }
            if finished || remaining.is_zero() {
                return self.task(id).await;
            }
        }
    }
}

/// Writes a run's events in order as they come, and wakes readers.
async fn write_events(
    store: Store,
    task_id: String,
    mut receiver: mpsc::UnboundedReceiver<RunEvent>,
    last_event: watch::Sender<i64>,
) {
    while let Some(event) = receiver.recv().await {
        let mut body = serde_json::Map::new();
        body.insert("message".into(), Value::String(event.message));
        if let Some(step) = event.step_id {
            body.insert("stepId".into(), Value::String(step));
        }
        if let Some(status) = event.status {
            body.insert("status".into(), Value::String(status.as_str().into()));
        }
        match store::append_event(&store, &task_id, EventType::Log, &Value::Object(body)).await {
            Ok(id) => {
                last_event.send_replace(id);
            }
            Err(error) => tracing::error!(task = %task_id, %error, "cannot write a task event"),
        }
    }
}

/// `template:namespace/name` of a template entity, lower-case.
fn entity_ref_of(entity: &Value) -> String {
    let field = |pointer: &str| {
        entity
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let namespace = match field("/metadata/namespace") {
        namespace if namespace.is_empty() => "default".to_string(),
        namespace => namespace,
    };
    format!("template:{namespace}/{}", field("/metadata/name")).to_lowercase()
}

#[cfg(test)]
mod tests;
