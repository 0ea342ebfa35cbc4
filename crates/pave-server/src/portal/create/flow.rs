//! The wizard: one parameter page at a time, then a review, then Create.
//!
//! Every step is a POST of one form that carries the values so far (a
//! JSON-encoded hidden field, never a secret), the draft id of the typed
//! secrets (see `drafts.rs`), the page shown and the button pressed. Each
//! page is validated on the server when it is submitted (the schema's rules
//! with [`pave_scaffold::validate_page`], plus the form's own checks), and
//! problems come back next to their fields. Create checks every page again,
//! asks the policies, and starts the task.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pave_access::{Action, Outcome};
use pave_catalog::QueryRequest;
use pave_catalog_model::EntityRef;
use pave_scaffold::tasks::{NewTask, ScaffolderError};
use pave_scaffold::{Template, ValueProblem, validate_page, with_defaults};
use serde_json::{Map, Value, json};

use super::wizard::{self, Field, FormContext, PickerEntity, ReviewPage};
use super::{audit, check_csrf, drafts, forbidden, form_field, form_pairs};
use crate::entity_access::EntityAccess;
use crate::portal::session::Viewer;
use crate::portal::views::Chrome;
use crate::portal::{PageError, render};
use crate::state::AppState;

/// The most entities a picker offers.
const PICKER_LIMIT: u32 = 500;

/// A step in the wizard's indicator.
pub struct StepLink {
    pub index: usize,
    pub title: String,
    /// `done` (a button back to it), `current` or `todo`.
    pub state: &'static str,
}

#[derive(askama::Template)]
#[template(path = "create_wizard.html")]
pub struct WizardPage {
    pub chrome: Chrome,
    pub template_title: String,
    pub template_description: String,
    pub action: String,
    pub csrf: String,
    pub state: String,
    pub draft: String,
    pub page: usize,
    pub steps: Vec<StepLink>,
    pub page_title: String,
    pub page_description: String,
    /// The page has a Backstage `if`, which the wizard does not evaluate.
    pub conditional: bool,
    pub fields: Vec<Field>,
    /// Problems that belong to no field of the page.
    pub general: Vec<String>,
    pub problem_count: usize,
    pub is_last: bool,
}

#[derive(askama::Template)]
#[template(path = "create_review.html")]
pub struct ReviewView {
    pub chrome: Chrome,
    pub template_title: String,
    pub template_description: String,
    pub action: String,
    pub csrf: String,
    pub state: String,
    pub draft: String,
    pub page: usize,
    pub steps: Vec<StepLink>,
    pub pages: Vec<ReviewPage>,
    pub general: Vec<String>,
}

/// A template the viewer may read, ready to run.
struct Loaded {
    entity: Value,
    template: Template,
    /// `template:namespace/name`.
    reference: String,
    /// The wizard's address.
    action: String,
    may_run: bool,
}

impl Loaded {
    async fn load(
        state: &AppState,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
    ) -> Result<Loaded, PageError> {
        let reference = EntityRef::new("template", namespace, name);
        let missing =
            || PageError::not_found(format!("There is no template {reference} you may see."));
        let entity = match state.catalog.entity_by_ref(&reference).await {
            Ok(entity) => entity,
            Err(pave_catalog::CatalogError::NotFound(_)) => return Err(missing()),
            Err(error) => return Err(error.into()),
        };
        let access = EntityAccess::new(state, &viewer.principal);
        if !access.may_read(&entity) {
            return Err(missing());
        }
        let template = pave_scaffold::parse_template(&entity).map_err(|error| {
            PageError::bad_request(format!(
                "The template {reference} cannot be used: {error}. Its owners need to fix it."
            ))
        })?;
        let part =
            |text: &str| -> String { form_urlencoded::byte_serialize(text.as_bytes()).collect() };
        Ok(Loaded {
            may_run: access.may(Action::ScaffolderTemplateRun, &entity),
            action: format!(
                "/create/templates/{}/{}",
                part(&reference.namespace),
                part(&reference.name)
            ),
            reference: reference.to_string(),
            entity,
            template,
        })
    }

    fn title(&self) -> String {
        self.template
            .title
            .clone()
            .unwrap_or_else(|| self.template.name.clone())
    }

    fn refuse(&self, viewer: &Viewer) -> PageError {
        forbidden(format!(
            "{} may not run the template {}. Ask its owners or a platform administrator for access.",
            viewer.principal.reference, self.reference
        ))
    }
}

