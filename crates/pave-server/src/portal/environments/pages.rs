//! The environments page (with the form that makes one) and an
//! environment's page (with Delete).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pave_access::{Action, Outcome};
use pave_deploy::{
    Deployment, DeploymentFilter, Environment, EnvironmentError, EnvironmentType, NewEnvironment,
    validate_name,
};
use serde_json::{Map, Value, json};

use super::component::DeploymentView;
use super::{
    FORM_TYPES, When, audit, check_csrf, component_links, creatable_types, forbidden, form_field,
    form_pairs, live_urls, may_environment, may_platform, short, status_class,
};
use crate::portal::session::Viewer;
use crate::portal::views::Chrome;
use crate::portal::{PageError, render};
use crate::state::AppState;

/// Deployments of one environment read for its pages.
const ENVIRONMENT_SCAN: i64 = 1000;
/// History rows an environment's page shows.
const HISTORY_ROWS: usize = 20;
/// The most config lines the form takes.
const MAX_CONFIG_LINES: usize = 200;

/// A link to another page.
pub struct Link {
    pub label: String,
    pub href: String,
}

/// A component that runs (or is being rolled out) in an environment.
pub struct Running {
    pub label: String,
    pub href: Option<String>,
    pub status: &'static str,
    pub class: &'static str,
    pub commit_short: String,
    pub commit: String,
}

/// One environment in the list.
pub struct EnvironmentRow {
    pub name: String,
    pub href: String,
    pub environment_type: String,
    pub status: String,
    pub description: String,
    pub parent: Option<Link>,
    pub expires: Option<When>,
    pub urls: Vec<String>,
    pub running: Vec<Running>,
}

/// The "New environment" form, as sent back with its problems.
#[derive(Default)]
pub struct NewForm {
    /// The types the viewer may create: (type, selected).
    pub types: Vec<(&'static str, bool)>,
    pub name: String,
    pub description: String,
    pub config: String,
    pub name_error: Option<String>,
    pub config_error: Option<String>,
    pub error: Option<String>,
}

impl NewForm {
    fn problems(&self) -> usize {
        [&self.name_error, &self.config_error, &self.error]
            .iter()
            .filter(|problem| problem.is_some())
            .count()
    }
}

#[derive(askama::Template)]
#[template(path = "env_list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub rows: Vec<EnvironmentRow>,
    pub notice: Option<String>,
    pub form: NewForm,
    pub problem_count: usize,
    /// Whether the viewer may read deployments (what runs where).
    pub deployments_readable: bool,
}

/// A preview's source, as shown.
pub struct SourceView {
    pub repository: String,
    pub branch: String,
    pub pull_request: u64,
    pub head_commit: String,
    pub head_short: String,
}

/// A deployment on an environment's page, with its component.
pub struct EnvironmentDeployment {
    pub label: String,
    pub href: Option<String>,
    pub deployment: DeploymentView,
}

#[derive(askama::Template)]
#[template(path = "env_detail.html")]
pub struct DetailPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub name: String,
    pub environment_type: String,
    pub status: String,
    pub description: String,
    pub parent: Option<Link>,
    pub created_by: String,
    pub created: When,
    pub expires: Option<When>,
    pub follows_branch: Option<String>,
    pub source: Option<SourceView>,
    pub config: Vec<(String, String)>,
    pub urls: Vec<String>,
    pub running: Vec<EnvironmentDeployment>,
    pub history: Vec<EnvironmentDeployment>,
    pub more_history: usize,
    pub children: Vec<Link>,
    pub can_delete: bool,
    pub deployments_readable: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
}

fn environment_href(name: &str) -> String {
    let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("/environments/{name}")
}

