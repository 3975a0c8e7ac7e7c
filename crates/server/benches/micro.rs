//! Micro-benchmarks (issue 8 item 6): the pieces every hot request path is made of, measured
//! without a network or a load generator, so a regression shows as a number that does not
//! depend on what else the machine is doing.
//!
//! - `odata`: the `$filter` parser (`cerulean_query::parse_filter`);
//! - `rules`: the dynamic-membership rule parser and evaluator;
//! - `tokens`: RS256 signing, a first verification (signature checked) and a repeated one
//!   (served by the validated-token cache);
//! - `membership`: transitive `memberOf` and `checkMemberGroups` over a generated graph of
//!   100,000 users in 10,000 groups nested 6 deep (DESIGN.md's budget: p99 under 2 ms);
//! - `http`: whole requests through the real router (`GET /v1.0/users/{id}`,
//!   `transitiveMemberOf`, `checkMemberGroups`) over an embedded store, in process, and the
//!   directory's two ways of answering a transitive query (the object's document read first,
//!   the pre-hot-path way, against the graph-only way), to keep both measurable.
//!
//! `cargo bench -p cerulean --bench micro` times them; `cargo test -p cerulean --benches`
//! (in `scripts/test.sh`) runs each once, as a test, with no timing asserted. Under
//! `valgrind --tool=callgrind` one benchmark with `--sample-count 1 --sample-size N` gives a
//! deterministic instruction count per iteration (see BENCHMARKS.md).

use std::hint::black_box;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cerulean::app::App;
use cerulean_directory::membership::{Direction, MembershipIndex};
use cerulean_directory::rules::{Rule, Subject, SubjectKind};
use cerulean_identity::{ClaimExpectations, HeaderStyle, Signer, SigningKey, Verifier, generate_signing_key};
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use uuid::Uuid;

fn main() {
    divan::main();
}

mod odata {
    use super::*;

    const FILTERS: &[&str] = &[
        "startswith(displayName,'Adele')",
        "accountEnabled eq true and (department eq 'Sales' or startswith(mail,'a')) and not(jobTitle eq 'CEO')",
        "assignedLicenses/any(l:l/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900) and createdDateTime ge 2024-01-01T00:00:00Z",
    ];

    #[divan::bench(args = FILTERS)]
    fn parse_filter(text: &str) {
        black_box(cerulean_query::parse_filter(black_box(text)).ok());
    }
}

mod rules {
    use super::*;

    const RULE: &str = r#"(user.department -eq "Sales" -or user.department -startsWith "Mark") -and user.accountEnabled -eq true -and user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled") -and -not (user.jobTitle -in ["Intern","Contractor"])"#;

    static PARSED: LazyLock<Rule> = LazyLock::new(|| Rule::parse(RULE).expect("the benchmark rule parses"));
    static DOC: LazyLock<Map<String, Value>> = LazyLock::new(|| {
        let doc = json!({
            "department": "Marketing", "accountEnabled": true, "jobTitle": "Manager",
            "assignedPlans": [
                {"servicePlanId": "113feb6c-3fe4-4440-bddc-54d774bf0318", "capabilityStatus": "Enabled"},
                {"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "capabilityStatus": "Enabled"}
            ]
        });
        doc.as_object().cloned().unwrap_or_default()
    });

    #[divan::bench]
    fn parse() {
        black_box(Rule::parse(black_box(RULE)).ok());
    }

    #[divan::bench]
    fn evaluate() {
        let subject = Subject { kind: SubjectKind::User, id: Uuid::from_u128(7), doc: &DOC, member_of: &[] };
        assert!(black_box(&*PARSED).matches(black_box(&subject)));
    }
}

mod tokens {
    use super::*;

    const ISSUER: &str = "https://cerulean.bench/tenant/v2.0";

    struct Keys {
        signer: Signer,
        key: Arc<SigningKey>,
        token: String,
        expected: ClaimExpectations,
    }

