//! Access against a real database: SQLite by default, PostgreSQL when
//! `PAVE_TEST_DATABASE_URL` is set (see `scripts/test`).

use std::sync::Arc;

use pave_access::{
    Access, AccessError, Action, Actor, AuditFilter, AuthenticationError, DeploymentTarget,
    GroupRef, NewToken, PolicyError, PrincipalRef, RequestContext, ResourceRef,
};
use pave_store::testing::TestDatabase;
use pave_store::{Store, StoreError};

async fn open() -> (TestDatabase, Access) {
    let database = TestDatabase::create().await.expect("create test database");
    let store = database.open().await.expect("open test database");
    let access = Access::open(store).await.expect("open access");
    (database, access)
}

fn actor() -> Actor {
    Actor {
        principal: "user:default/admin".into(),
        request_id: Some("test-request".into()),
    }
}

fn alice_token() -> NewToken {
    NewToken {
        name: "alice laptop".into(),
        principal: PrincipalRef::parse("user:default/alice").unwrap(),
        groups: vec![GroupRef::parse("group:default/team-a").unwrap()],
        expires_at: None,
    }
}

#[tokio::test]
async fn bootstrap_creates_one_admin_token_once() {
    let (_database, access) = open().await;
    let first = access
        .bootstrap()
        .await
        .unwrap()
        .expect("first start creates a token");
    assert!(access.bootstrap().await.unwrap().is_none());
    let principal = access.authenticate(&first.token).await.unwrap();
    assert_eq!(principal.reference.to_string(), "user:default/admin");
    assert!(principal.is_in("group:default/admins"));
    // Only the hash is stored.
    let stored: Vec<String> = pave_store::query_scalar("SELECT secret_hash FROM api_tokens")
        .fetch_all(access.store().pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!first.token.contains(&stored[0]));
    assert!(!stored[0].contains(first.token.rsplit('_').next().unwrap()));
}

#[tokio::test]
async fn tokens_can_be_listed_revoked_and_expire() {
    let (_database, access) = open().await;
    let issued = access.create_token(alice_token(), &actor()).await.unwrap();
    let listed = access.list_tokens(false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].principal, "user:default/alice");
    let listed_json = serde_json::to_string(&listed).unwrap();
    assert!(
        !listed_json.contains(&issued.token),
        "lists never show the secret"
    );

    let alice = access.authenticate(&issued.token).await.unwrap();
    assert_eq!(alice.token_id.as_deref(), Some(issued.record.id.as_str()));

    access
        .revoke_token(&issued.record.id, &actor())
        .await
        .unwrap();
    assert!(matches!(
        access.authenticate(&issued.token).await,
        Err(AuthenticationError::Revoked(_))
    ));
    assert!(access.list_tokens(false).await.unwrap().is_empty());
    assert_eq!(access.list_tokens(true).await.unwrap()[0].status, "revoked");

    let soon = pave_store::now() + jiff::SignedDuration::from_millis(300);
    let expiring = access
        .create_token(
            NewToken {
                expires_at: Some(soon),
                ..alice_token()
            },
            &actor(),
        )
        .await
        .unwrap();
    assert!(access.authenticate(&expiring.token).await.is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(matches!(
        access.authenticate(&expiring.token).await,
        Err(AuthenticationError::Expired { .. })
    ));

    // Change the secret's last digit (to another digit: a random secret
    // ends in '0' one time in sixteen).
    let mut wrong = issued.token.clone();
    let last = wrong.pop();
    wrong.push(if last == Some('0') { '1' } else { '0' });
    assert!(matches!(
        access.authenticate(&wrong).await,
        Err(AuthenticationError::Invalid)
    ));
    assert!(matches!(
        access.authenticate("nonsense").await,
        Err(AuthenticationError::Invalid)
    ));
}

