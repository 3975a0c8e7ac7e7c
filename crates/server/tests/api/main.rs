//! HTTP-level tests of Cerulean: the real router, store and services in-process.

mod harness;

mod aadgraph;
mod applications;
mod auth;
mod batch;
mod delta;
mod dynamic_groups;
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
