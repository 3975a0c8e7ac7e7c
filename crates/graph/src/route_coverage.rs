//! Every protected route has a permission rule.
//!
//! The authorization middleware ([`crate::auth::authorize`]) refuses a call whose route has no
//! rule in [`crate::authz_table`] or [`crate::authz_supplement`], so a route added without one
//! would answer 403 to every token. axum does not list a router's routes, so this test reads
//! the route table from this crate's source (`lib.rs`, the `protected` router) and checks each
//! method and path against the two tables — the same lookup the middleware makes.

/// `(method, path)` for every `.route(...)` of the `protected` router in `source`.
fn protected_routes(source: &str) -> Vec<(String, String)> {
    let start = source.find("let protected = Router::new()").expect("the protected router");
    let end = start + source[start..].find(".route_layer(").expect("the protected router's layers");
    let block = &source[start..end];
    let mut routes = Vec::new();
    let mut rest = block;
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route(".len()..];
        // The call's arguments: up to the parenthesis that closes `.route(`.
        let mut depth = 1usize;
        let mut close = call.len();
        for (i, c) in call.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &call[..close];
        let open_quote = args.find('"').expect("a route path literal");
        let path_len = args[open_quote + 1..].find('"').expect("the path literal's end");
        let path = &args[open_quote + 1..open_quote + 1 + path_len];
        let handlers = &args[open_quote + 1 + path_len + 1..];
        for (method, calls) in [
            ("GET", ["get(", ".get("]),
            ("POST", ["post(", ".post("]),
            ("PATCH", ["patch(", ".patch("]),
            ("PUT", ["put(", ".put("]),
            ("DELETE", ["delete(", ".delete("]),
        ] {
            let named = handlers.match_indices(calls[0]).any(|(i, _)| {
                // `get(`, `.get(` or `routing::get(`, not the tail of another identifier.
                i == 0 || !handlers[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            if named || handlers.contains(calls[1]) {
                routes.push((method.to_string(), path.to_string()));
            }
        }
        rest = &call[close..];
    }
    routes
}

#[test]
fn every_protected_route_has_a_permission_rule() {
    let routes = protected_routes(include_str!("lib.rs"));
    assert!(routes.len() > 200, "the route reader found only {} routes", routes.len());
    let missing: Vec<String> = routes
        .iter()
        .filter(|(method, path)| {
            let reference = crate::auth::reference_path(path);
            let aliased = crate::authz_supplement::alias(&reference).unwrap_or(&reference);
            crate::authz_table::lookup(method, aliased).is_none()
                && crate::authz_supplement::lookup(method, aliased).is_none()
        })
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(missing.is_empty(), "protected routes without a permission rule:\n{}", missing.join("\n"));
}

#[test]
fn the_route_reader_sees_methods_and_multi_line_routes() {
    let source = r#"
    let protected = Router::new()
        .route("/a", get(x::y).post(x::z))
        .route(
            "/b/{id}",
            get(f).patch(g).delete(h),
        )
        .route("/c/$ref", axum::routing::delete(remove))
        .route_layer(m);
    "#;
    let routes = protected_routes(source);
    let want: Vec<(String, String)> = [
        ("GET", "/a"),
        ("POST", "/a"),
        ("GET", "/b/{id}"),
        ("PATCH", "/b/{id}"),
        ("DELETE", "/b/{id}"),
        ("DELETE", "/c/$ref"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(routes, want);
}