fn see_other(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// Refuses viewers who may not read environments, as the API does.
fn check_read(state: &AppState, viewer: &Viewer) -> Result<(), PageError> {
    if may_platform(state, viewer, Action::EnvironmentRead) {
        Ok(())
    } else {
        Err(forbidden(format!(
            "{} may not read environments.",
            viewer.principal.reference
        )))
    }
}

async fn deployments_of(state: &AppState, environment: &str) -> Result<Vec<Deployment>, PageError> {
    Ok(state
        .deployer
        .deployments(&DeploymentFilter {
            component: None,
            environment: Some(environment.to_string()),
            limit: Some(ENVIRONMENT_SCAN),
        })
        .await?)
}

/// The rows of the environments page.
async fn rows(
    state: &AppState,
    viewer: &Viewer,
    environments: &[Environment],
    deployments_readable: bool,
) -> Result<Vec<EnvironmentRow>, PageError> {
    let mut running: Vec<Vec<Deployment>> = Vec::with_capacity(environments.len());
    for environment in environments {
        let deployments = if deployments_readable {
            deployments_of(state, &environment.name)
                .await?
                .into_iter()
                .filter(|deployment| deployment.active || deployment.status.is_in_progress())
                .collect()
        } else {
            Vec::new()
        };
        running.push(deployments);
    }
    let references: Vec<String> = running
        .iter()
        .flatten()
        .map(|deployment| deployment.component.clone())
        .collect();
    let links = component_links(state, viewer, &references).await?;
    Ok(environments
        .iter()
        .zip(running)
        .map(|(environment, deployments)| EnvironmentRow {
            name: environment.name.clone(),
            href: environment_href(&environment.name),
            environment_type: environment.environment_type.as_str().to_string(),
            status: environment.status.clone(),
            description: environment.description.clone(),
            parent: environment.parent.as_ref().map(|parent| Link {
                label: parent.clone(),
                href: environment_href(parent),
            }),
            expires: environment.expires_at.as_deref().map(When::of),
            urls: state.environment_urls(&environment.name, None),
            running: deployments
                .iter()
                .filter_map(|deployment| {
                    let link = links.get(&deployment.component)?;
                    Some(Running {
                        label: link.label.clone(),
                        href: link.href.clone(),
                        status: deployment.status.as_str(),
                        class: status_class(deployment.status),
                        commit_short: short(&deployment.commit),
                        commit: deployment.commit.clone(),
                    })
                })
                .collect(),
        })
        .collect())
}

/// Draws the environments page with the form as given.
async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    mut form: NewForm,
    notice: Option<String>,
) -> Result<Response, PageError> {
    check_read(state, viewer)?;
    let environments = state.deployer.environments().list().await?;
    let deployments_readable = may_platform(state, viewer, Action::DeploymentRead);
    let rows = rows(state, viewer, &environments, deployments_readable).await?;
    let chosen = form
        .types
        .iter()
        .find(|(_, selected)| *selected)
        .map(|(environment_type, _)| *environment_type);
    form.types = creatable_types(state, viewer)
        .into_iter()
        .enumerate()
        .map(|(index, environment_type)| {
            let selected = match chosen {
                Some(chosen) => chosen == environment_type,
                None => index == 0,
            };
            (environment_type, selected)
        })
        .collect();
    render(&ListPage {
        chrome: Chrome::for_viewer("Environments", viewer, "environments"),
        csrf: viewer.csrf.clone(),
        rows,
        notice,
        problem_count: form.problems(),
        form,
        deployments_readable,
    })
}

/// `GET /environments`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // After a deletion: say so, when the name is one and it is gone.
    let deleted = crate::routes::catalog::pairs(&raw)
        .into_iter()
        .find(|(key, _)| key == "deleted")
        .map(|(_, name)| name)
        .filter(|name| validate_name(name).is_ok());
    let notice = match deleted {
        Some(name) => match state.deployer.environments().get(&name).await {
            Err(EnvironmentError::NotFound(_)) => Some(format!("Environment {name} was deleted.")),
            _ => None,
        },
        None => None,
    };
    list_page(&state, &viewer, NewForm::default(), notice).await
}

/// Reads the form's `KEY=VALUE` lines (blank lines and `#` comments are
/// skipped) into an environment's config.
fn parse_config(text: &str) -> Result<Map<String, Value>, String> {
    let mut config = Map::new();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    if lines.len() > MAX_CONFIG_LINES {
        return Err(format!(
            "At most {MAX_CONFIG_LINES} config lines; this has {}.",
            lines.len()
        ));
    }
    for (index, line) in lines.iter().enumerate() {
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "Config line {} (`{line}`) has no `=`: write KEY=VALUE, one a line.",
                index + 1
            ));
        };
        let key = key.trim();
        let valid = !key.is_empty()
            && key.len() <= 100
            && key
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
        if !valid {
            return Err(format!(
                "Config key `{key}` (line {}): use letters, digits, `_`, `-` and `.`, such as LOG_LEVEL.",
                index + 1
            ));
        }
        if config
            .insert(key.to_string(), Value::String(value.trim().to_string()))
            .is_some()
        {
            return Err(format!("Config key `{key}` is given twice."));
        }
    }
    Ok(config)
}

