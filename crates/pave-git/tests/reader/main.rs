//! Tests of `GitReader` against real repositories made with the git CLI in
//! temporary directories, served to the reader through `file://`.

mod fixture;
mod locate;
mod network;
mod read;
mod recovery;
mod resolve;
mod security;
