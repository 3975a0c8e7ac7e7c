//! Risk detection over the sign-in stream: the decisions Identity Protection makes, as pure
//! functions of one attempt, the user's history and the operator's lists, so every detection is
//! explainable (each carries the reasons it fired) and testable without a server.
//!
//! What each detection decides (thresholds are [`RiskConfig`], defaults in brackets; `serve`
//! sets them with its `--risk-*` flags):
//!
//! - `anonymizedIPAddress` (medium, realtime): the address is in the anonymizer list (Tor exits,
//!   anonymising VPNs).
//! - `maliciousIPAddress` (high, offline): the address is in the malicious list.
//! - `unfamiliarFeatures` (realtime): once the user has [5] successful sign-ins to learn from,
//!   a sign-in whose address, autonomous system, country and browser are each compared with
//!   that history; [3] or more unseen features is medium, all four high.
//! - `impossibleTravel` (medium, offline): the distance from the user's previous located
//!   sign-in is at least [500] km and needs more than [1000] km/h.
//! - `passwordSpray` (high, offline): the address tried [5] or more distinct accounts with
//!   failed passwords in the last [60] minutes.
//! - `leakedCredentials` (high, offline, user-linked): the password is in the leaked-password
//!   list, which holds SHA-1 digests (the format of public breach corpora) so the list never
//!   holds a clear password and the check never stores one.

use std::collections::HashSet;
use std::net::IpAddr;

pub use ipnetwork::IpNetwork;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::location::Location;

/// A risk level as Graph spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RiskLevel {
    None,
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// Graph's `detectionTimingType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Realtime,
    Offline,
}

impl Timing {
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Realtime => "realtime",
            Timing::Offline => "offline",
        }
    }
}

/// The operator's thresholds and lists.
#[derive(Debug, Clone)]
pub struct RiskConfig {
    /// Successful sign-ins needed before a user's features are considered known.
    pub learning_sign_ins: usize,
    /// Unseen features (of address, ASN, country, browser) that make a sign-in unfamiliar.
    pub unfamiliar_features: usize,
    /// How far back (days) a user's history of successful sign-ins reaches.
    pub history_days: i64,
    /// The most recent successful sign-ins the history holds: what counts as familiar.
    pub history_sign_ins: usize,
    /// A trip faster than this (km/h) is impossible travel.
    pub max_travel_kmh: f64,
    /// Trips shorter than this (km) are never impossible travel (location databases are coarse).
    pub min_travel_km: f64,
    /// Distinct accounts with failed passwords from one address that make a password spray.
    pub spray_accounts: usize,
    /// The window (minutes) those failures are counted in.
    pub spray_window_minutes: i64,
    pub anonymizers: Vec<IpNetwork>,
    pub malicious: Vec<IpNetwork>,
    /// SHA-1 digests of leaked passwords.
    pub leaked_passwords: HashSet<[u8; 20]>,
}

impl Default for RiskConfig {
    fn default() -> RiskConfig {
        RiskConfig {
            learning_sign_ins: 5,
            unfamiliar_features: 3,
            history_days: 90,
            history_sign_ins: 50,
            max_travel_kmh: 1000.0,
            min_travel_km: 500.0,
            spray_accounts: 5,
            spray_window_minutes: 60,
            anonymizers: Vec::new(),
            malicious: Vec::new(),
            leaked_passwords: HashSet::new(),
        }
    }
}

/// A threshold a deployment cannot use, refused at start-up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("the successful sign-ins to learn from must be at least 1, got {0}")]
    LearningSignIns(usize),
    #[error("the unseen features that make a sign-in unfamiliar must be between 1 and 4, got {0}")]
    UnfamiliarFeatures(usize),
    #[error("the history must reach back between 1 and 3650 days, got {0}")]
    HistoryDays(i64),
    #[error("the history must hold between the sign-ins to learn from ({learning}) and 1000 sign-ins, got {got}")]
    HistorySignIns { got: usize, learning: usize },
    #[error("the impossible-travel speed must be a positive number of km/h, got {0}")]
    TravelSpeed(f64),
    #[error("the impossible-travel distance must be zero or more km, got {0}")]
    TravelDistance(f64),
    #[error("a password spray needs at least 2 accounts, got {0}")]
    SprayAccounts(usize),
    #[error("the password-spray window must be between 1 and 1440 minutes, got {0}")]
    SprayWindow(i64),
}

