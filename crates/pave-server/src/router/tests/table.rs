//! The routing table and host names, without the network.

use std::net::SocketAddr;

use crate::router::{HostNameError, Route, RoutingTable, host_for, url_for};

fn port(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn host_for_builds_preview_hosts() {
    assert_eq!(host_for("web", "dev").unwrap(), "web--dev.localhost");
    assert_eq!(host_for("web", "pr-7").unwrap(), "web--pr-7.localhost");
    assert_eq!(host_for("Web", "PR-7").unwrap(), "web--pr-7.localhost");
    assert_eq!(host_for("a1", "2b").unwrap(), "a1--2b.localhost");
    assert_eq!(
        url_for("web--dev.localhost", 7080),
        "http://web--dev.localhost:7080/"
    );
    assert_eq!(
        url_for("web--dev.localhost", 80),
        "http://web--dev.localhost/"
    );
}

#[test]
fn host_for_refuses_names_that_are_not_labels() {
    assert!(matches!(
        host_for("", "dev"),
        Err(HostNameError::Empty { part: "workload" })
    ));
    assert!(matches!(
        host_for("web", ""),
        Err(HostNameError::Empty {
            part: "environment"
        })
    ));
    for bad in ["web_app", "web.app", "web app", "wéb", "web/x", "web:1"] {
        assert!(
            matches!(
                host_for(bad, "dev"),
                Err(HostNameError::InvalidCharacter { .. })
            ),
            "{bad} was accepted"
        );
    }
    assert!(matches!(
        host_for("-web", "dev"),
        Err(HostNameError::EdgeHyphen { .. })
    ));
    assert!(matches!(
        host_for("web", "dev-"),
        Err(HostNameError::EdgeHyphen { .. })
    ));
    assert!(matches!(
        host_for("web--api", "dev"),
        Err(HostNameError::DoubleHyphen { .. })
    ));
    let long = "a".repeat(64);
    assert!(matches!(
        host_for(&long, "dev"),
        Err(HostNameError::TooLong { length: 64, .. })
    ));
    assert!(matches!(
        host_for("web", &long),
        Err(HostNameError::TooLong { length: 64, .. })
    ));
    // Each name fits, but together they are one label of 65 characters.
    let error = host_for(&"w".repeat(30), &"e".repeat(33)).unwrap_err();
    assert!(matches!(
        error,
        HostNameError::LabelTooLong { length: 65, .. }
    ));
    assert!(error.to_string().contains("shorten"), "{error}");
    // An environment may contain "--": the host still splits one way.
    assert_eq!(host_for("web", "pr--7").unwrap(), "web--pr--7.localhost");
    assert!(host_for(&"w".repeat(30), &"e".repeat(31)).is_ok());
}

#[test]
fn router_table_resolves_hosts_ignoring_case_port_and_trailing_dot() {
    let table = RoutingTable::new();
    table.set_environment(
        "dev",
        vec![Route::new("Web--Dev.localhost", port(1), "web")],
    );
    for host in [
        "web--dev.localhost",
        "WEB--DEV.LOCALHOST",
        "web--dev.localhost:7080",
        "web--dev.localhost.",
        "web--dev.localhost.:7080",
    ] {
        let upstream = table.resolve(host, "/").unwrap_or_else(|| panic!("{host}"));
        assert_eq!(upstream.address, port(1));
        assert_eq!(&*upstream.workload, "web");
        assert_eq!(&*upstream.environment, "dev");
    }
    assert!(table.resolve("web--prod.localhost", "/").is_none());
    assert!(table.resolve("", "/").is_none());
    assert!(table.resolve("[::1]:7080", "/").is_none());
}

#[test]
fn router_table_longest_prefix_wins_on_segment_boundaries() {
    let table = RoutingTable::new();
    table.set_environment(
        "dev",
        vec![
            Route::new("shop.localhost", port(1), "front"),
            Route::new("shop.localhost", port(2), "api").with_path_prefix("/api/"),
            Route::new("shop.localhost", port(3), "api-v2").with_path_prefix("api/v2"),
        ],
    );
    let resolved = |path: &str| table.resolve("shop.localhost", path).unwrap().address;
    assert_eq!(resolved("/"), port(1));
    assert_eq!(resolved("/apix"), port(1));
    assert_eq!(resolved("/api"), port(2));
    assert_eq!(resolved("/api/"), port(2));
    assert_eq!(resolved("/api/v1/users"), port(2));
    assert_eq!(resolved("/api/v2"), port(3));
    assert_eq!(resolved("/api/v2/users"), port(3));
    assert_eq!(resolved("/api/v20"), port(2));

    // Without a root route, other paths are unknown.
    table.set_environment(
        "dev",
        vec![Route::new("shop.localhost", port(2), "api").with_path_prefix("/api")],
    );
    assert!(table.resolve("shop.localhost", "/").is_none());
    assert_eq!(resolved("/api/x"), port(2));
}

#[test]
fn router_table_replaces_and_removes_whole_environments() {
    let table = RoutingTable::new();
    table.set_environment(
        "dev",
        vec![
            Route::new("web--dev.localhost", port(1), "web"),
            Route::new("api--dev.localhost", port(2), "api"),
        ],
    );
    table.set_environment(
        "pr-7",
        vec![Route::new("web--pr-7.localhost", port(3), "web")],
    );
    // The new set replaces the old one whole: api is gone, web moved.
    table.set_environment(
        "dev",
        vec![Route::new("web--dev.localhost", port(4), "web")],
    );
    assert_eq!(
        table.resolve("web--dev.localhost", "/").unwrap().address,
        port(4)
    );
    assert!(table.resolve("api--dev.localhost", "/").is_none());
    assert_eq!(
        table.resolve("web--pr-7.localhost", "/").unwrap().address,
        port(3)
    );

    let routes = table.routes();
    let listed: Vec<(&str, &str, &str)> = routes
        .iter()
        .map(|(environment, route)| {
            (
                environment.as_str(),
                route.host.as_str(),
                route.path_prefix.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("dev", "web--dev.localhost", "/"),
            ("pr-7", "web--pr-7.localhost", "/")
        ]
    );

    table.remove_environment("pr-7");
    table.remove_environment("never-existed");
    assert!(table.resolve("web--pr-7.localhost", "/").is_none());
    assert_eq!(table.routes().len(), 1);
    // Clones share one table.
    let clone = table.clone();
    clone.remove_environment("dev");
    assert!(table.routes().is_empty());
}

#[test]
fn router_table_keeps_a_contested_route_with_its_first_environment() {
    let table = RoutingTable::new();
    table.set_environment(
        "staging",
        vec![Route::new("shop.localhost", port(1), "web")],
    );
    table.set_environment("pr-9", vec![Route::new("shop.localhost", port(2), "web")]);
    assert_eq!(
        &*table.resolve("shop.localhost", "/").unwrap().environment,
        "staging"
    );
    // Redeploying the first owner keeps its claim.
    table.set_environment(
        "staging",
        vec![Route::new("shop.localhost", port(3), "web")],
    );
    assert_eq!(
        table.resolve("shop.localhost", "/").unwrap().address,
        port(3)
    );
    // Once it lets go, the other environment gets the host.
    table.remove_environment("staging");
    assert_eq!(
        table.resolve("shop.localhost", "/").unwrap().address,
        port(2)
    );
    // Routes without a host are skipped.
    table.set_environment("broken", vec![Route::new(" ", port(5), "web")]);
    assert!(
        table
            .routes()
            .iter()
            .all(|(environment, _)| environment != "broken")
    );
}
