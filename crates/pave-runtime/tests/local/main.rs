//! Tests of the local runtime with real processes (`sh`, `python3`), real
//! loopback HTTP and real signals. Every test owns a temporary root, and its
//! fixture kills whatever is recorded there when it is dropped, so a failing
//! test leaves no process behind.

mod adoption;
mod fixture;
mod health;
mod input;
mod logs;
mod start;
mod stop;
