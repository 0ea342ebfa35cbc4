//! Backstage's catalog API paths and shapes over real HTTP on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pave_access::Access;
use pave_catalog::{Catalog, CatalogConfig, OrphanStrategy};
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
        CatalogConfig {
            locations: Vec::new(),
            rules: Default::default(),
            orphan_strategy: OrphanStrategy::Delete,
            refresh_interval: Duration::from_secs(3600),
            cache_dir: cache.path().to_path_buf(),
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        pave_server::serve(
            listener,
            access,
            catalog,
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
