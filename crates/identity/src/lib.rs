//! The identity service: signing keys, tokens, client secrets, passwords, TLS material.
