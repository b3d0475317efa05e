//! Passwords, wherever the API takes one (signing in, opening a protected link): argon2id on a
//! small bounded pool ([`pool`]), and a limit on attempts per key ([`rate`]) that is checked
//! before any argon2 run, so guessing costs the guesser time and the node next to nothing;
//! [`guard`] applies both to signing in.

pub mod guard;
pub mod pool;
pub mod rate;
