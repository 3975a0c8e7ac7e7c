//! The embedded SQLite engine.

/// The SQLite store (to be implemented).
pub struct SqliteStore;