impl RiskConfig {
    /// The configuration, or the first threshold that cannot work: a spray of one account is
    /// every typo, a history shorter than the learning period never learns, and a negative or
    /// non-finite speed makes every trip impossible.
    pub fn validated(self) -> Result<RiskConfig, ThresholdError> {
        if self.learning_sign_ins < 1 {
            return Err(ThresholdError::LearningSignIns(self.learning_sign_ins));
        }
        if !(1..=4).contains(&self.unfamiliar_features) {
            return Err(ThresholdError::UnfamiliarFeatures(self.unfamiliar_features));
        }
        if !(1..=3650).contains(&self.history_days) {
            return Err(ThresholdError::HistoryDays(self.history_days));
        }
        if !(self.learning_sign_ins..=1000).contains(&self.history_sign_ins) {
            return Err(ThresholdError::HistorySignIns {
                got: self.history_sign_ins,
                learning: self.learning_sign_ins,
            });
        }
        if !(self.max_travel_kmh.is_finite() && self.max_travel_kmh > 0.0) {
            return Err(ThresholdError::TravelSpeed(self.max_travel_kmh));
        }
        if !(self.min_travel_km.is_finite() && self.min_travel_km >= 0.0) {
            return Err(ThresholdError::TravelDistance(self.min_travel_km));
        }
        if self.spray_accounts < 2 {
            return Err(ThresholdError::SprayAccounts(self.spray_accounts));
        }
        if !(1..=1440).contains(&self.spray_window_minutes) {
            return Err(ThresholdError::SprayWindow(self.spray_window_minutes));
        }
        Ok(self)
    }
}

/// What is known of one sign-in, this one or one of the user's history.
#[derive(Debug, Clone)]
pub struct SignInFacts {
    pub at: OffsetDateTime,
    pub ip: IpAddr,
    pub location: Option<Location>,
    /// The browser family (`Chrome 120` → `Chrome`), as the sign-in log's `deviceDetail`.
    pub browser: Option<String>,
}

/// One detection and why it fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub risk_event_type: &'static str,
    pub level: RiskLevel,
    pub timing: Timing,
    /// Plain sentences: what was compared with what.
    pub reasons: Vec<String>,
}

impl Finding {
    /// Graph's `additionalInfo`: a JSON text of key/value pairs, as Entra writes it.
    pub fn additional_info(&self) -> String {
        let pairs: Vec<Value> = self.reasons.iter().map(|r| json!({"Key": "reason", "Value": r})).collect();
        Value::Array(pairs).to_string()
    }
}

/// The detections of one attempt. `history` is the user's earlier successful sign-ins, newest
/// first; `spray_accounts` the distinct accounts this address failed passwords for within the
/// spray window (this attempt's included).
pub fn detect(
    config: &RiskConfig,
    attempt: &SignInFacts,
    history: &[SignInFacts],
    spray_accounts: usize,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let ip = attempt.ip.to_canonical();
    if let Some(net) = config.anonymizers.iter().find(|n| n.contains(ip)) {
        found.push(Finding {
            risk_event_type: "anonymizedIPAddress",
            level: RiskLevel::Medium,
            timing: Timing::Realtime,
            reasons: vec![format!("{ip} is in the anonymizer list ({net})")],
        });
    }
    if let Some(net) = config.malicious.iter().find(|n| n.contains(ip)) {
        found.push(Finding {
            risk_event_type: "maliciousIPAddress",
            level: RiskLevel::High,
            timing: Timing::Offline,
            reasons: vec![format!("{ip} is in the malicious address list ({net})")],
        });
    }
    if let Some(f) = unfamiliar(config, attempt, history) {
        found.push(f);
    }
    if let Some(f) = travel(config, attempt, history) {
        found.push(f);
    }
    if spray_accounts >= config.spray_accounts {
        found.push(Finding {
            risk_event_type: "passwordSpray",
            level: RiskLevel::High,
            timing: Timing::Offline,
            reasons: vec![format!(
                "{ip} tried {spray_accounts} accounts with failed passwords within {} minutes (threshold {})",
                config.spray_window_minutes, config.spray_accounts
            )],
        });
    }
    found
}

