//! Helpers shared by the node's tests.

pub mod blocks;
