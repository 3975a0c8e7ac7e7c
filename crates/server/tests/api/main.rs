//! HTTP-level tests of Cerulean: the real router, store and services in-process.

mod harness;

mod auth;
mod batch;
mod delta;
mod groups;
mod odata;
mod platform;
mod startup;
mod throttle;
mod users;
mod wire;
