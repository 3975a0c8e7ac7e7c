//! Configurable risk thresholds: the `--risk-*` flags of `cerulean serve`, parsed as the
//! command line parses them, change what the detection engine finds at real sign-ins (a lower
//! spray threshold flags sooner, a longer minimum distance or a higher speed limit suppresses
//! impossible travel, a shorter learning period makes a stranger unfamiliar sooner); unusable values stop `serve`
//! with an error naming the flag.

use axum::http::{Method, StatusCode};
use cerulean_identity::risk::{RiskConfig, parse_ip_list};
use serde_json::Value;

use crate::harness::{Harness, id_of};
use crate::identity_protection::{proxied_harness, sign_in};
use crate::token_lifetimes::serve;

/// The risk configuration of `cerulean serve <flags>` (the anonymizer list aside, as the
/// other Identity Protection tests have it).
fn configured(flags: &[&str]) -> RiskConfig {
    let argv = ["cerulean", "serve"].into_iter().chain(flags.iter().copied());
    let cli = <cerulean::cli::Cli as clap::Parser>::try_parse_from(argv).expect("arguments");
    let cerulean::cli::Command::Serve(args) = cli.command else { panic!("not serve") };
    let thresholds = cerulean::serve::risk_thresholds(&args).expect("valid thresholds");
    RiskConfig { anonymizers: parse_ip_list("192.0.2.0/24").expect("list"), ..thresholds }
}

/// The detections of the tenant, as (riskEventType, userId, additionalInfo).
async fn detections(h: &Harness) -> Vec<(String, String, String)> {
    let token = h.sign(h.claims(&["IdentityRiskEvent.Read.All"])).await;
    let r = h.graph_with(Method::GET, "/v1.0/identityProtection/riskDetections", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_string();
    r.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|d| (text(d, "riskEventType"), text(d, "userId"), text(d, "additionalInfo")))
        .collect()
}

fn kinds(found: &[(String, String, String)]) -> Vec<&str> {
    let mut kinds: Vec<&str> = found.iter().map(|d| d.0.as_str()).collect();
    kinds.sort_unstable();
    kinds
}

/// Three accounts tried with a wrong password from one address; the third victim's id.
async fn spray_three(h: &Harness) -> String {
    let mut last = String::new();
    for i in 0..3 {
        last = id_of(&h.user(&format!("victim{i}"), &format!("Victim {i}")).await);
        let upn = format!("victim{i}@contoso.onmicrosoft.com");
        assert_eq!(sign_in(h, "198.51.100.66", &upn, "Spring2026!", "spray").await, StatusCode::BAD_REQUEST);
    }
    last
}

#[tokio::test]
async fn a_lower_spray_threshold_detects_sooner() {
    // The default (five accounts): three failed accounts are no spray.
    let h = proxied_harness(configured(&[])).await;
    spray_three(&h).await;
    assert_eq!(kinds(&detections(&h).await), Vec::<&str>::new());

    let h = proxied_harness(configured(&["--risk-spray-accounts", "3"])).await;
    let third = spray_three(&h).await;
    let found = detections(&h).await;
    assert_eq!(kinds(&found), ["passwordSpray"], "{found:?}");
    assert_eq!(found[0].1, third, "flagged on the third account");
    assert!(found[0].2.contains("(threshold 3)"), "the detection says why: {}", found[0].2);
}

/// One sign-in of the administrator at home (Oslo), then one from Tokyo seconds later.
async fn home_then_tokyo(h: &Harness) {
    let (admin, password) = (h.boot.admin_user_principal_name.clone(), h.boot.admin_password.clone());
    assert_eq!(sign_in(h, "198.51.100.7", &admin, &password, "home").await, StatusCode::OK);
    assert_eq!(sign_in(h, "203.0.113.9", &admin, &password, "tokyo").await, StatusCode::OK);
}

