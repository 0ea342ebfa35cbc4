//! `${{ values.name }}`: serves HTTP until the process is stopped.
//!
//! Reads `HOST`, `PORT` and `SERVICE_NAME` from the environment (see
//! `service::Config`), prints the address it listens on and serves forever.

use std::net::TcpListener;
use std::process::ExitCode;

use service::{serve, Config};

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{}: {message}", service::SERVICE_NAME);
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(config.address()) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "{}: cannot listen on {}: {error}",
                config.service_name,
                config.address()
            );
            return ExitCode::from(2);
        }
    };
    match listener.local_addr() {
        Ok(address) => eprintln!("{} listening on http://{address}", config.service_name),
        Err(error) => eprintln!(
            "{}: listening (address unknown: {error})",
            config.service_name
        ),
    }
    match serve(listener, &config.service_name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}: {error}", config.service_name);
            ExitCode::FAILURE
        }
    }
}
