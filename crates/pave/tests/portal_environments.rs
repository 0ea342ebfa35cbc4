//! The portal's environments and deployments end to end: a real `pave`
//! server, a real git repository with a small Python HTTP service registered
//! from a `url` location, real processes on the local runtime and real HTTP
//! through Pave's router, driven by headless Chromium through chromedriver
//! like `portal_create.rs`, and over plain HTTP for what a browser would not
//! show (forged forms). Screenshots go to
//! `target/tmp/portal-screenshots/env-*.png`.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use pave_store::testing::TestDatabase;
use serde_json::json;

mod common;
use common::browser::{
    browser, click, element, select, shoot, shoot_tall, sign_in_browser, source, start_driver,
    type_into, wait_for_path,
};
use common::portal::{api, call, hidden, page, post, sign_in, token_for, wait_for_entity};
use common::service::{Repository, SERVICE, through_router};
use common::{Server, crypto};

/// A secret the service gets as a variable: it must never reach a page.
const SECRET_VALUE: &str = "s3cret-value-4711";

fn score(version: &str) -> String {
    common::service::score(version, "/", &[("API_TOKEN", SECRET_VALUE)])
}

/// How long a page may take to come: deploys wait for the service to be
/// ready, so allow for that.
const ENGINE: Duration = Duration::from_secs(90);

/// The height of a window that holds a whole page.
const TALL: u32 = 2000;

/// The text of the first element `css` selects, once it is there.
async fn text_of(client: &Client, css: &str) -> String {
    element(client, css, ENGINE).await.text().await.unwrap()
}

async fn sign_out_browser(client: &Client) {
    click(client, "form.signout button").await;
    wait_for_path(client, "/login", ENGINE).await;
}

/// Fills in and sends the "New environment" form on the environments page.
async fn create_environment(
    client: &Client,
    server: &Server,
    name: &str,
    kind: &str,
    config: &str,
) {
    client
        .goto(&format!("{}/environments", server.url))
        .await
        .unwrap();
    type_into(client, "#env-name", name).await;
    select(client, "select#env-type", kind).await;
    type_into(client, "#env-config", config).await;
    click(client, "#env-new-form button[type=submit]").await;
}

