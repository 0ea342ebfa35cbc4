//! The portal benchmark: N synthetic entities (10,000 by default), a signed-in
//! session, and the server-side latency of each kind of page, one request at
//! a time. The budget is "well under 50 ms" per page at 10,000 entities.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::catalog::{Loaded, load};
use crate::summarize;

/// The `name=value` pair of cookie `name` that a response sets.
fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(key, _)| key == name))
        .map(str::to_string)
}

/// Signs in through the login form and returns the session cookie.
async fn sign_in(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<String> {
    let form = client.get(format!("{url}/login")).send().await?;
    let login_cookie = set_cookie(form.headers(), "pave_login_csrf")
        .context("the login page set no CSRF cookie")?;
    let html = form.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the login page has no CSRF field")?
        .to_string();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("token", token)
        .append_pair("next", "/")
        .finish();
    let response = client
        .post(format!("{url}/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    set_cookie(response.headers(), "pave_session").context("signing in gave no session cookie")
}

/// The path of the i-th request to one kind of page.
type PagePath<'a> = Box<dyn Fn(usize) -> String + 'a>;

pub async fn run(
    binary: &Path,
    total: usize,
    requests: usize,
    settle: Duration,
) -> anyhow::Result<()> {
    let loaded = load(binary, total).await?;
    let Loaded {
        ref running,
        ref token,
        ref mix,
        ..
    } = loaded;
    tokio::time::sleep(settle).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = &running.url;
    let cookie = sign_in(&client, url, token).await?;
    let component = |i: usize| {
        format!(
            "/catalog/component/default/svc-{:06}",
            (i * 7919) % mix.components
        )
    };
    let pages: Vec<(&str, PagePath)> = vec![
        ("home", Box::new(|_| "/".to_string())),
        ("explorer, first page", Box::new(|_| "/catalog".to_string())),
        (
            "explorer, two facets and a page",
            Box::new(|i| {
                format!(
                    "/catalog?kind=component&lifecycle=production&page={}",
                    i % 5 + 1
                )
            }),
        ),
        (
            "explorer, text search",
            Box::new(|i| {
                format!(
                    "/catalog?q=svc-{:05}",
                    (i * 31) % (mix.components / 10).max(1)
                )
            }),
        ),
        ("entity page (component)", Box::new(component)),
        (
            "entity page (group)",
            Box::new(|i| format!("/catalog/group/default/team-{:05}", i % mix.groups.max(1))),
        ),
    ];
    for (name, path) in &pages {
        let mut samples = Vec::with_capacity(requests);
        for i in 0..requests {
            let started = Instant::now();
            let response = client
                .get(format!("{url}{}", path(i)))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            if !status.is_success() {
                bail!("{} answered {status}", path(i));
            }
            samples.push(started.elapsed());
        }
        let summary = summarize(samples);
        println!(
            "portal N={total} {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({requests} requests)",
            summary.median.as_secs_f64() * 1e3,
            summary.p99.as_secs_f64() * 1e3,
            summary.max.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