fn unfamiliar(config: &RiskConfig, attempt: &SignInFacts, history: &[SignInFacts]) -> Option<Finding> {
    if history.len() < config.learning_sign_ins {
        return None;
    }
    let loc = |f: &SignInFacts| f.location.clone().unwrap_or_default();
    let here = loc(attempt);
    let mut reasons = Vec::new();
    let mut compared = 0;
    if !history.iter().any(|h| h.ip.to_canonical() == attempt.ip.to_canonical()) {
        reasons.push(format!("address {} not seen before", attempt.ip.to_canonical()));
    }
    compared += 1;
    if let Some(asn) = here.asn {
        compared += 1;
        if !history.iter().any(|h| loc(h).asn == Some(asn)) {
            reasons.push(format!("network AS{asn} not seen before"));
        }
    }
    if let Some(country) = &here.country_or_region {
        compared += 1;
        if !history.iter().any(|h| loc(h).country_or_region.as_ref() == Some(country)) {
            reasons.push(format!("country {country} not seen before"));
        }
    }
    if let Some(browser) = &attempt.browser {
        compared += 1;
        if !history.iter().any(|h| h.browser.as_ref() == Some(browser)) {
            reasons.push(format!("browser {browser} not seen before"));
        }
    }
    if reasons.len() < config.unfamiliar_features {
        return None;
    }
    let level = if reasons.len() == compared && compared >= 4 { RiskLevel::High } else { RiskLevel::Medium };
    reasons.push(format!("compared with the user's last {} successful sign-ins", history.len()));
    Some(Finding { risk_event_type: "unfamiliarFeatures", level, timing: Timing::Realtime, reasons })
}

fn travel(config: &RiskConfig, attempt: &SignInFacts, history: &[SignInFacts]) -> Option<Finding> {
    let (lat, lon) = coordinates(attempt)?;
    let previous = history.iter().find(|h| coordinates(h).is_some())?;
    let (plat, plon) = coordinates(previous)?;
    let km = haversine_km(plat, plon, lat, lon);
    if km < config.min_travel_km {
        return None;
    }
    let hours = (attempt.at - previous.at).as_seconds_f64() / 3600.0;
    // Simultaneous (or clock-skewed) sign-ins that far apart are as impossible as it gets.
    let speed = if hours <= 0.0 { f64::INFINITY } else { km / hours };
    if speed <= config.max_travel_kmh {
        return None;
    }
    let place = |f: &SignInFacts| {
        let l = f.location.clone().unwrap_or_default();
        l.city.or(l.country_or_region).unwrap_or_else(|| f.ip.to_string())
    };
    Some(Finding {
        risk_event_type: "impossibleTravel",
        level: RiskLevel::Medium,
        timing: Timing::Offline,
        reasons: vec![format!(
            "{:.0} km from {} to {} in {:.1} minutes needs {} km/h (limit {:.0})",
            km,
            place(previous),
            place(attempt),
            hours * 60.0,
            if speed.is_finite() { format!("{speed:.0}") } else { "unbounded".into() },
            config.max_travel_kmh
        )],
    })
}

fn coordinates(f: &SignInFacts) -> Option<(f64, f64)> {
    let l = f.location.as_ref()?;
    Some((l.latitude?, l.longitude?))
}

/// Great-circle distance on a sphere of the Earth's mean radius.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// What is known of one sign-in of a service principal as itself (client credentials, a
/// managed identity): this one or one of its history.
#[derive(Debug, Clone)]
pub struct WorkloadFacts {
    pub at: OffsetDateTime,
    pub ip: IpAddr,
    pub location: Option<Location>,
    /// The client's User-Agent family (`python-requests 2.31` → `python-requests`).
    pub user_agent: Option<String>,
    /// The resource the token was for (its appId or identifier).
    pub resource: Option<String>,
    /// The kind of credential proven (Graph beta's `clientCredentialType`: `clientSecret`,
    /// `certificate`, `federatedIdentityCredential`, `managedIdentity`).
    pub credential_type: Option<String>,
}

