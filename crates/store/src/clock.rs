//! The one clock of the process. Every "now" in Cerulean (token issue and validation, the
//! recycle bin's 30-day window, smart lockout, risk timing, log timestamps, change-log rows)
//! is read here rather than from the system, so that the emulator's clock control
//! (`/cerulean/emulator/clock`, off unless the server runs with `--emulator-aids`) can freeze
//! or advance time for the whole server at once.
//!
//! The clock is process-wide on purpose: one server is one process, and a test that moves
//! time means it for every part of the server. Without clock control it is the system clock.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use time::OffsetDateTime;

/// Nanoseconds added to the system clock (clock control's `advance`).
static OFFSET_NANOS: AtomicI64 = AtomicI64::new(0);
/// Whether time stands still at [`FROZEN_AT_NANOS`].
static FROZEN: AtomicBool = AtomicBool::new(false);
/// The instant (Unix nanoseconds, offset included) time stands still at while frozen.
static FROZEN_AT_NANOS: AtomicI64 = AtomicI64::new(0);

fn system_nanos() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn now_nanos() -> i64 {
    if FROZEN.load(Ordering::Acquire) {
        FROZEN_AT_NANOS.load(Ordering::Acquire)
    } else {
        system_nanos().saturating_add(OFFSET_NANOS.load(Ordering::Acquire))
    }
}

/// The current instant, UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_nanos())).unwrap_or_else(|_| OffsetDateTime::now_utc())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    now_nanos().div_euclid(1_000_000_000)
}

/// Stops time at the current instant (advances still move it).
pub fn freeze() {
    FROZEN_AT_NANOS.store(now_nanos(), Ordering::Release);
    FROZEN.store(true, Ordering::Release);
}

/// Lets time run again from where it stands (the frozen interval becomes part of the offset).
pub fn unfreeze() {
    if FROZEN.swap(false, Ordering::AcqRel) {
        let at = FROZEN_AT_NANOS.load(Ordering::Acquire);
        OFFSET_NANOS.store(at.saturating_sub(system_nanos()), Ordering::Release);
    }
}

/// Moves time forward (or back, for a negative duration) by `seconds`.
pub fn advance(seconds: i64) {
    let nanos = seconds.saturating_mul(1_000_000_000);
    if FROZEN.load(Ordering::Acquire) {
        FROZEN_AT_NANOS.fetch_add(nanos, Ordering::AcqRel);
    } else {
        OFFSET_NANOS.fetch_add(nanos, Ordering::AcqRel);
    }
}

/// Back to the system clock: no offset, not frozen.
pub fn reset() {
    FROZEN.store(false, Ordering::Release);
    OFFSET_NANOS.store(0, Ordering::Release);
}

/// Whether time is frozen, and how far (seconds) the clock is from the system's.
pub fn state() -> (bool, i64) {
    let frozen = FROZEN.load(Ordering::Acquire);
    let offset = if frozen {
        FROZEN_AT_NANOS.load(Ordering::Acquire).saturating_sub(system_nanos())
    } else {
        OFFSET_NANOS.load(Ordering::Acquire)
    };
    (frozen, offset / 1_000_000_000)
}
