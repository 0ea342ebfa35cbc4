//! The router over real HTTP on 127.0.0.1, against real upstream servers.

mod proxying;
mod streams;
mod support;
mod table;
mod upgrades;