/// `POST /environments`: makes an environment, then shows it.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let name = form_field(&form, "name").trim().to_string();
    let type_text = form_field(&form, "type");
    let environment_type = EnvironmentType::parse(type_text)
        .ok()
        .filter(|environment_type| FORM_TYPES.contains(&environment_type.as_str()))
        .ok_or_else(|| {
            PageError::bad_request(format!(
                "`{type_text}` is not a type this form makes: choose development, staging or production (previews are made for pull requests)."
            ))
        })?;
    let mut sent = NewForm {
        types: vec![(
            FORM_TYPES
                .iter()
                .copied()
                .find(|known| *known == environment_type.as_str())
                .unwrap_or("development"),
            true,
        )],
        name: name.clone(),
        description: form_field(&form, "description").trim().to_string(),
        config: form_field(&form, "config").to_string(),
        ..NewForm::default()
    };
    if sent.description.chars().count() > 500 {
        sent.error = Some("The description is longer than 500 characters.".into());
    }
    if let Err(error) = validate_name(&name) {
        sent.name_error = Some(error.to_string());
    }
    let config = match parse_config(&sent.config) {
        Ok(config) => config,
        Err(problem) => {
            sent.config_error = Some(problem);
            Map::new()
        }
    };
    if sent.problems() > 0 {
        let mut response = list_page(&state, &viewer, sent, None).await?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let resource = format!("environment:{name}");
    if !may_environment(
        &state,
        &viewer,
        Action::EnvironmentCreate,
        &name,
        environment_type.as_str(),
    ) {
        audit(
            &state,
            &viewer,
            Action::EnvironmentCreate,
            resource,
            Outcome::Denied,
            json!({"type": environment_type.as_str()}),
        )
        .await;
        return Err(forbidden(format!(
            "{} may not create {} environments.",
            viewer.principal.reference,
            environment_type.as_str()
        )));
    }
    let request = NewEnvironment {
        name: name.clone(),
        environment_type: Some(environment_type),
        description: sent.description.clone(),
        config,
        ..NewEnvironment::default()
    };
    match state
        .deployer
        .environments()
        .create(request, &viewer.principal.reference.to_string())
        .await
    {
        Ok(created) => {
            audit(
                &state,
                &viewer,
                Action::EnvironmentCreate,
                resource,
                Outcome::Success,
                json!({"type": environment_type.as_str()}),
            )
            .await;
            Ok(see_other(&format!(
                "{}?created=1",
                environment_href(&created.name)
            )))
        }
        Err(error @ (EnvironmentError::Conflict(_) | EnvironmentError::Input(_))) => {
            let status = if matches!(error, EnvironmentError::Conflict(_)) {
                sent.name_error = Some(error.to_string());
                StatusCode::CONFLICT
            } else {
                sent.error = Some(error.to_string());
                StatusCode::BAD_REQUEST
            };
            let mut response = list_page(&state, &viewer, sent, None).await?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

/// Draws an environment's page.
async fn detail_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    check_read(state, viewer)?;
    let environment = match state.deployer.environments().get(name).await {
        Ok(environment) => environment,
        Err(EnvironmentError::NotFound(_)) => {
            return Err(PageError::not_found(format!(
                "There is no environment `{name}`. It may have been deleted; see the environments page."
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let deployments_readable = may_platform(state, viewer, Action::DeploymentRead);
    let deployments = if deployments_readable {
        deployments_of(state, name).await?
    } else {
        Vec::new()
    };
    let references: Vec<String> = deployments
        .iter()
        .map(|deployment| deployment.component.clone())
        .collect();
    let links = component_links(state, viewer, &references).await?;
    let shown = |deployment: &Deployment| {
        let link = links.get(&deployment.component)?;
        let mut view = DeploymentView::of(deployment);
        if deployment.active {
            view.urls = live_urls(state, deployment);
        }
        Some(EnvironmentDeployment {
            label: link.label.clone(),
            href: link.href.clone(),
            deployment: view,
        })
    };
    let running = deployments
        .iter()
        .filter(|deployment| deployment.active || deployment.status.is_in_progress())
        .filter_map(shown)
        .collect();
    let mut history: Vec<EnvironmentDeployment> = deployments.iter().filter_map(shown).collect();
    let more_history = history.len().saturating_sub(HISTORY_ROWS);
    history.truncate(HISTORY_ROWS);
    let children = state
        .deployer
        .environments()
        .children(name)
        .await?
        .into_iter()
        .map(|child| Link {
            href: environment_href(&child),
            label: child,
        })
        .collect();
    let can_delete = environment.status == "active"
        && may_environment(
            state,
            viewer,
            Action::EnvironmentDelete,
            &environment.name,
            environment.environment_type.as_str(),
        );
    let config = environment
        .config
        .iter()
        .map(|(key, value)| {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            (key.clone(), value)
        })
        .collect();
    render(&DetailPage {
        chrome: Chrome::for_viewer(
            &format!("Environment {}", environment.name),
            viewer,
            "environments",
        ),
        csrf: viewer.csrf.clone(),
        environment_type: environment.environment_type.as_str().to_string(),
        status: environment.status.clone(),
        description: environment.description.clone(),
        parent: environment.parent.as_ref().map(|parent| Link {
            label: parent.clone(),
            href: environment_href(parent),
        }),
        created_by: environment.created_by.clone(),
        created: When::of(&environment.created_at),
        expires: environment.expires_at.as_deref().map(When::of),
        follows_branch: environment.follows_branch.clone(),
        source: environment.source.as_ref().map(|source| SourceView {
            repository: source.repository.clone(),
            branch: source.branch.clone(),
            pull_request: source.pull_request,
            head_short: short(&source.head_commit),
            head_commit: source.head_commit.clone(),
        }),
        config,
        urls: state.environment_urls(&environment.name, None),
        running,
        history,
        more_history,
        children,
        can_delete,
        deployments_readable,
        notice,
        error,
        name: environment.name,
    })
}

/// `GET /environments/{name}`.
pub async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let created = crate::routes::catalog::pairs(&raw)
        .iter()
        .any(|(key, value)| key == "created" && value == "1");
    let notice = created.then(|| format!("Environment {name} is ready."));
    detail_page(&state, &viewer, &name, notice, None).await
}

/// `POST /environments/{name}/delete`: tears the environment down.
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let environment = match state.deployer.environments().get(&name).await {
        Ok(environment) => environment,
        Err(EnvironmentError::NotFound(_)) => {
            return Err(PageError::not_found(format!(
                "There is no environment `{name}`; it may have been deleted already."
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let resource = format!("environment:{name}");
    if !may_environment(
        &state,
        &viewer,
        Action::EnvironmentDelete,
        &environment.name,
        environment.environment_type.as_str(),
    ) {
        audit(
            &state,
            &viewer,
            Action::EnvironmentDelete,
            resource,
            Outcome::Denied,
            json!({"type": environment.environment_type.as_str()}),
        )
        .await;
        return Err(forbidden(format!(
            "{} may not delete {} environment `{name}`.",
            viewer.principal.reference,
            environment.environment_type.as_str()
        )));
    }
    match state.deployer.delete_environment(&name).await {
        Ok(()) => {
            audit(
                &state,
                &viewer,
                Action::EnvironmentDelete,
                resource,
                Outcome::Success,
                json!({"type": environment.environment_type.as_str()}),
            )
            .await;
            let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            Ok(see_other(&format!("/environments?deleted={encoded}")))
        }
        Err(pave_deploy::DeployError::Conflict(message)) => {
            audit(
                &state,
                &viewer,
                Action::EnvironmentDelete,
                resource,
                Outcome::Failed,
                json!({"error": message}),
            )
            .await;
            let mut response = detail_page(&state, &viewer, &name, None, Some(message)).await?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_become_a_map_and_bad_ones_are_named() {
        let config = parse_config(
            "GREETING=hello world\n\n# a comment\n LOG_LEVEL = debug \nEMPTY=\nURL=http://x/?a=b\n",
        )
        .unwrap();
        assert_eq!(config["GREETING"], "hello world");
        assert_eq!(config["LOG_LEVEL"], "debug");
        assert_eq!(config["EMPTY"], "");
        assert_eq!(config["URL"], "http://x/?a=b");
        assert!(parse_config("").unwrap().is_empty());
        for (text, needle) in [
            ("NOVALUE", "has no `=`"),
            ("=x", "Config key ``"),
            ("A B=c", "Config key `A B`"),
            ("A=1\nA=2", "given twice"),
        ] {
            let problem = parse_config(text).unwrap_err();
            assert!(problem.contains(needle), "{text}: {problem}");
        }
        let many: String = (0..201).map(|i| format!("K{i}=v\n")).collect();
        assert!(parse_config(&many).unwrap_err().contains("At most 200"));
    }

    fn form() -> NewForm {
        NewForm {
            types: vec![("development", true), ("staging", false)],
            name: "<b>bad</b>".into(),
            config: "A=<script>alert(1)</script>".into(),
            name_error: Some("environment name `<b>bad</b>`: only lower-case".into()),
            ..NewForm::default()
        }
    }

    #[test]
    fn the_environments_page_escapes_and_shows_the_form_only_with_types() {
        let page = ListPage {
            chrome: Chrome::anonymous("Environments"),
            csrf: "c".into(),
            rows: vec![EnvironmentRow {
                name: "dev".into(),
                href: "/environments/dev".into(),
                environment_type: "development".into(),
                status: "active".into(),
                description: "<i>d</i>".into(),
                parent: None,
                expires: Some(When {
                    relative: "in 2 days".into(),
                    exact: "2025-02-02 12:00:00 UTC".into(),
                    iso: "2025-02-02T12:00:00.000000Z".into(),
                }),
                urls: vec!["http://orders--dev.localhost:7080".into()],
                running: vec![Running {
                    label: "orders".into(),
                    href: Some("/catalog/component/default/orders".into()),
                    status: "Healthy",
                    class: "healthy",
                    commit_short: "0123456789ab".into(),
                    commit: "0123456789abcdef".into(),
                }],
            }],
            notice: None,
            problem_count: 1,
            form: form(),
            deployments_readable: true,
        };
        let html = askama::Template::render(&page).unwrap();
        assert!(html.contains("title=\"2025-02-02 12:00:00 UTC\""), "{html}");
        assert!(html.contains(">in 2 days<"), "{html}");
        assert!(html.contains("href=\"http://orders--dev.localhost:7080\""));
        assert!(html.contains("status-healthy"));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>bad"), "{html}");
        assert!(!html.contains("<i>d"), "{html}");
        assert!(html.contains("id=\"env-name-error\""), "{html}");
        assert!(html.contains("<option value=\"staging\">staging</option>"));
        let mut without = page;
        without.form = NewForm::default();
        let html = askama::Template::render(&without).unwrap();
        assert!(!html.contains("action=\"/environments\" method=\"post\""));
        assert!(!html.contains("New environment"), "{html}");
    }

    #[test]
    fn the_environment_page_offers_delete_only_when_allowed() {
        let page = |can_delete: bool| DetailPage {
            chrome: Chrome::anonymous("Environment pr-7"),
            csrf: "c".into(),
            name: "pr-7".into(),
            environment_type: "preview".into(),
            status: "active".into(),
            description: String::new(),
            parent: Some(Link {
                label: "dev".into(),
                href: "/environments/dev".into(),
            }),
            created_by: "service:github-webhook".into(),
            created: When::of("2025-01-31T12:34:56.000000Z"),
            expires: Some(When::of("2099-01-31T12:34:56.000000Z")),
            follows_branch: None,
            source: Some(SourceView {
                repository: "file:///repos/orders.git".into(),
                branch: "feature".into(),
                pull_request: 7,
                head_commit: "0123456789abcdef".into(),
                head_short: "0123456789ab".into(),
            }),
            config: vec![("GREETING".into(), "<hello>".into())],
            urls: Vec::new(),
            running: Vec::new(),
            history: Vec::new(),
            more_history: 0,
            children: Vec::new(),
            can_delete,
            deployments_readable: true,
            notice: None,
            error: None,
        };
        let html = askama::Template::render(&page(true)).unwrap();
        assert!(
            html.contains("action=\"/environments/pr-7/delete\""),
            "{html}"
        );
        assert!(html.contains("#7") && html.contains("feature"));
        assert!(html.contains("&#60;hello&#62;"), "{html}");
        let html = askama::Template::render(&page(false)).unwrap();
        assert!(!html.contains("/delete"), "{html}");
    }
}
