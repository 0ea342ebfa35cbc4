//! The portal's Create section end to end: a real `pave` server (which
//! registers the golden paths at start) with the Backstage example groups,
//! driven by headless Chromium through chromedriver like `portal.rs`, and
//! over plain HTTP for what a browser would not show. Screenshots go to
//! `target/tmp/portal-screenshots/create-*.png`.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

mod common;
use common::browser::{
    browser, click, element, select, shoot_phone, shoot_tall, sign_in_browser, source,
    start_driver, wait_for_path,
};
use common::portal::{
    add_policy, api, corpus, hidden, page, plain_client, post, sign_in, token_for, wait_for_entity,
};
use common::service::through_router;
use common::{Server, crypto};

/// How long a page or an element on it may take to come.
const WAIT: Duration = Duration::from_secs(20);

/// The height of a window that holds a whole page.
const TALL: u32 = 1800;

/// Waits for a task to finish, through the API; returns it.
async fn finished_task(server: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let task = api(
            server,
            token,
            "GET",
            &format!("/api/scaffolder/v2/tasks/{id}"),
            None,
        )
        .await;
        if ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap_or("")) {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} never finished: {task}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_golden_path_runs_from_the_portal_in_a_real_browser() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server
        .admin_token()
        .expect("the first start prints the admin token");
    api(
        &server,
        &admin,
        "POST",
        "/api/catalog/locations",
        Some(json!({"type": "file", "target": corpus().join("acme-corp.yaml").display().to_string()})),
    )
    .await;
    wait_for_entity(
        &server,
        &admin,
        "/api/catalog/entities/by-name/template/default/python-service",
    )
    .await;
    wait_for_entity(
        &server,
        &admin,
        "/api/catalog/entities/by-name/group/default/team-a",
    )
    .await;

    let driver = start_driver();
    let client = browser(&driver).await;
    sign_in_browser(&client, &server, &admin).await;

    // The header's Create link leads to the gallery.
    click(&client, "header.top nav a[href='/create']").await;
    wait_for_path(&client, "/create", WAIT).await;
    client
        .wait()
        .for_element(Locator::Css(".template-card"))
        .await
        .unwrap();
    let gallery = source(&client).await;
    assert!(gallery.contains("Python service"), "{gallery}");
    assert!(gallery.contains("Rust service"));
    assert!(gallery.contains("aria-current=\"page\">Create</a>"));
    shoot_tall(&client, "create-gallery", TALL).await;

    // Choose the Python service; page 1 with a bad name shows the server's
    // message next to the field (the browser's own check is turned off, or
    // the pattern would stop the form first).
    click(
        &client,
        "a.button[href='/create/templates/default/python-service']",
    )
    .await;
    wait_for_path(&client, "/create/templates/default/python-service", WAIT).await;
    let name = client
        .wait()
        .for_element(Locator::Css("#f-name"))
        .await
        .unwrap();
    name.send_keys("Bad Name").await.unwrap();
    select(&client, "select#f-owner", "group:default/team-a").await;
    client
        .execute(
            "document.getElementById('wizard').noValidate = true; return null;",
            vec![],
        )
        .await
        .unwrap();
    click(&client, ".wizard-actions button[value='next']").await;
    let error = element(&client, "#f-name-error", WAIT).await;
    let message = error.text().await.unwrap();
    assert!(message.contains("Bad Name"), "{message}");
    let wizard = source(&client).await;
    assert!(
        wizard.contains("aria-invalid=\"true\" aria-describedby=\"f-name-error"),
        "{wizard}"
    );
    assert!(wizard.contains("One thing needs fixing"));
    shoot_tall(&client, "create-wizard-error", TALL).await;
    shoot_phone(&client, "create-wizard-phone").await;

    // Fix it; the owner chosen before is still chosen.
    let name = client.find(Locator::Css("#f-name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("orders").await.unwrap();
    let owner = client
        .find(Locator::Css("select#f-owner option[selected]"))
        .await
        .unwrap();
    assert_eq!(
        owner.attr("value").await.unwrap().as_deref(),
        Some("group:default/team-a")
    );
    click(&client, ".wizard-actions button[value='next']").await;

    // Page 2: the repository, in Pave's own git hosting.
    let repo_owner = element(&client, "#f-repoUrl-owner", WAIT).await;
    let host = client
        .find(Locator::Css("#f-repoUrl-host option[selected]"))
        .await
        .unwrap();
    assert_eq!(host.attr("value").await.unwrap().as_deref(), Some("pave"));
    repo_owner.send_keys("team-a").await.unwrap();
    client
        .find(Locator::Css("#f-repoUrl-repo"))
        .await
        .unwrap()
        .send_keys("orders")
        .await
        .unwrap();
    click(&client, ".wizard-actions button[value='next']").await;

    // The review shows every value.
    element(&client, ".wizard-actions button[value='create']", WAIT).await;
    let review = source(&client).await;
    for value in [
        "<dd>orders</dd>",
        "<dd>group:default/team-a</dd>",
        "<dd>pave?owner=team-a&amp;repo=orders</dd>",
        "<dd>A Python HTTP service created from Pave",
    ] {
        assert!(review.contains(value), "{value} in {review}");
    }
    shoot_tall(&client, "create-review", TALL).await;

    // Create: the task page follows the task to its end.
    click(&client, ".wizard-actions button[value='create']").await;
    let task_path = wait_for_path(&client, "/create/tasks/", WAIT).await;
    let task_id = task_path.trim_start_matches("/create/tasks/").to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        // The page reloads itself when the task ends: look afresh each time.
        let status = match client.find(Locator::Css("#task-status")).await {
            Ok(element) => element
                .attr("data-status")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        if status == "completed" && client.find(Locator::Css(".task-output")).await.is_ok() {
            break;
        }
        assert!(
            status != "failed",
            "the task failed: {}",
            source(&client).await
        );
        assert!(
            Instant::now() < deadline,
            "the task page never said completed (it says {status:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for step in ["fetch", "publish", "register", "deploy"] {
        let item = client
            .find(Locator::Css(&format!("li.task-step[data-step='{step}']")))
            .await
            .unwrap();
        assert_eq!(
            item.attr("data-status").await.unwrap().as_deref(),
            Some("completed"),
            "step {step}"
        );
    }
    let done = source(&client).await;
    assert!(done.contains("Next steps"), "{done}");
    assert!(done.contains("Beginning step Fetch the skeleton"));
    shoot_tall(&client, "create-task-completed", TALL).await;

    // The golden path ends with the service running in dev, through the router.
    let dev = client
        .find(Locator::LinkText("Open in dev"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    let router = server.router_port();
    assert_eq!(dev, format!("http://orders--dev.localhost:{router}"));
    let answer = through_router(router, "orders--dev.localhost");
    assert!(
        answer.as_ref().is_some_and(
            |(status, body)| *status == 200 && body.contains("\"service\": \"orders\"")
        ),
        "{answer:?}"
    );

    // The output leads to the new component, owned by the chosen group.
    client
        .find(Locator::LinkText("Open in catalog"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog/component/default/orders", WAIT).await;
    let component = source(&client).await;
    assert!(component.contains("<h1>orders</h1>"), "{component}");
    assert!(component.contains("group:default/team-a"), "{component}");
    client.close().await.unwrap();

    // The repository exists with exactly one commit.
    let git_dir = data.path().join("repositories/team-a/orders.git");
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(&git_dir)
        .args(["rev-list", "--count", "main"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");

    // Someone else cannot see the admin's task.
    let someone = token_for(&server, &admin, "user:default/someone").await;
    let cookie = sign_in(&server, &someone).await;
    let task_page = format!("/create/tasks/{task_id}");
    let (status, body) = page(&server, &cookie, &task_page).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("python-service"));
    let (status, _) = page(&server, &cookie, &format!("{task_page}/events")).await;
    assert_eq!(status, 404);
    let (status, list) = page(&server, &cookie, "/create/tasks").await;
    assert_eq!(status, 200);
    assert!(!list.contains(&task_id), "{list}");
    assert!(list.contains("No tasks yet"));
    let admin_cookie = sign_in(&server, &admin).await;
    let (_, list) = page(&server, &admin_cookie, "/create/tasks").await;
    assert!(list.contains(&task_id), "{list}");
}

/// A template with a secret, a greeting and an optional wait.
const SECRET_TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: secret-demo
  title: Secret demo
  description: Greets someone with a token it never shows.
  tags: [demo]
spec:
  owner: group:default/team-a
  type: demo
  parameters:
    - title: Who
      required: [name, token]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z]+$'
        token:
          title: Token
          type: string
          minLength: 8
          ui:field: Secret
    - title: How long
      properties:
        seconds:
          title: Seconds
          type: integer
          minimum: 0
          maximum: 60
          default: 0
  steps:
    - id: hello
      name: Say hello
      action: debug:log
      input:
        message: Hello ${{ parameters.name }}, your token is ${{ secrets.token }}
    - id: wait
      action: debug:wait
      input:
        seconds: ${{ parameters.seconds }}
  output:
    text:
      - title: Done
        content: "<b>${{ parameters.name }}</b> is greeted\nsecond line"
"#;

/// A template that asks for nothing and uses an action Pave does not offer.
const UNRUNNABLE_TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: to-github
  title: To GitHub
spec:
  owner: group:default/team-a
  type: demo
  steps:
    - id: publish
      action: publish:github
      input:
        repoUrl: github.com?owner=a&repo=b
"#;

/// Walks the secret template's wizard over HTTP up to its review; returns
/// the review page.
async fn fill_in(server: &Server, cookie: &str, seconds: &str) -> String {
    let path = "/create/templates/default/secret-demo";
    let (status, first) = page(server, cookie, path).await;
    assert_eq!(status, 200, "{first}");
    let (csrf, state) = (hidden(&first, "csrf"), hidden(&first, "state"));
    let (status, _, second) = post(
        server,
        cookie,
        path,
        &[
            ("csrf", &csrf),
            ("state", &state),
            ("draft", ""),
            ("page", "0"),
            ("go", "next"),
            ("p:name", "ada"),
            ("p:token", "s3cret-token-value"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert!(!second.contains("s3cret"), "a secret in a page: {second}");
    let draft = hidden(&second, "draft");
    assert_eq!(draft.len(), 64);
    let state = hidden(&second, "state");
    assert!(!state.contains("token"), "{state}");
    let (status, _, review) = post(
        server,
        cookie,
        path,
        &[
            ("csrf", &csrf),
            ("state", &state),
            ("draft", &draft),
            ("page", "1"),
            ("go", "next"),
            ("p:seconds", seconds),
        ],
    )
    .await;
    assert_eq!(status, 200, "{review}");
    review
}

/// Presses Create on the review page `review` of the wizard at `path`:
/// status, `Location` and body.
async fn create(server: &Server, cookie: &str, path: &str, review: &str) -> (u16, String, String) {
    let pairs = [
        ("csrf", hidden(review, "csrf")),
        ("state", hidden(review, "state")),
        ("draft", hidden(review, "draft")),
        ("page", "2".to_string()),
        ("go", "create".to_string()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(server, cookie, path, &pairs).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_checks_every_page_keeps_secrets_out_of_pages_and_follows_policies() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server.admin_token().unwrap();
    for (name, content) in [
        ("secret-demo", SECRET_TEMPLATE),
        ("to-github", UNRUNNABLE_TEMPLATE),
    ] {
        let file = data.path().join(format!("{name}.yaml"));
        std::fs::write(&file, content).unwrap();
        api(
            &server,
            &admin,
            "POST",
            "/api/catalog/locations",
            Some(json!({"type": "file", "target": file.display().to_string()})),
        )
        .await;
        wait_for_entity(
            &server,
            &admin,
            &format!("/api/catalog/entities/by-name/template/default/{name}"),
        )
        .await;
    }
    let cookie = sign_in(&server, &admin).await;

    // The gallery: search, tag filter with a chip, bad parameters.
    let (_, gallery) = page(&server, &cookie, "/create?q=greets").await;
    assert!(gallery.contains("Secret demo") && !gallery.contains("Python service"));
    let (_, tagged) = page(&server, &cookie, "/create?tag=demo").await;
    assert!(tagged.contains("Secret demo") && tagged.contains("class=\"chip\""));
    let (_, none) = page(&server, &cookie, "/create?q=nothing-like-this").await;
    assert!(none.contains("No template matches"), "{none}");
    let (status, bad) = page(&server, &cookie, "/create?colour=red").await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = page(&server, &cookie, "/create/templates/default/no-such").await;
    assert_eq!(status, 404);

    // A template without pages goes straight to the review; what the engine
    // refuses there is said on it.
    let (status, review) = page(&server, &cookie, "/create/templates/default/to-github").await;
    assert_eq!(status, 200);
    assert!(
        review.contains("This template asks for nothing."),
        "{review}"
    );
    let (status, _, refused) = post(
        &server,
        &cookie,
        "/create/templates/default/to-github",
        &[
            ("csrf", &hidden(&review, "csrf")),
            ("state", "{}"),
            ("draft", ""),
            ("page", "0"),
            ("go", "create"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("role=\"alert\""), "{refused}");
    assert!(refused.contains("publish:github"), "{refused}");

    // Page 1 is checked on the server, problem by field.
    let path = "/create/templates/default/secret-demo";
    let (_, first) = page(&server, &cookie, path).await;
    let (csrf, state) = (hidden(&first, "csrf"), hidden(&first, "state"));
    assert!(first.contains("pattern=\"[a-z]+\""), "HTML5 checks too");
    let (status, _, refused) = post(
        &server,
        &cookie,
        path,
        &[
            ("csrf", &csrf),
            ("state", &state),
            ("draft", ""),
            ("page", "0"),
            ("go", "next"),
            ("p:name", "Ada Lovelace"),
            ("p:token", "tiny7"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(refused.contains("id=\"f-name-error\""), "{refused}");
    assert!(refused.contains("id=\"f-token-error\""), "{refused}");
    assert!(
        refused.contains("value=\"Ada Lovelace\""),
        "what was typed stays"
    );
    assert!(!refused.contains("tiny7"), "a secret in a page: {refused}");
    // A form without the session's token changes nothing.
    let (status, _, _) = post(
        &server,
        &cookie,
        path,
        &[("csrf", "forged"), ("page", "0"), ("go", "next")],
    )
    .await;
    assert_eq!(status, 400);

    // The review masks the secret; Create starts the task.
    let review = fill_in(&server, &cookie, "0").await;
    assert!(review.contains("<dd>ada</dd>") && review.contains("<dd>••••</dd>"));
    assert!(!review.contains("s3cret"));
    let (status, location, _) = create(&server, &cookie, path, &review).await;
    assert_eq!(status, 303);
    let id = location
        .strip_prefix("/create/tasks/")
        .expect("the task's page")
        .to_string();
    let task = finished_task(&server, &admin, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let stored = task.to_string();
    assert!(
        !stored.contains("s3cret"),
        "the secret was stored: {stored}"
    );
    assert_eq!(task["spec"]["parameters"]["token"], "*".repeat(18));
    assert_eq!(task["createdBy"], "user:default/admin");

    // Its page: steps, the masked log, the output escaped with its breaks.
    let (status, shown) = page(&server, &cookie, &location).await;
    assert_eq!(status, 200);
    assert!(shown.contains("data-step=\"hello\" data-status=\"completed\""));
    assert!(shown.contains("your token is ***"), "{shown}");
    assert!(!shown.contains("s3cret"));
    assert!(shown.contains("&#60;b&#62;ada&#60;/b&#62; is greeted\nsecond line"));
    assert!(!shown.contains("http-equiv=\"refresh\""), "finished");
    // The event stream replays the events and ends; nothing is left after.
    let events = plain_client()
        .get(format!("{}{location}/events", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let stream = events.text().await.unwrap();
    assert!(stream.contains("event: log") && stream.contains("event: completion"));
    assert!(!stream.contains("s3cret"));
    let last: i64 = stream
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .filter_map(|id| id.trim().parse().ok())
        .max()
        .unwrap();
    let (status, _) = page(&server, &cookie, &format!("{location}/events?after={last}")).await;
    assert_eq!(status, 204);

    // A running task can be cancelled; meanwhile its page reloads itself
    // without JavaScript and offers the live view.
    let review = fill_in(&server, &cookie, "30").await;
    let (_, running, _) = create(&server, &cookie, path, &review).await;
    let (_, shown) = page(&server, &cookie, &running).await;
    assert!(shown.contains("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>"));
    assert!(shown.contains(&format!("data-task-events=\"{running}/events\"")));
    assert!(shown.contains("Cancel this task"));
    let (status, _, _) = post(
        &server,
        &cookie,
        &format!("{running}/cancel"),
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, back, _) = post(
        &server,
        &cookie,
        &format!("{running}/cancel"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!((status, back.as_str()), (303, running.as_str()));
    let running_id = running.trim_start_matches("/create/tasks/");
    let task = finished_task(&server, &admin, running_id).await;
    assert_eq!(task["status"], "cancelled", "{task}");

    // Another user: no task of the admin's, and a template a policy keeps
    // them from running has no Choose button and a 403 wizard.
    let guest = token_for(&server, &admin, "user:default/guest").await;
    add_policy(
        &server,
        &admin,
        "@id(\"no-demo-for-guest\")\nforbid (principal == Pave::User::\"default/guest\", action == Pave::Action::\"scaffolder.template.run\", resource is Pave::Entity)\n  when { resource.tags.contains(\"demo\") };\n",
    )
    .await;
    let guest_cookie = sign_in(&server, &guest).await;
    let (status, _) = page(&server, &guest_cookie, &location).await;
    assert_eq!(status, 404);
    let (status, _, _) = post(
        &server,
        &guest_cookie,
        &format!("{running}/cancel"),
        &[("csrf", "whatever")],
    )
    .await;
    assert_eq!(status, 400, "no CSRF token of theirs");
    let (_, gallery) = page(&server, &guest_cookie, "/create").await;
    assert!(gallery.contains("Secret demo") && gallery.contains("Python service"));
    assert!(!gallery.contains("href=\"/create/templates/default/secret-demo\""));
    assert!(gallery.contains("href=\"/create/templates/default/python-service\""));
    assert!(gallery.contains("You may not run this template."));
    let (status, refused) = page(&server, &guest_cookie, path).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _) = page(
        &server,
        &guest_cookie,
        "/create/templates/default/python-service",
    )
    .await;
    assert_eq!(status, 200);
}