    static KEYS: LazyLock<Keys> = LazyLock::new(|| {
        let record = generate_signing_key().expect("an RSA key");
        let key = Arc::new(SigningKey::from_record(&record).expect("the key loads"));
        let signer = Signer::new(key.clone());
        let token = signer.sign(&claims(), HeaderStyle::KidOnly).expect("signs");
        let expected = ClaimExpectations {
            issuers: vec![ISSUER.into()],
            audiences: vec!["https://graph.microsoft.com".into()],
            ..ClaimExpectations::default()
        };
        Keys { signer, key, token, expected }
    });

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn claims() -> Map<String, Value> {
        let now = now();
        let v = json!({
            "aud": "https://graph.microsoft.com", "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 3600,
            "tid": Uuid::from_u128(1).to_string(), "oid": Uuid::from_u128(2).to_string(),
            "roles": ["User.Read.All", "Group.Read.All"], "ver": "2.0",
        });
        v.as_object().cloned().unwrap_or_default()
    }

    #[divan::bench]
    fn sign(b: divan::Bencher) {
        let claims = claims();
        b.bench(|| black_box(KEYS.signer.sign(black_box(&claims), HeaderStyle::KidOnly).ok()));
    }

    /// A token seen for the first time: the RSA signature is checked.
    #[divan::bench]
    fn verify_first(b: divan::Bencher) {
        let verifier = Verifier::for_keys([&*KEYS.key], 0);
        b.bench(|| black_box(verifier.verify(black_box(&KEYS.token), &KEYS.expected, now()).ok()));
    }

    /// A token seen before: a cache hit, the claims re-checked.
    #[divan::bench]
    fn verify_cached(b: divan::Bencher) {
        let verifier = Verifier::for_keys([&*KEYS.key], 1024);
        assert!(verifier.verify(&KEYS.token, &KEYS.expected, now()).is_ok());
        b.bench(|| black_box(verifier.verify(black_box(&KEYS.token), &KEYS.expected, now()).ok()));
    }
}

mod membership {
    use super::*;

    const USERS: u128 = 100_000;
    const GROUPS: usize = 10_000;
    const DEPTH: usize = 6;

    /// The generated directory: groups in [`DEPTH`] levels (level `l` holding a share
    /// proportional to 2^l, each group below the top nested in one group of the level above),
    /// every user in one leaf group and two pseudo-random groups (bench.sh's shape).
    struct Generated {
        index: MembershipIndex,
        users: Vec<Uuid>,
        groups: Vec<Uuid>,
    }

    static GENERATED: LazyLock<Generated> = LazyLock::new(generate);

    fn generate() -> Generated {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let weight: usize = (0..DEPTH).map(|l| 1 << l).sum();
        let mut levels: Vec<Vec<Uuid>> = Vec::new();
        let mut groups = Vec::with_capacity(GROUPS);
        for l in 0..DEPTH {
            let count = (GROUPS * (1 << l) / weight).max(1);
            let level: Vec<Uuid> = (0..count).map(|i| Uuid::from_u128(((l as u128 + 1) << 64) | i as u128)).collect();
            groups.extend(&level);
            levels.push(level);
        }
        let mut edges: Vec<(Uuid, Uuid, bool)> = Vec::new();
        for l in 1..DEPTH {
            for &g in &levels[l] {
                let parent = levels[l - 1][next(levels[l - 1].len())];
                edges.push((parent, g, false));
            }
        }
        let leaves = &levels[DEPTH - 1];
        let users: Vec<Uuid> = (0..USERS).map(|i| Uuid::from_u128((1 << 100) | i)).collect();
        for &u in &users {
            let mut mine = vec![leaves[next(leaves.len())]];
            while mine.len() < 3 {
                let g = groups[next(groups.len())];
                if !mine.contains(&g) {
                    mine.push(g);
                }
            }
            edges.extend(mine.into_iter().map(|g| (g, u, true)));
        }
        let index = MembershipIndex::from_edges(
            edges.into_iter().map(|(g, m, user)| (g, "group", m, if user { "user" } else { "group" })),
        );
        Generated { index, users, groups }
    }

    #[divan::bench]
    fn transitive_member_of(b: divan::Bencher) {
        let g = &*GENERATED;
        let mut i = 0usize;
        b.bench_local(|| {
            i = (i + 7919) % g.users.len();
            black_box(g.index.transitive_ids(g.users[i], Direction::MemberOf, &[]))
        });
    }

    #[divan::bench]
    fn check_member_groups(b: divan::Bencher) {
        let g = &*GENERATED;
        let candidates: Vec<Uuid> = g.groups.iter().step_by(GROUPS / 20).copied().take(20).collect();
        let mut i = 0usize;
        b.bench_local(|| {
            i = (i + 7919) % g.users.len();
            black_box(g.index.check_member_of(g.users[i], &candidates, true))
        });
    }