/// What one wizard request works with.
struct Wizard<'a> {
    state: &'a AppState,
    viewer: &'a Viewer,
    loaded: &'a Loaded,
    /// The values so far, without secrets.
    values: Value,
    secrets: BTreeMap<String, String>,
    draft: String,
}

/// The wizard's first page.
pub async fn start(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let loaded = Loaded::load(&state, &viewer, &namespace, &name).await?;
    if !loaded.may_run {
        return Err(loaded.refuse(&viewer));
    }
    let wizard = Wizard {
        state: &state,
        viewer: &viewer,
        values: with_defaults(&loaded.template, &json!({})),
        loaded: &loaded,
        secrets: BTreeMap::new(),
        draft: String::new(),
    };
    if loaded.template.parameters.is_empty() {
        return wizard.review(Vec::new());
    }
    wizard.page(0, &[]).await
}

/// A submitted page: Next, Back, a step of the indicator, or Create.
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((namespace, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let loaded = Loaded::load(&state, &viewer, &namespace, &name).await?;
    let template = &loaded.template;
    let pages = template.parameters.len();
    let go = form_field(&form, "go").unwrap_or("next");
    if !loaded.may_run {
        if go == "create" {
            audit(
                &state,
                &viewer,
                Action::ScaffolderTemplateRun,
                format!("entity:{}", loaded.reference),
                Outcome::Denied,
                json!({"reason": "the policies do not allow it on this entity", "via": "portal"}),
            )
            .await;
        }
        return Err(loaded.refuse(&viewer));
    }
    let current: usize = form_field(&form, "page")
        .and_then(|page| page.parse().ok())
        .filter(|page| *page <= pages)
        .ok_or_else(|| {
            PageError::bad_request("The form names no page of this template. Start again.")
        })?;
    let mut values: Map<String, Value> = match form_field(&form, "state")
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let draft = form_field(&form, "draft").unwrap_or("");
    let mut secrets = drafts::load(draft, &viewer.csrf);
    let secret_names = wizard::secret_names(template);
    secrets.retain(|name, _| secret_names.contains(name));
    let read_problems = if current < pages {
        wizard::read_page(
            &template.parameters[current],
            &form,
            &mut values,
            &mut secrets,
        )
    } else {
        Vec::new()
    };
    let values = wizard::without_secrets(template, &Value::Object(values));
    let draft = drafts::save(draft, &viewer.csrf, secrets.clone());
    let wizard = Wizard {
        state: &state,
        viewer: &viewer,
        loaded: &loaded,
        values,
        secrets,
        draft,
    };

    let target = match go {
        "create" => return wizard.create().await,
        "back" => {
            return if pages == 0 {
                wizard.review(Vec::new())
            } else {
                wizard.page(current.saturating_sub(1), &[]).await
            };
        }
        step if step.starts_with("page-") => {
            match step["page-".len()..].parse::<usize>() {
                // Going back needs no check; going forward checks this page.
                Ok(index) if index < current => return wizard.page(index, &[]).await,
                _ => current + 1,
            }
        }
        _ => current + 1,
    };
    if current < pages {
        let problems = wizard.check(current, read_problems);
        if !problems.is_empty() {
            return wizard.page(current, &problems).await;
        }
    }
    if target >= pages {
        wizard.review(Vec::new())
    } else {
        wizard.page(target, &[]).await
    }
}

impl Wizard<'_> {
    /// The problems of page `index`: what could not be read, the schema's
    /// rules (secrets checked as typed) and the form's own checks.
    fn check(&self, index: usize, mut problems: Vec<ValueProblem>) -> Vec<ValueProblem> {
        let template = &self.loaded.template;
        let revealed = wizard::with_secrets(template, &self.values, &self.secrets, true);
        let mut found = validate_page(template, index, &revealed)
            .err()
            .unwrap_or_default();
        found.extend(wizard::form_problems(
            &template.parameters[index],
            &self.values,
        ));
        for problem in found {
            // A field that could not be read needs no second message.
            let known = problems.iter().any(|seen| seen.path == problem.path);
            if !known && !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        problems
    }

    fn steps(&self, current: usize) -> Vec<StepLink> {
        let template = &self.loaded.template;
        let mut steps: Vec<StepLink> = template
            .parameters
            .iter()
            .enumerate()
            .map(|(index, page)| StepLink {
                index,
                title: wizard::page_title(page, index),
                state: step_state(index, current),
            })
            .collect();
        let review = template.parameters.len();
        steps.push(StepLink {
            index: review,
            title: "Review".into(),
            state: step_state(review, current),
        });
        steps
    }

    fn carried(&self) -> String {
        wizard::without_secrets(&self.loaded.template, &self.values).to_string()
    }

    /// Draws parameter page `index`.
    async fn page(&self, index: usize, problems: &[ValueProblem]) -> Result<Response, PageError> {
        let template = &self.loaded.template;
        let page = &template.parameters[index];
        let values = with_defaults(template, &self.values);
        let context = FormContext {
            pickers: self.pickers(index).await?,
            secrets: self.secrets.clone(),
        };
        let (fields, general) = wizard::fields(page, &values, problems, &context);
        let view = WizardPage {
            chrome: Chrome::for_viewer(&self.loaded.title(), self.viewer, "create"),
            template_title: self.loaded.title(),
            template_description: template.description.clone().unwrap_or_default(),
            action: self.loaded.action.clone(),
            csrf: self.viewer.csrf.clone(),
            state: wizard::without_secrets(template, &values).to_string(),
            draft: self.draft.clone(),
            page: index,
            steps: self.steps(index),
            page_title: wizard::page_title(page, index),
            page_description: page.description.clone().unwrap_or_default(),
            conditional: page.condition.is_some(),
            problem_count: fields.iter().map(|field| field.errors.len()).sum::<usize>()
                + general.len(),
            fields,
            general,
            is_last: index + 1 == template.parameters.len(),
        };
        respond(&view, !problems.is_empty())
    }

    /// The review page.
    fn review(&self, general: Vec<String>) -> Result<Response, PageError> {
        let template = &self.loaded.template;
        let values = with_defaults(template, &self.values);
        let review = ReviewView {
            chrome: Chrome::for_viewer(
                &format!("Review · {}", self.loaded.title()),
                self.viewer,
                "create",
            ),
            template_title: self.loaded.title(),
            template_description: template.description.clone().unwrap_or_default(),
            action: self.loaded.action.clone(),
            csrf: self.viewer.csrf.clone(),
            state: self.carried(),
            draft: self.draft.clone(),
            page: template.parameters.len(),
            steps: self.steps(template.parameters.len()),
            pages: wizard::review(template, &values, &self.secrets),
            general: general.clone(),
        };
        respond(&review, !general.is_empty())
    }

    /// Checks every page, then starts the task and goes to its page.
    async fn create(&self) -> Result<Response, PageError> {
        let template = &self.loaded.template;
        let values = with_defaults(template, &self.values);
        for index in 0..template.parameters.len() {
            let problems = self.check(index, Vec::new());
            if !problems.is_empty() {
                return self.page(index, &problems).await;
            }
        }
        let request = NewTask {
            template: self.loaded.entity.clone(),
            values: wizard::with_secrets(template, &values, &self.secrets, false),
            secrets: self.secrets.clone(),
            created_by: self.viewer.principal.reference.to_string(),
        };
        let task = match self.state.scaffolder.create_task(request).await {
            Ok(task) => task,
            Err(ScaffolderError::Input { message, problems }) => {
                let problems: Vec<ValueProblem> = problems
                    .into_iter()
                    .map(|problem| ValueProblem {
                        path: problem.path,
                        message: problem.message,
                    })
                    .collect();
                let page = problems
                    .iter()
                    .find_map(|problem| wizard::page_of_problem(template, problem));
                return match page {
                    Some(index) => {
                        let on_page: Vec<ValueProblem> = problems
                            .into_iter()
                            .filter(|problem| {
                                wizard::page_of_problem(template, problem) == Some(index)
                            })
                            .collect();
                        self.page(index, &on_page).await
                    }
                    None => self.review(vec![message]),
                };
            }
            Err(error) => return Err(error.into()),
        };
        drafts::discard(&self.draft, &self.viewer.csrf);
        audit(
            self.state,
            self.viewer,
            Action::ScaffolderTemplateRun,
            format!("entity:{}", task.template_ref),
            Outcome::Success,
            json!({"task": task.id, "via": "portal"}),
        )
        .await;
        let mut response = Redirect::to(&format!("/create/tasks/{}", task.id)).into_response();
        *response.status_mut() = StatusCode::SEE_OTHER;
        Ok(response)
    }

    /// The entities each picker of page `index` offers.
    async fn pickers(
        &self,
        index: usize,
    ) -> Result<std::collections::HashMap<String, Vec<PickerEntity>>, PageError> {
        let page = &self.loaded.template.parameters[index];
        let access = EntityAccess::new(self.state, &self.viewer.principal);
        let visible = access.visible();
        let visible = visible.as_ref().map(|f| f as _);
        let mut pickers = std::collections::HashMap::new();
        for (name, filter) in wizard::pickers_of(page) {
            let request = QueryRequest {
                filter,
                fields: vec!["kind".into(), "metadata".into(), "spec".into()],
                limit: Some(PICKER_LIMIT),
                orders: vec![pave_catalog::Order {
                    field: "metadata.name".into(),
                    descending: false,
                }],
                ..QueryRequest::default()
            };
            let found = match self.state.catalog.query(&request, visible).await {
                Ok(found) => found.items,
                // A filter the catalog cannot read leaves a text input.
                Err(pave_catalog::CatalogError::Input(message)) => {
                    tracing::warn!(%message, parameter = %name, "a picker's catalogFilter is not a catalog filter");
                    Vec::new()
                }
                Err(error) => return Err(error.into()),
            };
            let mut entities: Vec<PickerEntity> = found.iter().filter_map(picker_entity).collect();
            entities.sort_by(|a, b| a.reference.cmp(&b.reference));
            pickers.insert(name, entities);
        }
        Ok(pickers)
    }
}

fn step_state(index: usize, current: usize) -> &'static str {
    match index.cmp(&current) {
        std::cmp::Ordering::Less => "done",
        std::cmp::Ordering::Equal => "current",
        std::cmp::Ordering::Greater => "todo",
    }
}

