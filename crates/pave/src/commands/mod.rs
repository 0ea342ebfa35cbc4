//! One module per command group.

pub mod audit;
pub mod catalog;
pub mod create;
pub mod deploy;
pub mod env;
pub mod policy;
pub mod serve;
pub mod session;
pub mod token;
