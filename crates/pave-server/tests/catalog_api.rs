//! Backstage's catalog API paths and shapes over real HTTP on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;

use pave_access::Access;
use pave_catalog::{Catalog, CatalogConfig};
use pave_server::ServerOptions;
use pave_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Server {
    base: String,
    token: String,
    http: reqwest::Client,
    _database: TestDatabase,
    _cache: tempfile::TempDir,
}

async fn start() -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let database = TestDatabase::create().await.unwrap();
    let store = database.open().await.unwrap();
    let access = Arc::new(Access::open(store.clone()).await.unwrap());
    let token = access.bootstrap().await.unwrap().unwrap().token;
    let cache = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::new(
        store,
        CatalogConfig::quiet(cache.path().to_path_buf()),
    ));
    let data = cache.path().join("data");
    let routes = pave_server::router::RoutingTable::new();
    let engines = pave_server::Engines {
        catalog: Arc::clone(&catalog),
        scaffolder: pave_scaffold::tasks::Scaffolder::new(
            catalog.store().clone(),
            Arc::clone(&catalog),
            pave_scaffold::tasks::ScaffolderConfig::under(&data),
        ),
        deployer: pave_deploy::Deployer::new(
            catalog.store().clone(),
            Arc::clone(&catalog),
            Arc::new(
                pave_runtime::LocalRuntime::new(data.join("runtime"), Default::default()).unwrap(),
            ),
            Arc::new(routes.clone()),
            pave_deploy::DeployConfig::under(&data, 7080),
        ),
        routes,
        webhooks: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        pave_server::serve(
            pave_server::Listeners {
                api: listener,
                router: None,
            },
            access,
            engines,
            ServerOptions::default(),
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    Server {
        base,
        token,
        http: reqwest::Client::new(),
        _database: database,
        _cache: cache,
    }
}

impl Server {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn examples() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage/catalog-model-examples")
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

#[tokio::test]
async fn the_catalog_api_speaks_backstage() {
    let server = start().await;
    let (status, dry) = server
        .send(
            reqwest::Method::POST,
            "/api/catalog/locations?dryRun=true",
            json!({"type": "file", "target": format!("{}/all.yaml", examples())}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dry}");
    assert_eq!(dry["exists"], false);
    assert!(dry["entities"].as_array().unwrap().len() > 30);
    let (status, _) = server
        .get("/api/catalog/entities/by-name/component/default/artist-lookup")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a dry run stores nothing");

    for root in ["all.yaml", "acme-corp.yaml"] {
        let (status, registered) = server
            .send(
                reqwest::Method::POST,
                "/api/catalog/locations",
                json!({"type": "file", "target": format!("{}/{root}", examples())}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        assert!(registered["location"]["id"].is_string());
    }
    let (status, again) = server
        .send(
            reqwest::Method::POST,
            "/api/catalog/locations",
            json!({"type": "file", "target": format!("{}/all.yaml", examples())}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    let (status, entity) = server
        .get("/api/catalog/entities/by-name/Component/default/Artist-Lookup")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entity["metadata"]["name"], "artist-lookup");
    assert!(
        entity["relations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "ownedBy" && r["targetRef"] == "group:default/team-a")
    );
    let uid = entity["metadata"]["uid"].as_str().unwrap().to_string();

    let (_, same) = server
        .get(&format!("/api/catalog/entities/by-uid/{uid}"))
        .await;
    assert_eq!(same["metadata"]["name"], "artist-lookup");

    let (_, list) = server
        .get("/api/catalog/entities?filter=kind=user&filter=kind=group&fields=kind,metadata.name")
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 25);
    assert!(list.iter().all(|e| e.get("spec").is_none()), "fields trims");

    let (_, page) = server
        .get("/api/catalog/entities/by-query?filter=kind=component&limit=4&orderField=metadata.name,asc&fields=metadata.name")
        .await;
    assert_eq!(page["totalItems"], 13);
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let cursor = page["pageInfo"]["nextCursor"].as_str().unwrap();
    let (_, next) = server
        .get(&format!("/api/catalog/entities/by-query?cursor={cursor}"))
        .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 4);
    assert!(
        next["items"][0]["metadata"]["name"].as_str()
            > page["items"][3]["metadata"]["name"].as_str()
    );

    let (_, found) = server
        .get("/api/catalog/entities/by-query?fullTextFilterTerm=artist&fields=metadata.name")
        .await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["metadata"]["name"] == "artist-lookup")
    );

    let (_, facets) = server
        .get("/api/catalog/entity-facets?facet=kind&facet=spec.lifecycle")
        .await;
    assert!(
        facets["facets"]["kind"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["value"] == "User" && f["count"] == 17)
    );

    let (_, refs) = server
        .send(reqwest::Method::POST, "/api/catalog/entities/by-refs", json!({"entityRefs": ["component:default/artist-lookup", "user:default/nobody"], "fields": ["metadata.name"]}))
        .await;
    assert_eq!(refs["items"][0]["metadata"]["name"], "artist-lookup");
    assert!(refs["items"][1].is_null());

    let (_, locations) = server.get("/api/catalog/locations").await;
    assert_eq!(locations.as_array().unwrap().len(), 2);
    let (_, by_entity) = server
        .get("/api/catalog/locations/by-entity/component/default/artist-lookup")
        .await;
    assert!(by_entity["target"].as_str().unwrap().ends_with("all.yaml"));

    let (status, refreshed) = server
        .send(
            reqwest::Method::POST,
            "/api/catalog/refresh",
            json!({"entityRef": "component:default/artist-lookup"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    let (status, invalid) = server
        .send(reqwest::Method::POST, "/api/catalog/validate-entity", json!({"location": "url:x", "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "bad name!"}, "spec": {}}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        invalid["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("metadata.name"),
        "{invalid}"
    );

    let response = server
        .http
        .delete(format!("{}/api/catalog/entities/by-uid/{uid}", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = server
        .get(&format!("/api/catalog/entities/by-uid/{uid}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for bad in [
        "/api/catalog/entities?limit=-1",
        "/api/catalog/entities?colour=red",
        "/api/catalog/entities/by-query?orderField=metadata.name,sideways",
        "/api/catalog/entities/by-query?cursor=zz",
        "/api/catalog/entity-facets",
        "/api/catalog/entities?filter==x",
    ] {
        let (status, answer) = server.get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        assert_eq!(answer["error"]["name"], "InputError");
    }
    let (status, _) = server
        .send(
            reqwest::Method::POST,
            "/api/catalog/locations",
            json!({"type": "file", "target": "relative/path.yaml"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn users_get_their_groups_from_the_catalog_and_never_see_hidden_entities() {
    let server = start().await;
    for root in ["all.yaml", "acme-corp.yaml"] {
        let (status, _) = server
            .send(
                reqwest::Method::POST,
                "/api/catalog/locations",
                json!({"type": "file", "target": format!("{}/{root}", examples())}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Experimental entities are visible to their owners only.
    let policies = r#"
        @id("admins") permit (principal in Pave::Group::"default/admins", action, resource);
        @id("read-platform") permit (principal, action in Pave::Action::"read", resource is Pave::Platform);
        @id("read-entities") permit (principal, action == Pave::Action::"catalog.entity.read", resource is Pave::Entity)
          when { resource.lifecycle != "experimental" || context.isOwner };
        @id("owners-refresh") permit (principal, action == Pave::Action::"catalog.refresh", resource)
          when { context.isOwner };
    "#;
    let (status, answer) = server
        .send(
            reqwest::Method::PUT,
            "/api/v1/policies",
            json!({"source": policies}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, issued) = server
        .send(
            reqwest::Method::POST,
            "/api/v1/tokens",
            json!({"name": "breanna", "principal": "user:default/breanna.davison"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let breanna = Server {
        base: server.base.clone(),
        token: issued["token"].as_str().unwrap().to_string(),
        http: server.http.clone(),
        _database: TestDatabase::create().await.unwrap(),
        _cache: tempfile::tempdir().unwrap(),
    };

    let (_, me) = breanna.get("/api/v1/whoami").await;
    let groups: Vec<&str> = me["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"group:default/team-a"),
        "memberOf from the catalog: {groups:?}"
    );
    assert!(
        groups.contains(&"group:default/backstage"),
        "and the parent group: {groups:?}"
    );

    let (status, _) = breanna
        .get("/api/catalog/entities/by-name/component/default/artist-lookup")
        .await;
    assert_eq!(status, StatusCode::OK, "her team's experimental component");
    let (status, _) = breanna
        .get("/api/catalog/entities/by-name/component/default/podcast-api")
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another team's experimental component is hidden"
    );

    let (_, all) = server
        .get("/api/catalog/entities/by-query?filter=kind=component&limit=100&fields=metadata.name")
        .await;
    let (_, hers) = breanna
        .get("/api/catalog/entities/by-query?filter=kind=component&limit=100&fields=metadata.name")
        .await;
    assert_eq!(all["totalItems"], 13);
    assert_eq!(
        hers["totalItems"], 10,
        "counts leave out what she may not read"
    );
    let names: Vec<&str> = hers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"artist-lookup")
            && !names.contains(&"podcast-api")
            && !names.contains(&"petstore")
    );
    let (_, listed) = breanna
        .get("/api/catalog/entities?filter=kind=component")
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 10);
    let (_, facets) = breanna
        .get("/api/catalog/entity-facets?facet=spec.lifecycle&filter=kind=component")
        .await;
    let experimental = facets["facets"]["spec.lifecycle"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["value"] == "experimental")
        .unwrap();
    assert_eq!(experimental["count"], 1, "facet counts leave them out too");
    let (_, refs) = breanna
        .send(reqwest::Method::POST, "/api/catalog/entities/by-refs", json!({"entityRefs": ["component:default/podcast-api", "component:default/artist-lookup"]}))
        .await;
    assert!(refs["items"][0].is_null() && refs["items"][1].is_object());

    let (status, _) = breanna
        .send(
            reqwest::Method::POST,
            "/api/catalog/refresh",
            json!({"entityRef": "component:default/artist-lookup"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "owners may refresh");
    let (status, _) = breanna
        .send(
            reqwest::Method::POST,
            "/api/catalog/refresh",
            json!({"entityRef": "component:default/searcher"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "others may not");
}
