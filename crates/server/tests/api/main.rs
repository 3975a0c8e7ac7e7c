//! HTTP-level tests of Cerulean: the real router, store and services in-process.

mod harness;

mod aadgraph;
mod applications;
mod audit_logs;
mod auth;
mod authorize;
mod batch;
mod browser;
mod delta;
mod device_code;
mod dynamic_groups;
mod fixtures;
mod groups;
mod manager;
mod odata;
mod platform;
mod service_principals;
mod startup;
mod throttle;
mod transitive;
mod user_tokens;
mod users;
mod wire;
