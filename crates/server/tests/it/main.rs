//! Integration tests: the real router on a real socket, driven by real HTTP
//! clients. One test binary, so the crate links once.

mod admin;
mod api_keys;
mod authcode;
mod browser;
mod chrome;
mod cli;
mod client_documents;
mod console;
mod cors;
mod e2e_oauth2;
mod error_text;
mod errors;
mod full_disk;
mod fuzz;
mod guard_e2e;
mod introspect;
mod keys_at_rest;
mod loopback;
mod oidc_conformance;
mod oidc_rp;
mod postgres;
mod registration;
mod resources;
mod revoke;
mod scope_defaults;
mod scope_grants;
mod serve;
mod slow;
mod support;
mod throttle;
mod token;