/// The detections of one service principal sign-in, with Microsoft's workload identity risk
/// event types (all offline, as Entra computes them):
///
/// - `investigationsThreatIntelligence` (high): the address is in the malicious list — activity
///   consistent with known attack patterns.
/// - `suspiciousSignins`: once the service principal has [`RiskConfig::learning_sign_ins`]
///   successful sign-ins to learn from, a sign-in whose address, hosting (autonomous system,
///   country), client (User-Agent family), target resource and kind of credential (a secret
///   where it always used a certificate or a federated assertion) are compared with that history;
///   [`RiskConfig::unfamiliar_features`] or more unseen properties is medium, all of at least
///   four compared high. A sign-in from the anonymizer list is suspicious on its own (medium).
///
/// `history` is the service principal's earlier successful sign-ins, newest first.
pub fn detect_workload(config: &RiskConfig, attempt: &WorkloadFacts, history: &[WorkloadFacts]) -> Vec<Finding> {
    let mut found = Vec::new();
    let ip = attempt.ip.to_canonical();
    if let Some(net) = config.malicious.iter().find(|n| n.contains(ip)) {
        found.push(Finding {
            risk_event_type: "investigationsThreatIntelligence",
            level: RiskLevel::High,
            timing: Timing::Offline,
            reasons: vec![format!("{ip} is in the malicious address list ({net})")],
        });
    }
    let mut level = RiskLevel::None;
    let mut reasons = Vec::new();
    if let Some(net) = config.anonymizers.iter().find(|n| n.contains(ip)) {
        level = RiskLevel::Medium;
        reasons.push(format!("{ip} is in the anonymizer list ({net})"));
    }
    if history.len() >= config.learning_sign_ins {
        let loc = |f: &WorkloadFacts| f.location.clone().unwrap_or_default();
        let here = loc(attempt);
        let mut unseen = Vec::new();
        let mut compared = 1;
        if !history.iter().any(|h| h.ip.to_canonical() == ip) {
            unseen.push(format!("address {ip} not seen before"));
        }
        if let Some(asn) = here.asn {
            compared += 1;
            if !history.iter().any(|h| loc(h).asn == Some(asn)) {
                unseen.push(format!("network AS{asn} not seen before"));
            }
        }
        if let Some(country) = &here.country_or_region {
            compared += 1;
            if !history.iter().any(|h| loc(h).country_or_region.as_ref() == Some(country)) {
                unseen.push(format!("country {country} not seen before"));
            }
        }
        if let Some(agent) = &attempt.user_agent {
            compared += 1;
            if !history.iter().any(|h| h.user_agent.as_ref() == Some(agent)) {
                unseen.push(format!("client {agent} not seen before"));
            }
        }
        if let Some(resource) = &attempt.resource {
            compared += 1;
            if !history.iter().any(|h| h.resource.as_ref() == Some(resource)) {
                unseen.push(format!("resource {resource} not accessed before"));
            }
        }
        if let Some(kind) = &attempt.credential_type {
            compared += 1;
            if !history.iter().any(|h| h.credential_type.as_ref() == Some(kind)) {
                unseen.push(format!("credential type {kind} not used before"));
            }
        }
        if unseen.len() >= config.unfamiliar_features {
            let unfamiliar =
                if unseen.len() == compared && compared >= 4 { RiskLevel::High } else { RiskLevel::Medium };
            level = level.max(unfamiliar);
            reasons.extend(unseen);
            reasons.push(format!("compared with the service principal's last {} successful sign-ins", history.len()));
        }
    }
    if level > RiskLevel::None {
        found.push(Finding { risk_event_type: "suspiciousSignins", level, timing: Timing::Offline, reasons });
    }
    found
}

/// Whether `password` is in the leaked list, compared by SHA-1 digest.
pub fn is_leaked(config: &RiskConfig, password: &str) -> bool {
    if config.leaked_passwords.is_empty() {
        return false;
    }
    config.leaked_passwords.contains(&leaked_digest(password))
}

