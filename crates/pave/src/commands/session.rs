//! `pave login`, `pave logout`, `pave whoami`.

use std::io::Read;

use anyhow::{Context, bail};
use reqwest::Method;

use crate::cli::{Global, LoginArgs};
use crate::client::{self, Client, Credentials};
use crate::output;

pub async fn login(global: &Global, args: &LoginArgs) -> anyhow::Result<()> {
    let token = if args.token_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the token from standard input")?;
        text.trim().to_string()
    } else {
        match &global.token {
            Some(token) => token.clone(),
            None => bail!("give the token with --token, PAVE_TOKEN or --token-stdin"),
        }
    };
    let server = global
        .server
        .clone()
        .unwrap_or_else(|| client::DEFAULT_SERVER.to_string());
    let client = Client::new(&server, Some(token.clone()))?;
    // Check the pair works before saving it.
    let me = client.send(Method::GET, "/api/v1/whoami", None).await?;
    let path = client::save_credentials(&Credentials {
        server: client.server.clone(),
        token,
    })?;
    println!(
        "Signed in to {} as {} (saved in {})",
        client.server,
        output::cell(me.get("principal")),
        path.display()
    );
    Ok(())
}

pub fn logout() -> anyhow::Result<()> {
    let path = client::credentials_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => println!("Signed out (removed {})", path.display()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => println!("Not signed in"),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot remove {}", path.display()));
        }
    }
    Ok(())
}

pub async fn whoami(global: &Global) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    let me = client.send(Method::GET, "/api/v1/whoami", None).await?;
    output::print(global.output, &me, |me| {
        output::fields(
            me,
            &[
                ("principal", "principal"),
                ("groups", "groups"),
                ("token", "tokenId"),
            ],
        )
    })
}
