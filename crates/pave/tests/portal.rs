//! The portal end to end: a real `pave` server on 127.0.0.1 loaded with the
//! Backstage example catalog, driven by headless Chromium through
//! chromedriver (Debian's `chromium` and `chromium-driver`, which `.ci/run`
//! installs). Screenshots of every page go to
//! `target/tmp/portal-screenshots/` for a person to look at.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use pave_store::testing::TestDatabase;
use serde_json::json;

mod common;
use common::browser::{
    browser, shoot, shoot_phone, shoot_tall, source, start_driver, wait_for_path,
};
use common::portal::{add_policy, api, corpus, encode, page, plain_client, sign_in, token_for};
use common::{Server, crypto};

/// How long a click's navigation may take.
const NAVIGATION: Duration = Duration::from_secs(15);

/// The height of a window that holds a whole page.
const TALL: u32 = 2200;

/// Registers the Backstage example catalog through the API.
async fn load_examples(server: &Server, admin: &str) {
    for file in ["all.yaml", "acme-corp.yaml"] {
        api(
            server,
            admin,
            "POST",
            "/api/catalog/locations",
            Some(json!({"type": "file", "target": corpus().join(file).display().to_string()})),
        )
        .await;
    }
}

/// The count the explorer shows for `value` in a facet list.
fn facet_count(html: &str, value: &str) -> Option<u64> {
    let marker = format!("<span>{value}</span> <span class=\"count\">");
    let rest = html.split(&marker).nth(1)?;
    rest.split('<').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_works_end_to_end_in_a_real_browser() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server
        .admin_token()
        .expect("the first start prints the admin token");
    load_examples(&server, &admin).await;

    let driver = start_driver();
    let client = browser(&driver).await;

    // Signed out, every page leads to the sign-in page.
    client
        .goto(&format!("{}/catalog", server.url))
        .await
        .unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login")
    );
    shoot(&client, "01-login").await;
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys("pave_not_a_token")
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("p.alert"))
        .await
        .unwrap();
    assert!(source(&client).await.contains("Sign-in failed"));

    // Sign in; the page asked for before comes next.
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(&admin)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog", NAVIGATION).await;
    client.goto(&format!("{}/", server.url)).await.unwrap();
    let home = source(&client).await;
    assert!(home.contains("Recently changed") && home.contains("Processing errors"));
    shoot(&client, "02-home").await;

    // Search from the header.
    let search = client.find(Locator::Css("#top-search")).await.unwrap();
    search.send_keys("petstore\n").await.unwrap();
    client
        .wait()
        .for_element(Locator::Css(
            "a[href='/catalog/component/default/petstore']",
        ))
        .await
        .unwrap();
    assert_eq!(
        client.current_url().await.unwrap().query(),
        Some("q=petstore")
    );
    shoot(&client, "03-search").await;

    // Open the component; the graph and the relations are there.
    client
        .find(Locator::Css(
            "a[href='/catalog/component/default/petstore']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog/component/default/petstore", NAVIGATION).await;
    let entity = source(&client).await;
    assert!(entity.contains("<h1>petstore</h1>"), "{entity}");
    assert!(entity.contains("class=\"pave-graph\"") || entity.contains("pave-graph"));
    assert!(entity.contains("Provides APIs"));
    client
        .find(Locator::Css(".graph-frame svg"))
        .await
        .expect("the dependency graph is drawn");
    shoot_tall(&client, "04-entity", TALL).await;

    // Follow a relation to the API: its OpenAPI definition reads as operations.
    client
        .find(Locator::Css(
            ".relations a[href='/catalog/api/default/petstore']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog/api/default/petstore", NAVIGATION).await;
    let api_page = source(&client).await;
    assert!(api_page.contains("method-get") && api_page.contains("/pets"));
    shoot_tall(&client, "05-api", TALL).await;

    // Filter the explorer by owner through its facet.
    client
        .goto(&format!("{}/catalog", server.url))
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//section[@class='facet'][h2='Owner']//a[span[1]='team-c']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.current_url().await.unwrap().query() != Some("owner=team-c") {
        assert!(Instant::now() < deadline, "the owner facet did not apply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let owners: Vec<String> = {
        let mut owners = Vec::new();
        for cell in client
            .find_all(Locator::Css("tbody tr td:nth-child(4)"))
            .await
            .unwrap()
        {
            owners.push(cell.text().await.unwrap());
        }
        owners
    };
    assert!(!owners.is_empty());
    assert!(owners.iter().all(|owner| owner == "team-c"), "{owners:?}");
    shoot(&client, "06-explorer").await;
    shoot_phone(&client, "07-explorer-phone").await;

    // A bad parameter is a friendly page, not a stack trace.
    client
        .goto(&format!("{}/catalog?page=zero", server.url))
        .await
        .unwrap();
    let error = source(&client).await;
    assert!(error.contains("is not a page number"));
    shoot(&client, "08-error").await;

    // Sign out: the session is gone.
    client.goto(&format!("{}/", server.url)).await.unwrap();
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/login", NAVIGATION).await;
    client.goto(&format!("{}/", server.url)).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login")
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_entity_hidden_by_policy_appears_nowhere_in_the_portal() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server.admin_token().unwrap();
    load_examples(&server, &admin).await;
    let guest = token_for(&server, &admin, "user:default/guest").await;
    add_policy(
        &server,
        &admin,
        "@id(\"hide-petstore\")\nforbid (principal == Pave::User::\"default/guest\", action == Pave::Action::\"catalog.entity.read\", resource is Pave::Entity)\n  when { resource.kind == \"component\" && resource.name == \"petstore\" };\n",
    )
    .await;

    let admin_cookie = sign_in(&server, &admin).await;
    let guest_cookie = sign_in(&server, &guest).await;
    let hidden = "/catalog/component/default/petstore";

    // The admin sees it: the test would prove nothing otherwise.
    let (_, list) = page(&server, &admin_cookie, "/catalog?q=petstore").await;
    assert!(list.contains(hidden));
    let (_, all) = page(&server, &admin_cookie, "/catalog").await;
    let components = facet_count(&all, "Component").unwrap();

    let (_, list) = page(&server, &guest_cookie, "/catalog?q=petstore").await;
    assert!(!list.contains(hidden), "search");
    let (_, all) = page(&server, &guest_cookie, "/catalog").await;
    assert_eq!(
        facet_count(&all, "Component"),
        Some(components - 1),
        "facet counts"
    );
    let (_, owned) = page(&server, &guest_cookie, "/catalog?owner=team-c").await;
    assert!(!owned.contains(hidden), "a filtered list");
    let (status, body) = page(&server, &guest_cookie, hidden).await;
    assert_eq!(status, 404, "its page");
    assert!(!body.contains("The Petstore is an example"));
    let (status, api_page) = page(&server, &guest_cookie, "/catalog/api/default/petstore").await;
    assert_eq!(status, 200);
    assert!(
        !api_page.contains(hidden),
        "relations and graph of a related entity"
    );
    assert!(!api_page.contains("component:default/petstore"));
    let (_, team) = page(&server, &guest_cookie, "/catalog/group/default/team-c").await;
    assert!(!team.contains(hidden), "the owner's page");
    let (_, home) = page(&server, &guest_cookie, "/").await;
    assert!(!home.contains(hidden), "the home page");
}

#[tokio::test]
async fn bad_input_gets_a_friendly_page_and_forms_need_their_csrf_token() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server.admin_token().unwrap();
    let cookie = sign_in(&server, &admin).await;
    for (path, status, says) in [
        ("/catalog?page=-1", 400, "page number"),
        ("/catalog?sort=colour", 400, "not a column"),
        ("/catalog?colour=red", 400, "no `colour` parameter"),
        ("/catalog?kind=a,b", 400, "comma"),
        ("/catalog?q=%FF%FE", 200, "No entities match"),
        ("/catalog/component/default/nothing-here", 404, "no entity"),
        ("/no/such/page", 404, "no page at this address"),
        ("/static/nothing.css", 404, "no file"),
        ("/logout", 405, "not for opening"),
    ] {
        let (got, body) = page(&server, &cookie, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
        assert!(body.contains("<!doctype html>"), "{path} is a page");
        assert!(
            !body.contains("panicked") && !body.contains("src/"),
            "{path}"
        );
    }
    let client = plain_client();
    // Signing out without the session's CSRF token does nothing.
    let response = client
        .post(format!("{}/logout", server.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("csrf", "forged")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(page(&server, &cookie, "/").await.0, 200, "still signed in");
    // Signing in without the form's token is refused.
    let response = client
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("token", admin.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // The API is unchanged: JSON errors for machines.
    let response = client
        .get(format!("{}/api/no-such-route", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("\"error\""));
}
