//! The Microsoft Graph front-end (v1.0, beta): wire shapes, routes, authorization.