    /// The group at the top of the nesting: its transitive members are a sizeable share of
    /// the directory (the worst case of `transitiveMembers`).
    #[divan::bench]
    fn transitive_members_of_a_top_group() -> usize {
        let g = &*GENERATED;
        g.index.transitive_ids(g.groups[0], Direction::Members, &["user"]).len()
    }
}

mod http {
    use super::*;

    const PUBLIC_URL: &str = "https://cerulean.bench";

    /// One tenant over the embedded store: a user in the leaf of a chain of six nested groups.
    struct Server {
        rt: tokio::runtime::Runtime,
        app: App,
        tenant: Uuid,
        token: String,
        user: String,
        groups: Vec<String>,
        /// The bootstrap application's `client_credentials` form (client_secret_post).
        client_form: String,
        /// A password sign-in (ROPC) of the bootstrap administrator with that application.
        password_form: String,
        _dir: TempDir,
    }

    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    static SERVER: LazyLock<Server> = LazyLock::new(start);

    async fn call(app: &App, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).expect("request");
        let res = app.service::<Body>().oneshot(req).await.expect("infallible");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 24).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    fn start() -> Server {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = TempDir(std::env::temp_dir().join(format!("cerulean-bench-{}", Uuid::new_v4())));
        std::fs::create_dir_all(&dir.0).expect("temp dir");
        let (app, tenant, token, user, groups, client_form, password_form) = rt.block_on(async {
            let store: Arc<dyn cerulean_store::Store> = Arc::new(
                cerulean_store::SqliteStore::open(&dir.0.join("cerulean.db"), &cerulean_directory::index_specs())
                    .expect("store"),
            );
            let app = App::new(store.clone(), PUBLIC_URL);
            let (boot, _) = cerulean::bootstrap::ensure(
                &app.directory,
                &app.tokens,
                store.as_ref(),
                &dir.0,
                "contoso.onmicrosoft.com",
                PUBLIC_URL,
                None,
            )
            .await
            .expect("bootstrap");
            let boot = boot.expect("credentials");
            app.set_ready();
            let form = serde_urlencoded::to_string([
                ("grant_type", "client_credentials"),
                ("client_id", boot.client_id.as_str()),
                ("client_secret", boot.client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .expect("form");
            let req = Request::post(format!("/{}/oauth2/v2.0/token", boot.tenant_id))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form.clone()))
                .expect("request");
            let res = app.service::<Body>().oneshot(req).await.expect("infallible");
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
            let reply: Value = serde_json::from_slice(&bytes).expect("token reply");
            let token = reply["access_token"].as_str().expect("access_token").to_string();
            let (status, created) = call(
                &app,
                Method::POST,
                "/v1.0/users",
                &token,
                Some(json!({
                    "accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "adele",
                    "userPrincipalName": "adele@contoso.onmicrosoft.com",
                    "passwordProfile": {"password": "Bench-Passw0rd!x", "forceChangePasswordNextSignIn": false}
                })),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let user = created["id"].as_str().expect("user id").to_string();
            let mut groups: Vec<String> = Vec::new();
            let mut member = user.clone();
            for level in 0..6 {
                let (status, g) = call(
                    &app,
                    Method::POST,
                    "/v1.0/groups",
                    &token,
                    Some(json!({
                        "displayName": format!("Level {level}"), "mailNickname": format!("level{level}"),
                        "mailEnabled": false, "securityEnabled": true
                    })),
                )
                .await;
                assert_eq!(status, StatusCode::CREATED, "{g}");
                let id = g["id"].as_str().expect("group id").to_string();
                let reference =
                    json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}") });
                let (status, body) =
                    call(&app, Method::POST, &format!("/v1.0/groups/{id}/members/$ref"), &token, Some(reference)).await;
                assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
                member = id.clone();
                groups.push(id);
            }
            let tenant: Uuid = boot.tenant_id.parse().expect("tenant id");
            let password_form = serde_urlencoded::to_string([
                ("grant_type", "password"),
                ("client_id", boot.client_id.as_str()),
                ("client_secret", boot.client_secret.as_str()),
                ("username", boot.admin_user_principal_name.as_str()),
                ("password", boot.admin_password.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .expect("form");
            (app, tenant, token, user, groups, form, password_form)
        });
        Server { rt, app, tenant, token, user, groups, client_form, password_form, _dir: dir }
    }

    fn expect_ok(s: &Server, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, reply) = s.rt.block_on(call(&s.app, method, path, &s.token, body));
        assert_eq!(status, StatusCode::OK, "{path}: {reply}");
        reply
    }

    #[divan::bench]
    fn get_user(b: divan::Bencher) {
        let s = &*SERVER;
        let path = format!("/v1.0/users/{}", s.user);
        b.bench_local(|| black_box(expect_ok(s, Method::GET, &path, None)));
    }

    #[divan::bench]
    fn transitive_member_of(b: divan::Bencher) {
        let s = &*SERVER;
        let path = format!("/v1.0/users/{}/transitiveMemberOf", s.user);
        assert_eq!(expect_ok(s, Method::GET, &path, None)["value"].as_array().map(Vec::len), Some(6));
        b.bench_local(|| black_box(expect_ok(s, Method::GET, &path, None)));
    }

    #[divan::bench]
    fn member_of(b: divan::Bencher) {
        let s = &*SERVER;
        let path = format!("/v1.0/users/{}/memberOf", s.user);
        assert_eq!(expect_ok(s, Method::GET, &path, None)["value"].as_array().map(Vec::len), Some(1));
        b.bench_local(|| black_box(expect_ok(s, Method::GET, &path, None)));
    }

    #[divan::bench]
    fn check_member_groups(b: divan::Bencher) {
        let s = &*SERVER;
        let path = format!("/v1.0/users/{}/checkMemberGroups", s.user);
        let body = json!({ "groupIds": [s.groups[0], s.groups[5], Uuid::from_u128(9).to_string()] });
        assert_eq!(expect_ok(s, Method::POST, &path, Some(body.clone()))["value"].as_array().map(Vec::len), Some(2));
        b.bench_local(|| black_box(expect_ok(s, Method::POST, &path, Some(body.clone()))));
    }

    /// `POST /{tenant}/oauth2/v2.0/token` with this form; the access token's length.
    fn token(s: &Server, form: &str) -> usize {
        s.rt.block_on(async {
            let req = Request::post(format!("/{}/oauth2/v2.0/token", s.tenant))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form.to_string()))
                .expect("request");
            let res = s.app.service::<Body>().oneshot(req).await.expect("infallible");
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
            let reply: Value = serde_json::from_slice(&bytes).expect("token reply");
            reply["access_token"].as_str().map_or(0, str::len)
        })
    }

    /// Client-credentials issuance (issue 8's budget: 0.75 of the raw RS256 signing rate):
    /// the whole endpoint, its sign-in log record included.
    #[divan::bench]
    fn token_client_credentials(b: divan::Bencher) {
        let s = &*SERVER;
        b.bench_local(|| black_box(token(s, &s.client_form)));
    }

    /// A password sign-in (ROPC): bound by one argon2id verification.
    #[divan::bench(sample_count = 3, sample_size = 2)]
    fn token_password(b: divan::Bencher) {
        let s = &*SERVER;
        b.bench_local(|| black_box(token(s, &s.password_form)));
    }

    /// The directory's answer the way the routes answered before the hot-path change: the
    /// object's document read (and parsed) to prove it live, then the walk.
    #[divan::bench]
    fn directory_find_then_walk(b: divan::Bencher) {
        let s = &*SERVER;
        let d = &s.app.directory;
        b.bench_local(|| {
            s.rt.block_on(async {
                let user = d.find(s.tenant, "user", &s.user).await.expect("user");
                black_box(d.transitive_ids(s.tenant, user.id, Direction::MemberOf, &[]).await.expect("walk"))
            })
        });
    }

    /// The same answer from the membership graph alone (the subject known live by its edges).
    #[divan::bench]
    fn directory_walk_by_key(b: divan::Bencher) {
        let s = &*SERVER;
        let d = &s.app.directory;
        b.bench_local(|| {
            s.rt.block_on(async {
                black_box(d.transitive_ids_of(s.tenant, "user", &s.user, Direction::MemberOf, &[]).await.expect("walk"))
            })
        });
    }
}
