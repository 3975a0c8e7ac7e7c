//! `cerulean hash-rate`: this machine's argon2id rate with the parameters sign-ins use.
//!
//! A password sign-in is bound by one argon2id verification (~28 ms of CPU), so the benchmark
//! suite reports sign-ins per second per core next to this figure: the same library
//! ([`cerulean_identity::passwords`]), the same parameters (read from a hash made the way
//! `POST /users` makes one), one thread per core, verifying a correct password — exactly the
//! work of a successful sign-in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cerulean_identity::passwords::{hash_password_blocking, verify_password_blocking};

use crate::ServerError;
use crate::cli::HashRateArgs;

/// Verifies a password on `threads` threads (default: one per core) for `seconds` and prints
/// `{"threads": n, "seconds": s, "verifications": v, "per_s": r, "per_s_per_core": c, "phc_parameters": "..."}`.
pub fn run(args: &HashRateArgs) -> Result<String, ServerError> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let seconds = args.seconds.clamp(1, 600);
    let password = "Zq7#Xr9!mJ2$kWp";
    let phc: Arc<str> = hash_password_blocking(password)?.into();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, done, phc) = (stop.clone(), done.clone(), phc.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if matches!(verify_password_blocking(password, &phc), Ok(true)) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().map_err(|_| ServerError::Config("a hashing thread panicked".into()))?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let verifications = done.load(Ordering::Relaxed);
    let per_s = verifications as f64 / elapsed;
    // `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`: the parameters, never the salt or hash.
    let parameters = phc.split('$').nth(3).unwrap_or_default();
    Ok(serde_json::json!({
        "threads": threads,
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "verifications": verifications,
        "per_s": (per_s * 10.0).round() / 10.0,
        "per_s_per_core": (per_s / threads as f64 * 10.0).round() / 10.0,
        "phc_parameters": parameters,
    })
    .to_string())
}
