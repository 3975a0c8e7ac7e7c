//! What one sign-in attempt has established, shared within its request by Conditional Access
//! and the sign-in log, so the two agree (issue 7): the attempt's risk is assessed once, with
//! the browser of its User-Agent and whether the password given is in the leaked-credentials
//! list, and the policies and the log row see the same findings and the same target resource.
//!
//! The token endpoint, the authorize endpoint and the sign-in form's POST run their work inside
//! [`scope`]; Conditional Access reads the request's facts ([`browser`], [`leaked_password`])
//! and [`record`]s what it assessed; the sign-in log takes it back ([`assessed_for`]). Outside a
//! scope (a unit test, a path that logs no sign-in) nothing is shared and each side assesses
//! with what it has.

use std::future::Future;
use std::sync::{Arc, Mutex};

use cerulean_identity::risk::Finding;
use uuid::Uuid;

/// What Conditional Access evaluated for one principal of the attempt.
#[derive(Debug, Clone)]
pub(crate) struct Assessed {
    /// The user signing in; `None` for a service principal.
    pub user: Option<Uuid>,
    /// The detections of the attempt (empty for a service principal).
    pub findings: Vec<Finding>,
    /// The appId of the target resource the policies were matched against.
    pub audience: String,
    /// Multi-factor authentication was already done when the policies were evaluated (the
    /// session's or the assertion's `amr`, a passkey): a refusal's log row evaluates the
    /// policies with the same, so it shows what was enforced.
    pub mfa_done: bool,
    /// For a service principal signing in as itself: what the workload-identity policies
    /// said, evaluated with its risk level. The sign-in log shows this evaluation instead of
    /// reading the risk and evaluating the policies again (issue 8: one store read and one
    /// evaluation less per client-credentials token), and so shows what was enforced.
    pub workload: Option<WorkloadEvaluation>,
}

/// The Conditional Access evaluation of a service principal's sign-in (see [`Assessed`]).
#[derive(Debug, Clone)]
pub(crate) struct WorkloadEvaluation {
    /// The service principal signing in.
    pub service_principal: Uuid,
    pub evaluation: cerulean_directory::ca_engine::Evaluation,
}

/// The client credential an attempt proved: its kind as Graph beta's `signIn` names it
/// (`clientCredentialType`) and the id of the key (`servicePrincipalCredentialKeyId`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Credential {
    pub kind: &'static str,
    pub key_id: Option<String>,
}

#[derive(Debug, Default)]
struct Facts {
    browser: String,
    leaked_password: bool,
    assessed: Option<Assessed>,
    credential: Option<Credential>,
}

tokio::task_local! {
    static CURRENT: Arc<Mutex<Facts>>;
}

/// A handle on the attempt's shared facts, kept by the caller of [`scope`] to read them after.
#[derive(Debug, Clone, Default)]
pub(crate) struct Handle(Arc<Mutex<Facts>>);

impl Handle {
    /// What Conditional Access assessed during the attempt, if anything.
    pub(crate) fn assessed(&self) -> Option<Assessed> {
        self.0.lock().ok().and_then(|f| f.assessed.clone())
    }

    /// The client credential the attempt proved, if any.
    pub(crate) fn credential(&self) -> Option<Credential> {
        self.0.lock().ok().and_then(|f| f.credential.clone())
    }
}

/// Runs `f` as one attempt from a browser (or client) identified by `browser` (the sign-in
/// log's `deviceDetail.browser`), `leaked_password` saying whether the password given is in the
/// leaked-credentials list.
pub(crate) async fn scope<F: Future>(browser: String, leaked_password: bool, handle: &Handle, f: F) -> F::Output {
    if let Ok(mut facts) = handle.0.lock() {
        facts.browser = browser;
        facts.leaked_password = leaked_password;
    }
    CURRENT.scope(handle.0.clone(), f).await
}

fn with<T>(read: impl FnOnce(&mut Facts) -> T) -> Option<T> {
    CURRENT.try_with(|cell| cell.lock().ok().map(|mut f| read(&mut f))).ok().flatten()
}

/// The browser family and version of the attempt's User-Agent (empty when unknown).
pub(crate) fn browser() -> String {
    with(|f| f.browser.clone()).unwrap_or_default()
}

/// Whether the password of the attempt is in the leaked-credentials list.
pub(crate) fn leaked_password() -> bool {
    with(|f| f.leaked_password).unwrap_or(false)
}

/// Sets the leaked flag once the password is known (the sign-in form reads it from its body).
pub(crate) fn set_leaked_password(leaked: bool) {
    with(|f| f.leaked_password = leaked);
}

/// Records what Conditional Access assessed (the latest evaluation wins).
pub(crate) fn record(assessed: Assessed) {
    with(|f| f.assessed = Some(assessed));
}

/// Records the client credential the attempt proved (client authentication).
pub(crate) fn set_credential(credential: Credential) {
    with(|f| f.credential = Some(credential));
}

/// What Conditional Access assessed for `user` during the current attempt.
pub(crate) fn assessed_for(user: Option<Uuid>) -> Option<Assessed> {
    with(|f| f.assessed.clone()).flatten().filter(|a| a.user == user)
}
