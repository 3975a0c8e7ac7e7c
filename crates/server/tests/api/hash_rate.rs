//! `cerulean hash-rate`: the argon2id figure the benchmark suite sets password sign-ins against.

use std::process::Command;

use serde_json::Value;

#[test]
fn hash_rate_verifies_with_the_sign_in_parameters_and_reports_per_core() {
    let out = Command::new(env!("CARGO_BIN_EXE_cerulean"))
        .args(["hash-rate", "--seconds", "1", "--threads", "1"])
        .output()
        .expect("run cerulean hash-rate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(report["threads"], 1);
    assert_eq!(report["phc_parameters"], "m=19456,t=2,p=1", "the parameters POST /users hashes with");
    assert!(report["verifications"].as_u64().is_some_and(|v| v > 0), "{report}");
    assert!(report["per_s_per_core"].as_f64().is_some_and(|r| r > 0.0), "{report}");
    // Nothing secret is printed: no PHC string, no salt.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("$argon2id$"));
}

#[test]
fn hash_rate_refuses_a_malformed_duration() {
    let out = Command::new(env!("CARGO_BIN_EXE_cerulean"))
        .args(["hash-rate", "--seconds", "soon"])
        .output()
        .expect("run cerulean hash-rate");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seconds"));
}
