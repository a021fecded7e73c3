//! The Portcullis domain. It knows OAuth and nothing of HTTP or SQL: the
//! HTTP crate parses requests into the types here, and the store crate
//! implements the traits in [`store`].

pub mod admin;
pub mod advertised;
pub mod api_keys;
pub mod authorize;
pub mod batch;
pub mod cache;
pub mod client_auth;
pub mod client_document;
pub mod client_oidc;
pub mod clock;
pub mod cors;
pub mod grant;
pub mod introspect;
pub mod kek;
pub mod keyring;
pub mod model;
pub mod oidc;
pub mod outbound;
pub mod password;
pub mod pkce;
pub mod policy;
pub mod profile;
pub mod proxy;
pub mod registration;
pub mod registry;
pub mod resources;
pub mod revoke;
pub mod scope_policy;
pub mod server;
pub mod session;
pub mod store;
pub mod throttle;
pub mod token;
pub mod users;

pub use clock::{Clock, FixedClock, SystemClock};
pub use server::{AuthServer, Settings};
pub use store::{Store, StoreError};