/// The `leakedCredentials` detection for a password found in the list.
pub fn leaked_credentials() -> Finding {
    Finding {
        risk_event_type: "leakedCredentials",
        level: RiskLevel::High,
        timing: Timing::Offline,
        reasons: vec!["the password used matches an entry of the leaked-credentials list".into()],
    }
}

/// The digest a leaked-credentials list holds for `password` (SHA-1, as breach corpora publish
/// them).
pub fn leaked_digest(password: &str) -> [u8; 20] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Parses a leaked-password list: one SHA-1 digest per line in hex (upper or lower case), an
/// optional `:count` suffix as breach corpora write it; blank lines and `#` comments skipped.
pub fn parse_leaked_list(text: &str) -> Result<HashSet<[u8; 20]>, (usize, String)> {
    let mut set = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let hex = line.split(':').next().unwrap_or_default();
        let mut digest = [0u8; 20];
        if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err((i + 1, "not a 40-digit SHA-1 hex digest".into()));
        }
        for (j, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * j..2 * j + 2], 16).map_err(|e| (i + 1, e.to_string()))?;
        }
        set.insert(digest);
    }
    Ok(set)
}

/// Parses an address list (anonymizers, malicious): one address or CIDR range per line,
/// blank lines and `#` comments skipped.
pub fn parse_ip_list(text: &str) -> Result<Vec<IpNetwork>, (usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(n, l)| l.parse::<IpNetwork>().map_err(|_| (n, format!("'{l}' is not an IP address or CIDR range"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    fn facts(minutes: i64, ip: &str, country: &str, asn: u32, browser: &str, coords: (f64, f64)) -> SignInFacts {
        SignInFacts {
            at: at(minutes),
            ip: ip.parse().expect("ip"),
            location: Some(Location {
                country_or_region: Some(country.into()),
                asn: Some(asn),
                latitude: Some(coords.0),
                longitude: Some(coords.1),
                ..Location::default()
            }),
            browser: Some(browser.into()),
        }
    }

    const OSLO: (f64, f64) = (59.91, 10.75);
    const TOKYO: (f64, f64) = (35.68, 139.69);

    fn oslo_history(n: usize) -> Vec<SignInFacts> {
        (0..n).map(|i| facts(-(i as i64) * 600 - 600, "198.51.100.7", "NO", 64500, "Chrome", OSLO)).collect()
    }

    fn types(found: &[Finding]) -> Vec<&'static str> {
        found.iter().map(|f| f.risk_event_type).collect()
    }

    #[test]
    fn a_familiar_sign_in_is_not_risky() {
        let found =
            detect(&RiskConfig::default(), &facts(0, "198.51.100.7", "NO", 64500, "Chrome", OSLO), &oslo_history(6), 0);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn unfamiliar_features_need_a_learned_history_and_enough_new_features() {
        let cfg = RiskConfig::default();
        // Far away and long after: unfamiliar, but travel is plausible (days later).
        let stranger = facts(60 * 24 * 3, "203.0.113.9", "JP", 64999, "Firefox", TOKYO);
        let found = detect(&cfg, &stranger, &oslo_history(6), 0);
        assert_eq!(types(&found), ["unfamiliarFeatures"]);
        assert_eq!(found[0].level, RiskLevel::High);
        assert!(found[0].reasons.iter().any(|r| r.contains("country JP")), "{:?}", found[0].reasons);
        // Still learning: nothing to compare with.
        assert!(detect(&cfg, &stranger, &oslo_history(4), 0).is_empty());
        // A new address and browser only (same network and country): two features, not enough.
        let new_laptop = facts(60, "198.51.100.99", "NO", 64500, "Edge", OSLO);
        assert!(detect(&cfg, &new_laptop, &oslo_history(6), 0).is_empty());
        // Three of four: medium.
        let roaming = facts(60 * 24 * 3, "203.0.113.9", "SE", 64999, "Chrome", (59.33, 18.06));
        let found = detect(&cfg, &roaming, &oslo_history(6), 0);
        assert_eq!((types(&found), found[0].level), (vec!["unfamiliarFeatures"], RiskLevel::Medium));
    }

    #[test]
    fn travel_faster_than_a_plane_is_impossible() {
        let cfg = RiskConfig::default();
        let history = oslo_history(1);
        // Oslo to Tokyo (~8400 km) in 70 minutes.
        let found = detect(&cfg, &facts(-530, "203.0.113.9", "JP", 64999, "Chrome", TOKYO), &history, 0);
        assert!(types(&found).contains(&"impossibleTravel"), "{found:?}");
        let reason = &found.iter().find(|f| f.risk_event_type == "impossibleTravel").expect("travel").reasons[0];
        assert!(reason.contains("km/h"), "{reason}");
        // The same trip a day later is a flight.
        assert!(detect(&cfg, &facts(60 * 24, "203.0.113.9", "JP", 64999, "Chrome", TOKYO), &history, 0).is_empty());
        // Short hops are never travel, however fast.
        let near = facts(-599, "203.0.113.9", "NO", 64500, "Chrome", (59.95, 10.80));
        assert!(detect(&cfg, &near, &history, 0).is_empty());
        assert!((haversine_km(OSLO.0, OSLO.1, TOKYO.0, TOKYO.1) - 8_420.0).abs() < 100.0);
    }

    #[test]
    fn lists_and_sprays() {
        let cfg = RiskConfig {
            anonymizers: parse_ip_list("# tor\n203.0.113.0/24\n").expect("list"),
            malicious: parse_ip_list("192.0.2.66").expect("list"),
            ..RiskConfig::default()
        };
        let tor = facts(0, "203.0.113.9", "NO", 64500, "Chrome", OSLO);
        assert_eq!(types(&detect(&cfg, &tor, &[], 0)), ["anonymizedIPAddress"]);
        let bad = facts(0, "::ffff:192.0.2.66", "NO", 64500, "Chrome", OSLO);
        let found = detect(&cfg, &bad, &[], 0);
        assert_eq!((types(&found), found[0].level), (vec!["maliciousIPAddress"], RiskLevel::High));
        assert!(detect(&cfg, &facts(0, "198.51.100.1", "NO", 1, "Chrome", OSLO), &[], 4).is_empty());
        assert_eq!(types(&detect(&cfg, &facts(0, "198.51.100.1", "NO", 1, "Chrome", OSLO), &[], 5)), ["passwordSpray"]);
        assert_eq!(parse_ip_list("10.0.0.0/8\nnope").expect_err("bad").0, 2);
    }

    #[test]
    fn thresholds_are_validated() {
        assert!(RiskConfig::default().validated().is_ok());
        let bad = |c: RiskConfig| c.validated().expect_err("refused");
        assert_eq!(
            bad(RiskConfig { unfamiliar_features: 5, ..RiskConfig::default() }),
            ThresholdError::UnfamiliarFeatures(5)
        );
        assert_eq!(
            bad(RiskConfig { history_sign_ins: 4, ..RiskConfig::default() }),
            ThresholdError::HistorySignIns { got: 4, learning: 5 }
        );
        assert!(matches!(
            bad(RiskConfig { max_travel_kmh: f64::NAN, ..RiskConfig::default() }),
            ThresholdError::TravelSpeed(_)
        ));
        assert_eq!(bad(RiskConfig { spray_accounts: 1, ..RiskConfig::default() }), ThresholdError::SprayAccounts(1));
        assert_eq!(
            bad(RiskConfig { spray_window_minutes: 0, ..RiskConfig::default() }),
            ThresholdError::SprayWindow(0)
        );
    }

    fn workload(minutes: i64, ip: &str, country: &str, asn: u32, agent: &str, resource: &str) -> WorkloadFacts {
        WorkloadFacts {
            at: at(minutes),
            ip: ip.parse().expect("ip"),
            location: Some(Location { country_or_region: Some(country.into()), asn: Some(asn), ..Location::default() }),
            user_agent: Some(agent.into()),
            resource: Some(resource.into()),
            credential_type: None,
        }
    }

    #[test]
    fn a_new_kind_of_credential_from_a_new_host_is_suspicious() {
        let cfg = RiskConfig::default();
        let with = |f: WorkloadFacts, kind: &str| WorkloadFacts { credential_type: Some(kind.into()), ..f };
        let history: Vec<WorkloadFacts> = (0..5)
            .map(|i| with(workload(-i * 60, "198.51.100.7", "NO", 64500, "azsdk", "graph"), "certificate"))
            .collect();
        // The usual certificate from a new network in the same country: two unseen, nothing.
        let same = with(workload(1, "198.51.100.8", "NO", 64999, "azsdk", "graph"), "certificate");
        assert!(detect_workload(&cfg, &same, &history).is_empty());
        // A secret where it always used a certificate, from that new network: three unseen.
        let secret = with(workload(1, "198.51.100.8", "NO", 64999, "azsdk", "graph"), "clientSecret");
        let found = detect_workload(&cfg, &secret, &history);
        assert_eq!((types(&found), found[0].level), (vec!["suspiciousSignins"], RiskLevel::Medium));
        assert!(found[0].reasons.iter().any(|r| r.contains("credential type clientSecret")), "{:?}", found[0].reasons);
    }

    #[test]
    fn workload_sign_ins_unlike_the_history_are_suspicious() {
        let cfg = RiskConfig::default();
        let history: Vec<WorkloadFacts> =
            (0..5).map(|i| workload(-i * 60, "198.51.100.7", "NO", 64500, "azsdk", "graph")).collect();
        assert!(
            detect_workload(&cfg, &workload(1, "198.51.100.7", "NO", 64500, "azsdk", "graph"), &history).is_empty()
        );
        // New address and resource only: two properties, not enough.
        assert!(detect_workload(&cfg, &workload(1, "198.51.100.8", "NO", 64500, "azsdk", "arm"), &history).is_empty());
        // Everything new: high, and each reason recorded.
        let found = detect_workload(&cfg, &workload(1, "203.0.113.9", "JP", 64999, "curl", "arm"), &history);
        assert_eq!((types(&found), found[0].level), (vec!["suspiciousSignins"], RiskLevel::High));
        assert!(found[0].reasons.iter().any(|r| r.contains("country JP")), "{:?}", found[0].reasons);
        assert_eq!(found[0].timing, Timing::Offline);
        // Three of five: medium. Still learning (four sign-ins): nothing.
        let found = detect_workload(&cfg, &workload(1, "203.0.113.9", "JP", 64999, "azsdk", "graph"), &history);
        assert_eq!(found[0].level, RiskLevel::Medium);
        let stranger = workload(1, "203.0.113.9", "JP", 64999, "curl", "arm");
        assert!(detect_workload(&cfg, &stranger, &history[..4]).is_empty());
    }

    #[test]
    fn workload_lists() {
        let cfg = RiskConfig {
            anonymizers: parse_ip_list("203.0.113.0/24").expect("list"),
            malicious: parse_ip_list("192.0.2.66").expect("list"),
            ..RiskConfig::default()
        };
        let found = detect_workload(&cfg, &workload(0, "203.0.113.9", "NO", 1, "a", "r"), &[]);
        assert_eq!((types(&found), found[0].level), (vec!["suspiciousSignins"], RiskLevel::Medium));
        let found = detect_workload(&cfg, &workload(0, "192.0.2.66", "NO", 1, "a", "r"), &[]);
        assert_eq!((types(&found), found[0].level), (vec!["investigationsThreatIntelligence"], RiskLevel::High));
    }

    #[test]
    fn leaked_passwords_are_matched_by_digest() {
        // SHA-1("P@ssw0rd"), upper case with a count as breach corpora write it.
        let cfg = RiskConfig {
            leaked_passwords: parse_leaked_list("21BD12DC183F740EE76F27B78EB39C8AD972A757:52579\n").expect("list"),
            ..RiskConfig::default()
        };
        assert!(is_leaked(&cfg, "P@ssw0rd"));
        assert!(!is_leaked(&cfg, "P@ssw0rd!"));
        assert!(!is_leaked(&RiskConfig::default(), "P@ssw0rd"));
        assert_eq!(
            leaked_credentials().additional_info(),
            r#"[{"Key":"reason","Value":"the password used matches an entry of the leaked-credentials list"}]"#
        );
        assert_eq!(parse_leaked_list("abc").expect_err("short").0, 1);
    }
}