#[tokio::test]
async fn travel_and_familiarity_thresholds_change_the_detections() {
    // Defaults: ~8400 km in seconds is impossible travel; one sign-in is too little history
    // to call anything unfamiliar (five are needed).
    let h = proxied_harness(configured(&[])).await;
    home_then_tokyo(&h).await;
    assert_eq!(kinds(&detections(&h).await), ["impossibleTravel"]);

    // Trips under 10000 km are never impossible travel: Oslo to Tokyo is one.
    let h = proxied_harness(configured(&["--risk-travel-min-km", "10000"])).await;
    home_then_tokyo(&h).await;
    assert_eq!(kinds(&detections(&h).await), Vec::<&str>::new());

    // A speed limit of 10^9 km/h: Oslo to Tokyo in over a second (~2.7e7 km/h) is plausible.
    let h = proxied_harness(configured(&["--risk-travel-max-kmh", "1000000000"])).await;
    let (admin, password) = (h.boot.admin_user_principal_name.clone(), h.boot.admin_password.clone());
    assert_eq!(sign_in(&h, "198.51.100.7", &admin, &password, "home").await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(sign_in(&h, "203.0.113.9", &admin, &password, "tokyo").await, StatusCode::OK);
    assert_eq!(kinds(&detections(&h).await), Vec::<&str>::new());

    // A one-sign-in learning period: Tokyo's new address, network and country are unfamiliar.
    let h = proxied_harness(configured(&["--risk-learning-sign-ins", "1", "--risk-history-sign-ins", "1"])).await;
    home_then_tokyo(&h).await;
    let found = detections(&h).await;
    assert_eq!(kinds(&found), ["impossibleTravel", "unfamiliarFeatures"], "{found:?}");
    let unfamiliar = found.iter().find(|d| d.0 == "unfamiliarFeatures").expect("unfamiliar");
    assert!(unfamiliar.2.contains("country JP not seen before"), "{}", unfamiliar.2);
    assert!(unfamiliar.2.contains("last 1 successful sign-ins"), "{}", unfamiliar.2);
}

#[test]
fn unusable_risk_thresholds_stop_serve() {
    for (args, expected) in [
        (
            &["--risk-unfamiliar-features", "5"][..],
            "--risk-unfamiliar-features: the unseen features that make a sign-in unfamiliar must be between 1 and 4, got 5",
        ),
        (
            &["--risk-spray-accounts", "1"][..],
            "--risk-spray-accounts: a password spray needs at least 2 accounts, got 1",
        ),
        (&["--risk-spray-window-minutes", "0"][..], "--risk-spray-window-minutes: the password-spray window"),
        (&["--risk-travel-max-kmh", "-5"][..], "--risk-travel-max-kmh: the impossible-travel speed must be a positive"),
        (&["--risk-travel-min-km", "-1"][..], "--risk-travel-min-km"),
        (&["--risk-learning-sign-ins", "0"][..], "--risk-learning-sign-ins"),
        (&["--risk-history-days", "0"][..], "--risk-history-days"),
        (
            &["--risk-learning-sign-ins", "10", "--risk-history-sign-ins", "5"][..],
            "--risk-history-sign-ins: the history must hold between the sign-ins to learn from (10) and 1000",
        ),
        (&["--risk-spray-accounts", "many"][..], "invalid value 'many'"),
    ] {
        let (ok, stderr) = serve(args, &[]);
        assert!(!ok, "{args:?} must not start");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // The environment variable is validated the same way.
    let (ok, stderr) = serve(&[], &[("CERULEAN_RISK_SPRAY_ACCOUNTS", "1")]);
    assert!(!ok);
    assert!(stderr.contains("--risk-spray-accounts"), "{stderr}");
}

/// [`detections`] with a token valid at the server's clock (the tests below move it).
async fn detections_at_clock(h: &Harness) -> Vec<(String, String, String)> {
    let now = cerulean_store::clock::unix_now();
    let mut claims = h.claims(&["IdentityRiskEvent.Read.All"]);
    claims["iat"] = now.into();
    claims["nbf"] = now.into();
    claims["exp"] = (now + 3600).into();
    let token = h.sign(claims).await;
    let r = h.graph_with(Method::GET, "/v1.0/identityProtection/riskDetections", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_string();
    r.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|d| (text(d, "riskEventType"), text(d, "userId"), text(d, "additionalInfo")))
        .collect()
}

// The tests below move the process clock (nextest runs each test in a process of its own),
// as `--emulator-aids` lets a deployment's tests do: elapsed time is what risk is judged on.

#[tokio::test]
async fn travel_is_judged_on_the_time_between_sign_ins() {
    let h = proxied_harness(configured(&[])).await;
    let (admin, password) = (h.boot.admin_user_principal_name.clone(), h.boot.admin_password.clone());
    // Oslo to Tokyo (~8400 km) twelve hours later: 700 km/h, under the 1000 km/h limit.
    assert_eq!(sign_in(&h, "198.51.100.7", &admin, &password, "home").await, StatusCode::OK);
    cerulean_store::clock::advance(12 * 3600);
    assert_eq!(sign_in(&h, "203.0.113.9", &admin, &password, "tokyo").await, StatusCode::OK);
    assert_eq!(kinds(&detections_at_clock(&h).await), Vec::<&str>::new());
    // Back to Oslo two hours later: ~4200 km/h is impossible travel.
    cerulean_store::clock::advance(2 * 3600);
    assert_eq!(sign_in(&h, "198.51.100.7", &admin, &password, "home-again").await, StatusCode::OK);
    let found = detections_at_clock(&h).await;
    assert_eq!(kinds(&found), ["impossibleTravel"], "{found:?}");
}

#[tokio::test]
async fn a_spray_counts_only_inside_its_window() {
    let h = proxied_harness(configured(&["--risk-spray-accounts", "3", "--risk-spray-window-minutes", "60"])).await;
    for i in 0..3 {
        h.user(&format!("victim{i}"), &format!("Victim {i}")).await;
    }
    let attempt = |i: usize| {
        let h = &h;
        async move {
            let upn = format!("victim{i}@contoso.onmicrosoft.com");
            assert_eq!(sign_in(h, "198.51.100.66", &upn, "Spring2026!", "spray").await, StatusCode::BAD_REQUEST);
        }
    };
    attempt(0).await;
    attempt(1).await;
    // The third account an hour and a minute later: the first has left the window.
    cerulean_store::clock::advance(61 * 60);
    attempt(2).await;
    assert_eq!(kinds(&detections_at_clock(&h).await), Vec::<&str>::new());
    // Inside the new window: the same account again is still one account, a second is two,
    // and a third distinct account makes the spray.
    attempt(2).await;
    assert_eq!(kinds(&detections_at_clock(&h).await), Vec::<&str>::new());
    attempt(1).await;
    assert_eq!(kinds(&detections_at_clock(&h).await), Vec::<&str>::new());
    attempt(0).await;
    assert_eq!(kinds(&detections_at_clock(&h).await), ["passwordSpray"]);
}

#[tokio::test]
async fn history_older_than_its_window_is_forgotten() {
    let flags = ["--risk-learning-sign-ins", "1", "--risk-history-sign-ins", "1", "--risk-history-days", "1"];
    let h = proxied_harness(configured(&flags)).await;
    let (admin, password) = (h.boot.admin_user_principal_name.clone(), h.boot.admin_password.clone());
    assert_eq!(sign_in(&h, "198.51.100.7", &admin, &password, "home").await, StatusCode::OK);
    // Two days on, the Oslo sign-in is outside the one-day history: nothing to compare Tokyo
    // with, so nothing is unfamiliar (and 175 km/h is no impossible travel).
    cerulean_store::clock::advance(2 * 86400);
    assert_eq!(sign_in(&h, "203.0.113.9", &admin, &password, "tokyo").await, StatusCode::OK);
    assert_eq!(kinds(&detections_at_clock(&h).await), Vec::<&str>::new());
}