#[tokio::test]
async fn bad_token_input_is_refused_and_nothing_is_stored() {
    let (_database, access) = open().await;
    let error = access
        .create_token(
            NewToken {
                name: "  ".into(),
                ..alice_token()
            },
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().starts_with("name:"), "{error}");
    let past = pave_store::now() - jiff::SignedDuration::from_secs(5);
    let error = access
        .create_token(
            NewToken {
                expires_at: Some(past),
                ..alice_token()
            },
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("in the past"), "{error}");
    assert!(access.list_tokens(true).await.unwrap().is_empty());
    assert!(
        access
            .audit(&AuditFilter::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(matches!(
        access.revoke_token("0000000000000000", &actor()).await,
        Err(AccessError::NotFound(_))
    ));
}

#[tokio::test]
async fn invalid_policies_are_refused_and_the_old_ones_keep_working() {
    let (_database, access) = open().await;
    let admin = pave_access::Principal {
        reference: PrincipalRef::parse("user:default/admin").unwrap(),
        groups: vec![GroupRef::parse("group:default/admins").unwrap()],
        token_id: None,
    };
    let before = access.authorizer().snapshot();
    let error = access
        .set_policies(
            "permit (principal in Pave::Gruop::\"x\", action, resource);",
            None,
            &actor(),
        )
        .await
        .unwrap_err();
    let AccessError::Policy(PolicyError::Invalid { diagnostics }) = error else {
        panic!("expected diagnostics, got {error}");
    };
    assert!(diagnostics[0].message.contains("Gruop"), "{diagnostics:?}");
    let after = access.authorizer().snapshot();
    assert_eq!(after.version, before.version);
    assert!(
        access
            .decide(&admin, Action::PolicyWrite, &ResourceRef::Platform)
            .allowed
    );
    // The stored set did not change either: a reload sees the old version.
    let reopened = Access::open(access.store().clone()).await.unwrap();
    assert_eq!(reopened.authorizer().snapshot().source, before.source);
}

#[tokio::test]
async fn concurrent_policy_writes_never_lose_an_update() {
    let (_database, access) = open().await;
    let access = Arc::new(access);
    let base = access.authorizer().snapshot().version;
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let access = Arc::clone(&access);
        tasks.push(tokio::spawn(async move {
            let source = format!(
                "@id(\"writer-{writer}\") permit (principal in Pave::Group::\"default/admins\", action, resource);"
            );
            access.set_policies(&source, Some(base), &actor()).await
        }));
    }
    let mut won = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(snapshot) => {
                won += 1;
                assert_eq!(snapshot.version, base + 1);
            }
            Err(AccessError::Store(StoreError::Conflict { expected, found })) => {
                conflicts += 1;
                assert_eq!(expected, base);
                assert_eq!(found, base + 1);
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((won, conflicts), (1, 7));
    let page = access
        .audit(&AuditFilter {
            action: Some("policy.write".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.items.len(),
        1,
        "only the write that happened is in the log"
    );
}

#[tokio::test]
async fn another_replica_sees_policy_changes_on_refresh() {
    let (database, first) = open().await;
    let second = Access::open(
        Store::open(&database.url, &Default::default())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    first
        .set_policies(
            pave_access::policy_store::EMERGENCY_POLICIES,
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert!(second.refresh_policies().await.unwrap());
    assert_eq!(second.authorizer().snapshot().version, 2);
    assert!(!second.refresh_policies().await.unwrap());
}

#[tokio::test]
async fn the_audit_log_pages_and_filters() {
    let (_database, access) = open().await;
    for index in 0..7 {
        access
            .create_token(
                NewToken {
                    name: format!("t{index}"),
                    ..alice_token()
                },
                &actor(),
            )
            .await
            .unwrap();
    }
    access
        .record(pave_access::NewEvent {
            principal: "anonymous".into(),
            action: "token.list".into(),
            resource: "platform".into(),
            outcome: pave_access::Outcome::Unauthenticated,
            request_id: Some("r-1".into()),
            detail: serde_json::json!({}),
        })
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut filter = AuditFilter {
        limit: Some(3),
        action: Some("token.create".into()),
        ..Default::default()
    };
    loop {
        let page = access.audit(&filter).await.unwrap();
        seen.extend(page.items.iter().map(|event| event.seq));
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, vec![7, 6, 5, 4, 3, 2, 1]);
    let refused = access
        .audit(&AuditFilter {
            outcome: Some("unauthenticated".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(refused.items.len(), 1);
    assert_eq!(refused.items[0].request_id.as_deref(), Some("r-1"));
    for bad in [
        AuditFilter {
            outcome: Some("maybe".into()),
            ..Default::default()
        },
        AuditFilter {
            since: Some("yesterday".into()),
            ..Default::default()
        },
        AuditFilter {
            cursor: Some("abc".into()),
            ..Default::default()
        },
        AuditFilter {
            limit: Some(0),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            access.audit(&bad).await,
            Err(AccessError::Input(_))
        ));
    }
    let future = access
        .audit(&AuditFilter {
            since: Some("2999-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(future.items.is_empty());
}

async fn three_events(access: &Access) {
    for index in 0..3 {
        access
            .create_token(
                NewToken {
                    name: format!("t{index}"),
                    ..alice_token()
                },
                &actor(),
            )
            .await
            .unwrap();
    }
    assert!(access.verify_audit().await.unwrap().intact);
}

#[tokio::test]
async fn verify_names_an_altered_event() {
    let (_database, access) = open().await;
    three_events(&access).await;
    pave_store::query("UPDATE audit_events SET principal = 'user:default/mallory' WHERE seq = 2")
        .execute(access.store().pool())
        .await
        .unwrap();
    let report = access.verify_audit().await.unwrap();
    let problem = report.problem.expect("the chain is broken");
    assert!(!report.intact);
    assert_eq!((problem.seq, problem.kind.as_str()), (2, "altered"));
    assert!(problem.message.contains("event 2"), "{}", problem.message);
}

#[tokio::test]
async fn verify_names_a_removed_event() {
    let (_database, access) = open().await;
    three_events(&access).await;
    pave_store::query("DELETE FROM audit_events WHERE seq = 2")
        .execute(access.store().pool())
        .await
        .unwrap();
    let problem = access.verify_audit().await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind.as_str()), (2, "removed"));
}

#[tokio::test]
async fn verify_notices_the_newest_event_removed() {
    let (_database, access) = open().await;
    three_events(&access).await;
    pave_store::query("DELETE FROM audit_events WHERE seq = 3")
        .execute(access.store().pool())
        .await
        .unwrap();
    let problem = access.verify_audit().await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind.as_str()), (3, "removed"));
}

#[tokio::test]
async fn verify_notices_a_rehashed_forgery() {
    // Someone who edits a row and recomputes its own hash still breaks the
    // link from the next event.
    let (_database, access) = open().await;
    three_events(&access).await;
    pave_store::query("UPDATE audit_events SET hash = 'forged' WHERE seq = 1")
        .execute(access.store().pool())
        .await
        .unwrap();
    let problem = access.verify_audit().await.unwrap().problem.unwrap();
    assert_eq!(problem.seq, 1);
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let (_database, access) = open().await;
    let access = Arc::new(access);
    let mut tasks = Vec::new();
    for index in 0..24 {
        let access = Arc::clone(&access);
        tasks.push(tokio::spawn(async move {
            access
                .create_token(
                    NewToken {
                        name: format!("t{index}"),
                        ..alice_token()
                    },
                    &actor(),
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let report = access.verify_audit().await.unwrap();
    assert!(report.intact, "{:?}", report.problem);
    assert_eq!(report.checked, 24);
}

/// A portal session acts as its token: it resumes until it is ended, and
/// revoking the token ends it too. Its expiry is checked on the server.
#[tokio::test]
async fn sessions_resume_end_and_die_with_their_token() {
    let (_database, access) = open().await;
    let issued = access.create_token(alice_token(), &actor()).await.unwrap();
    let started = access.start_session(&issued.token).await.unwrap();
    assert_eq!(
        started.principal.reference.to_string(),
        "user:default/alice"
    );
    assert_eq!(started.cookie.len(), 64);
    let (principal, session) = access.resume_session(&started.cookie).await.unwrap();
    assert_eq!(principal.reference.to_string(), "user:default/alice");
    assert_eq!(session.csrf, started.session.csrf);
    assert!(matches!(
        access.resume_session(&"0".repeat(64)).await,
        Err(AuthenticationError::Invalid)
    ));
    assert!(matches!(
        access.resume_session("not-a-cookie").await,
        Err(AuthenticationError::Invalid)
    ));
    assert!(matches!(
        access.start_session("pave_bad").await,
        Err(AuthenticationError::Invalid)
    ));

    // Ended: gone.
    access.end_session(&started.cookie).await.unwrap();
    assert!(access.resume_session(&started.cookie).await.is_err());

    // Revoking the token ends its other sessions at their next request.
    let second = access.start_session(&issued.token).await.unwrap();
    access
        .revoke_token(&issued.record.id, &actor())
        .await
        .unwrap();
    assert!(matches!(
        access.resume_session(&second.cookie).await,
        Err(AuthenticationError::Revoked(_))
    ));

    // An expired session is refused even though its token is fine.
    let other = access.create_token(alice_token(), &actor()).await.unwrap();
    let third = access.start_session(&other.token).await.unwrap();
    pave_store::query("UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z'")
        .execute(access.store().pool())
        .await
        .unwrap();
    assert!(matches!(
        access.resume_session(&third.cookie).await,
        Err(AuthenticationError::SessionExpired)
    ));
}

/// The seeded defaults: anyone may run templates, a task is its creator's
/// (and the admins'), and resolving a task leaves it to the scaffolder.
#[tokio::test]
async fn seeded_defaults_keep_tasks_to_their_creators() {
    let (_database, access) = open().await;
    let alice =
        pave_access::Principal::parse("user:default/alice", &["group:default/team-a".to_string()])
            .unwrap();
    let admin =
        pave_access::Principal::parse("user:default/admin", &["admins".to_string()]).unwrap();
    assert!(
        access
            .decide(
                &alice,
                Action::ScaffolderTemplateRun,
                &ResourceRef::Platform
            )
            .allowed
    );
    assert!(
        access
            .decide(&alice, Action::ScaffolderTaskList, &ResourceRef::Platform)
            .allowed
    );
    let parsed = ResourceRef::parse("task:abc").unwrap();
    let resolved = access.resolve(parsed.clone()).await.unwrap();
    assert_eq!(resolved, parsed);
    let task = |created_by: &str| ResourceRef::Task {
        id: "abc".into(),
        created_by: created_by.into(),
        template: "template:default/python-service".into(),
    };
    for action in [Action::ScaffolderTaskRead, Action::ScaffolderTaskCancel] {
        assert!(
            access
                .decide(&alice, action, &task("user:default/alice"))
                .allowed
        );
        assert!(
            !access
                .decide(&alice, action, &task("user:default/bob"))
                .allowed
        );
        assert!(
            access
                .decide(&admin, action, &task("user:default/bob"))
                .allowed
        );
    }
    assert_eq!(
        access
            .authorizer()
            .uniform_entity_decision(&alice, Action::CatalogEntityRead),
        Some(true)
    );
}

/// The seeded defaults: owners deploy their components outside production
/// and open previews of them; anyone makes development and preview
/// environments; production and staging are for admins.
#[tokio::test]
async fn seeded_defaults_let_owners_deploy_outside_production() {
    let (_database, access) = open().await;
    let alice =
        pave_access::Principal::parse("user:default/alice", &["group:default/team-a".to_string()])
            .unwrap();
    let bob = pave_access::Principal::parse("user:default/bob", &[]).unwrap();
    let admin =
        pave_access::Principal::parse("user:default/admin", &["admins".to_string()]).unwrap();
    let shop = ResourceRef::Entity(Box::new(pave_access::EntityAttributes {
        reference: "component:default/shop".into(),
        kind: "component".into(),
        namespace: "default".into(),
        name: "shop".into(),
        owner: "group:default/team-a".into(),
        ..Default::default()
    }));
    let to = |name: &str, environment_type: &str| {
        RequestContext::from(DeploymentTarget::new(name, environment_type))
    };
    let deploy = |who: &pave_access::Principal, context: &RequestContext| {
        access
            .decide_with_context(who, Action::DeploymentCreate, &shop, context)
            .allowed
    };
    assert!(deploy(&alice, &to("dev", "development")));
    assert!(deploy(&alice, &to("staging", "staging")));
    assert!(!deploy(&alice, &to("prod", "production")));
    assert!(!deploy(&bob, &to("dev", "development")));
    assert!(deploy(&admin, &to("prod", "production")));
    let preview = to("shop-pr-7", "preview");
    assert!(
        access
            .decide_with_context(&alice, Action::PreviewCreate, &shop, &preview)
            .allowed
    );
    assert!(
        !access
            .decide_with_context(&bob, Action::PreviewCreate, &shop, &preview)
            .allowed
    );

    // The environment's type comes from whoever knows the environments.
    let parsed = ResourceRef::parse("environment:sandbox").unwrap();
    assert_eq!(access.resolve(parsed.clone()).await.unwrap(), parsed);
    let environment = |environment_type: &str| ResourceRef::Environment {
        name: "sandbox".into(),
        environment_type: environment_type.into(),
    };
    for action in [Action::EnvironmentCreate, Action::EnvironmentDelete] {
        assert!(
            access
                .decide(&bob, action, &environment("development"))
                .allowed
        );
        assert!(access.decide(&bob, action, &environment("preview")).allowed);
        assert!(!access.decide(&bob, action, &environment("staging")).allowed);
        assert!(
            !access
                .decide(&bob, action, &environment("production"))
                .allowed
        );
        assert!(
            access
                .decide(&admin, action, &environment("production"))
                .allowed
        );
        assert!(!access.decide(&admin, action, &parsed).allowed);
    }
    for action in [Action::EnvironmentRead, Action::DeploymentRead] {
        assert!(access.decide(&bob, action, &ResourceRef::Platform).allowed);
    }
}

#[tokio::test]
async fn untouched_defaults_of_an_earlier_version_are_upgraded_and_changed_ones_kept() {
    let earlier_versions = [
        include_str!("../policies/previous/default-1.cedar"),
        include_str!("../policies/previous/default-2.cedar"),
    ];
    for earlier in earlier_versions {
        assert_ne!(earlier, pave_access::policy::DEFAULT_POLICIES);
        let database = TestDatabase::create().await.expect("create test database");
        let store = database.open().await.expect("open test database");
        pave_store::query(
            "INSERT INTO policy_sets (name, source, version, updated_at, updated_by) VALUES ('active', $1, 1, '2026-01-01T00:00:00Z', $2)",
        )
        .bind(earlier)
        .bind(pave_access::policy_store::SYSTEM_PRINCIPAL)
        .execute(store.pool())
        .await
        .expect("seed earlier defaults");
        let access = Access::open(store.clone()).await.expect("open access");
        let snapshot = access.authorizer().snapshot();
        assert_eq!(snapshot.source, pave_access::policy::DEFAULT_POLICIES);
        assert_eq!(snapshot.version, 2);
        assert_eq!(
            snapshot.updated_by,
            pave_access::policy_store::SYSTEM_PRINCIPAL
        );
        // The new actions work on the upgraded server.
        let alice = pave_access::Principal::parse("user:default/alice", &[]).unwrap();
        let sandbox = ResourceRef::Environment {
            name: "sandbox".into(),
            environment_type: "development".into(),
        };
        assert!(
            access
                .decide(&alice, Action::EnvironmentCreate, &sandbox)
                .allowed
        );
        // Opening again changes nothing more.
        let again = Access::open(store.clone()).await.expect("open access");
        assert_eq!(again.authorizer().snapshot().version, 2);

        // The same text saved by a person is theirs: it stays.
        let database = TestDatabase::create().await.expect("create test database");
        let store = database.open().await.expect("open test database");
        pave_store::query(
            "INSERT INTO policy_sets (name, source, version, updated_at, updated_by) VALUES ('active', $1, 4, '2026-01-01T00:00:00Z', 'user:default/admin')",
        )
        .bind(earlier)
        .execute(store.pool())
        .await
        .expect("seed a saved set");
        let access = Access::open(store).await.expect("open access");
        assert_eq!(access.authorizer().snapshot().source, earlier);
        assert_eq!(access.authorizer().snapshot().version, 4);
    }
}
