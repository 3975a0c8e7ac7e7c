//! The Microsoft identity platform front-end: OIDC discovery, JWKS, the token endpoint.
