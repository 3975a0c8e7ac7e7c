//! HTTP-level tests of Cerulean: the real router, store and services in-process.

mod harness;

mod aadgraph;
mod aadgraph_batch;
mod aadgraph_delta;
mod aadgraph_queries;
mod applications;
mod audit_logs;
mod auth;
mod auth_methods;
mod authorize;
mod batch;
mod browser;
mod delta;
mod device_code;
mod dynamic_groups;
mod group_claims;
mod groups;
mod identity_protection;
mod lockout;
mod manager;
mod odata;
mod on_behalf_of;
mod platform;
mod service_principals;
mod signing_keys;
mod startup;
mod throttle;
mod token_versions;
mod transitive;
mod user_tokens;
mod users;
mod wire;