fn picker_entity(entity: &Value) -> Option<PickerEntity> {
    let text = |pointer: &str| entity.pointer(pointer).and_then(Value::as_str);
    let kind = text("/kind")?;
    let name = text("/metadata/name")?;
    let namespace = text("/metadata/namespace").unwrap_or("default");
    let title = text("/metadata/title")
        .or_else(|| text("/spec/profile/displayName"))
        .unwrap_or("")
        .to_string();
    Some(PickerEntity {
        reference: EntityRef::new(kind, namespace, name).to_string(),
        title,
    })
}

/// A page, with 400 when it shows problems.
fn respond(view: &impl askama::Template, problems: bool) -> Result<Response, PageError> {
    let mut response = render(view)?;
    if problems {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use askama::Template as _;

    use super::*;

    #[test]
    fn steps_before_the_current_one_are_done() {
        assert_eq!(step_state(0, 1), "done");
        assert_eq!(step_state(1, 1), "current");
        assert_eq!(step_state(2, 1), "todo");
    }

    #[test]
    fn picker_entities_are_named_by_reference_and_title() {
        let user = json!({"kind": "User", "metadata": {"name": "Jo"}, "spec": {"profile": {"displayName": "Jo Doe"}}});
        assert_eq!(
            picker_entity(&user),
            Some(PickerEntity {
                reference: "user:default/jo".into(),
                title: "Jo Doe".into()
            })
        );
        let group = json!({"kind": "Group", "metadata": {"name": "team-a", "namespace": "ops", "title": "Team A"}});
        assert_eq!(picker_entity(&group).unwrap().reference, "group:ops/team-a");
        assert_eq!(picker_entity(&json!({"kind": "Group"})), None);
    }

    #[test]
    fn pages_render_without_secrets() {
        let view = WizardPage {
            chrome: Chrome::anonymous("t"),
            template_title: "T".into(),
            template_description: String::new(),
            action: "/create/templates/default/t".into(),
            csrf: "c".into(),
            state: "{\"name\":\"x\"}".into(),
            draft: String::new(),
            page: 0,
            steps: vec![],
            page_title: "P".into(),
            page_description: String::new(),
            conditional: true,
            fields: vec![],
            general: vec!["<b>".into()],
            problem_count: 1,
            is_last: true,
        };
        let html = view.render().unwrap();
        assert!(
            html.contains("value=\"{&#34;name&#34;:&#34;x&#34;}\""),
            "{html}"
        );
        assert!(
            html.contains("&#60;b&#62;") && !html.contains("<b>"),
            "{html}"
        );
    }
}
