//! Protocol vocabulary shared by the server, the store, the CLI and the guard:
//! newtypes for every protocol value, secrets that cannot be printed, the one
//! OAuth error type, and the JSON shapes that go over the wire.

pub mod claims;
pub mod error;
pub mod grant;
pub mod ids;
pub mod redirect;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod wire;

pub use claims::{AccessTokenClaims, Audience, IdTokenClaims};
pub use error::{ErrorCode, OAuthError};
pub use grant::GrantType;
pub use ids::{ClientId, Jti, KeyId, UserId};
pub use redirect::RedirectUri;
pub use resource::ResourceUri;
pub use scope::{Scope, ScopeSet};
pub use secret::{Secret, SecretHash};