/// Presses the button `css` of a form that runs the engine and returns what
/// the page answered with: the outcome notice, or the engine's refusal.
async fn press_and_read_outcome(client: &Client, css: &str) -> String {
    let before = client.current_url().await.unwrap();
    click(client, css).await;
    // The form waits for the engine; the answer is a new address.
    let deadline = Instant::now() + ENGINE;
    while client.current_url().await.unwrap() == before {
        assert!(Instant::now() < deadline, "{css} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    text_of(client, "#deploy-outcome, #deploy-error").await
}

/// Sends the component page's Deploy form and returns the outcome notice.
async fn deploy_from_page(client: &Client, environment: &str, revision: &str) -> String {
    select(client, "select#deploy-environment", environment).await;
    type_into(client, "#deploy-revision", revision).await;
    press_and_read_outcome(client, "#deploy-form button[type=submit]").await
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_and_deployments_from_the_portal_in_a_real_browser() {
    crypto();
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(&data, &database);
    let router = server.router_port();
    let admin = server
        .admin_token()
        .expect("the first start prints the admin token");
    let repository = Repository::new(directory.path(), SERVICE, &score("v1"));
    api(
        &server,
        &admin,
        "POST",
        "/api/catalog/locations",
        Some(json!({"type": "url", "target": repository.location()})),
    )
    .await;
    wait_for_entity(
        &server,
        &admin,
        "/api/catalog/entities/by-name/component/default/orders",
    )
    .await;

    let driver = start_driver();
    let client = browser(&driver).await;
    sign_in_browser(&client, &server, &admin).await;

    // The header's Environments link; nothing there yet.
    click(&client, "header.top nav a[href='/environments']").await;
    wait_for_path(&client, "/environments", ENGINE).await;
    let empty = source(&client).await;
    assert!(empty.contains("No environments yet"), "{empty}");
    assert!(empty.contains("aria-current=\"page\">Environments</a>"));
    for kind in ["development", "staging", "production"] {
        assert!(
            empty.contains(&format!("<option value=\"{kind}\"")),
            "admins may create {kind}: {empty}"
        );
    }

    // A bad name comes back next to its field, with what was typed.
    create_environment(
        &client,
        &server,
        "Bad Name",
        "development",
        "GREETING=hello",
    )
    .await;
    let message = text_of(&client, "#env-name-error").await;
    assert!(message.contains("Bad Name"), "{message}");
    let refused = source(&client).await;
    assert!(refused.contains("aria-invalid=\"true\""), "{refused}");
    assert!(refused.contains("GREETING=hello</textarea>"), "{refused}");
    shoot_tall(&client, "env-create-error", TALL).await;

    // dev, then staging.
    create_environment(&client, &server, "dev", "development", "GREETING=hello").await;
    wait_for_path(&client, "/environments/dev", ENGINE).await;
    let created = source(&client).await;
    assert!(created.contains("Environment dev is ready."), "{created}");
    assert!(created.contains("<dt>GREETING</dt><dd class=\"wrap\">hello</dd>"));
    create_environment(&client, &server, "staging", "staging", "GREETING=hi").await;
    wait_for_path(&client, "/environments/staging", ENGINE).await;
    // The same name again: it exists.
    create_environment(&client, &server, "dev", "development", "").await;
    let message = text_of(&client, "#env-name-error").await;
    assert!(message.contains("already exists"), "{message}");

    // The component page: not deployed yet; Deploy to dev.
    let component_path = "/catalog/component/default/orders";
    client
        .goto(&format!("{}{component_path}", server.url))
        .await
        .unwrap();
    let before = source(&client).await;
    assert!(before.contains("Not deployed anywhere yet"), "{before}");
    assert!(before.contains("<option value=\"dev\">dev (development)</option>"));
    let started = Instant::now();
    let outcome = deploy_from_page(&client, "dev", "").await;
    eprintln!("deploy from the portal: {:?}", started.elapsed());
    let dev_url = format!("http://orders--dev.localhost:{router}");
    assert!(outcome.contains("Deployed to dev: Healthy"), "{outcome}");
    assert!(outcome.contains(&dev_url), "{outcome}");
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), component_path);
    assert!(
        url.query().unwrap_or("").starts_with("deployment="),
        "{url}"
    );
    let link = client
        .find(Locator::Css("#deploy-outcome a.deploy-url"))
        .await
        .unwrap();
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(dev_url.as_str())
    );

    // The URL answers through the router.
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string()))
    );

    // The log tail shows the service's start-up line, escaped in a <pre>.
    click(
        &client,
        "article[data-environment='dev'] details.deploy-logs summary",
    )
    .await;
    let tail = text_of(&client, "article[data-environment='dev'] pre.log-tail").await;
    assert!(tail.contains("starting on"), "{tail}");
    // Variables are the masked ones; the runtime instance never shows.
    let deployed = source(&client).await;
    assert!(
        deployed.contains("<dt>API_TOKEN</dt><dd class=\"wrap\">********</dd>"),
        "{deployed}"
    );
    assert!(!deployed.contains(SECRET_VALUE), "a secret in the page");
    assert!(
        !deployed.contains(&data.display().to_string()),
        "the runtime instance (its checkout path) is in the page"
    );
    shoot_tall(&client, "env-component-deployed", TALL).await;

    // A revision that does not exist: the engine's refusal on the page.
    let outcome = deploy_from_page(&client, "dev", "no-such-branch").await;
    assert!(outcome.contains("no-such-branch"), "{outcome}");
    shoot(&client, "env-deploy-refused").await;

    // v2, then Roll back to v1.
    repository.push_score("main", &score("v2"));
    client
        .goto(&format!("{}{component_path}", server.url))
        .await
        .unwrap();
    let outcome = deploy_from_page(&client, "dev", "").await;
    assert!(outcome.contains("Deployed to dev: Healthy"), "{outcome}");
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v2 hello".to_string()))
    );
    let outcome = press_and_read_outcome(
        &client,
        "article[data-environment='dev'] form.rollback-form button",
    )
    .await;
    assert!(outcome.contains("Rolled back to dev: Healthy"), "{outcome}");
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string()))
    );

    // Promote what runs in dev to staging, with staging's config.
    select(
        &client,
        "article[data-environment='dev'] form.promote-form select",
        "staging",
    )
    .await;
    let outcome = press_and_read_outcome(
        &client,
        "article[data-environment='dev'] form.promote-form button",
    )
    .await;
    assert!(
        outcome.contains("Promoted to staging: Healthy"),
        "{outcome}"
    );
    assert_eq!(
        through_router(router, "orders--staging.localhost"),
        Some((200, "v1 hi".to_string()))
    );
    let promoted = source(&client).await;
    assert!(promoted.contains("<td>rollback</td>") && promoted.contains("<td>promote</td>"));
    shoot_tall(&client, "env-component-promoted", TALL).await;

    // The environments page: dev runs orders, Healthy.
    click(&client, "header.top nav a[href='/environments']").await;
    wait_for_path(&client, "/environments", ENGINE).await;
    // (Badges are upper-cased by the stylesheet, so compare in lower case.)
    let row = text_of(&client, "tr[data-environment='dev']")
        .await
        .to_lowercase();
    assert!(row.contains("orders") && row.contains("healthy"), "{row}");
    assert!(row.contains(&dev_url), "{row}");
    let staging = text_of(&client, "tr[data-environment='staging']")
        .await
        .to_lowercase();
    assert!(
        staging.contains("staging") && staging.contains("healthy"),
        "{staging}"
    );
    shoot_tall(&client, "env-list", TALL).await;

    // Someone who is neither an admin nor an owner sees the pages but none
    // of the buttons the policies would refuse them.
    let someone = token_for(&server, &admin, "user:default/someone").await;
    let cookie = sign_in(&server, &someone).await;
    let (status, listed) = page(&server, &cookie, "/environments").await;
    assert_eq!(status, 200, "{listed}");
    assert!(listed.contains("data-environment=\"dev\"") && listed.contains("Healthy"));
    // The default policies let anyone signed in make development environments.
    assert!(listed.contains("<option value=\"development\""), "{listed}");
    assert!(!listed.contains("<option value=\"staging\""), "{listed}");
    assert!(!listed.contains("<option value=\"production\""), "{listed}");
    let csrf = hidden(&listed, "csrf");
    let (status, shown) = page(&server, &cookie, "/environments/staging").await;
    assert_eq!(status, 200);
    assert!(!shown.contains("/environments/staging/delete"), "{shown}");
    assert!(!shown.contains("Delete staging"), "{shown}");
    let (status, shown) = page(&server, &cookie, component_path).await;
    assert_eq!(status, 200);
    assert!(shown.contains("id=\"deployments\"") && shown.contains("Healthy"));
    for form in ["id=\"deploy-form\"", "rollback-form", "promote-form"] {
        assert!(!shown.contains(form), "{form} shown to someone: {shown}");
    }
    assert!(!shown.contains(SECRET_VALUE));
    // Forged forms, with their own session's CSRF token, are refused.
    for (path, pairs) in [
        (
            format!("{component_path}/deploy"),
            vec![("csrf", csrf.as_str()), ("environment", "dev")],
        ),
        (
            format!("{component_path}/rollback"),
            vec![("csrf", csrf.as_str()), ("environment", "dev")],
        ),
        (
            format!("{component_path}/promote"),
            vec![("csrf", csrf.as_str()), ("from", "dev"), ("to", "staging")],
        ),
        (
            "/environments/staging/delete".to_string(),
            vec![("csrf", csrf.as_str())],
        ),
        (
            "/environments".to_string(),
            vec![
                ("csrf", csrf.as_str()),
                ("name", "mine"),
                ("type", "production"),
            ],
        ),
    ] {
        let (status, _, body) = post(&server, &cookie, &path, &pairs).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("Not allowed"), "{path}: {body}");
    }
    // Without the session's CSRF token nothing is even decided.
    let (status, _, _) = post(
        &server,
        &cookie,
        &format!("{component_path}/deploy"),
        &[("csrf", "forged"), ("environment", "dev")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string())),
        "a refused form changed what runs"
    );
    let denied = api(
        &server,
        &admin,
        "GET",
        "/api/v1/audit?principal=user:default/someone&outcome=denied",
        None,
    )
    .await;
    let actions: Vec<&str> = denied["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| event["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"deployment.create")
            && actions.contains(&"environment.delete")
            && actions.contains(&"environment.create"),
        "{actions:?}"
    );
    sign_out_browser(&client).await;
    sign_in_browser(&client, &server, &someone).await;
    client
        .goto(&format!("{}{component_path}", server.url))
        .await
        .unwrap();
    text_of(&client, "#deployments").await;
    shoot_tall(&client, "env-someone-component", TALL).await;
    sign_out_browser(&client).await;

    // The admin deletes dev from its page, after confirming.
    sign_in_browser(&client, &server, &admin).await;
    client
        .goto(&format!("{}/environments/dev", server.url))
        .await
        .unwrap();
    click(&client, "details.confirm summary").await;
    shoot_tall(&client, "env-delete-confirm", TALL).await;
    click(&client, "form.delete-form button").await;
    let notice = text_of(&client, "p.notice").await;
    assert!(notice.contains("Environment dev was deleted."), "{notice}");
    assert_eq!(client.current_url().await.unwrap().path(), "/environments");
    let after = source(&client).await;
    assert!(!after.contains("data-environment=\"dev\""), "{after}");
    assert!(after.contains("data-environment=\"staging\""));
    shoot(&client, "env-deleted").await;
    assert_eq!(
        through_router(router, "orders--dev.localhost").map(|(status, _)| status),
        Some(404)
    );
    let (status, _) = call(&server, &admin, "GET", "/api/v1/environments/dev", None).await;
    assert_eq!(status, 404);
    client.close().await.unwrap();
}
