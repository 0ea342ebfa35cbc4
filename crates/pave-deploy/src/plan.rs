//! From a Score workload (placeholders already substituted) to what the
//! local runtime runs: one process per container, from the checkout of the
//! pinned commit, on host ports of its own.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use pave_runtime::{FileSpec, InstanceSpec, Probe, ProcessSpec};
use pave_workload::{FileContent, Workload};

/// The port name used when a workload publishes none: every instance gets
/// at least one port (`PORT`), so any workload can serve.
pub const DEFAULT_PORT_NAME: &str = "main";

/// The port names an instance needs, in order (the first is `PORT`).
pub fn port_names(workload: &Workload) -> Vec<String> {
    let names: Vec<String> = workload
        .service
        .as_ref()
        .map(|service| service.ports.keys().cloned().collect())
        .unwrap_or_default();
    if names.is_empty() {
        vec![DEFAULT_PORT_NAME.to_string()]
    } else {
        names
    }
}

/// Why a workload cannot run on the local runtime; names the container and
/// field, and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct PlanError {
    pub file: String,
    pub field: String,
    pub message: String,
}

/// Everything the plan of one instance needs.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub deployment_id: &'a str,
    /// The substituted workload.
    pub workload: &'a Workload,
    /// Host ports by port name (from [`port_names`]).
    pub ports: &'a BTreeMap<String, u16>,
    /// The checkout of the pinned commit.
    pub checkout: &'a Path,
    /// The folder of `score.yaml` inside the repository (`""` for the root);
    /// processes run there and `source` files are relative to it.
    pub directory: &'a str,
    /// The Score file's path in the repository, for messages.
    pub file: &'a str,
}

/// The runtime's instance for a workload; every problem is reported.
pub fn instance_spec(input: &PlanInput<'_>) -> Result<InstanceSpec, Vec<PlanError>> {
    let mut errors = Vec::new();
    let error = |field: String, message: String| PlanError {
        file: input.file.to_string(),
        field,
        message,
    };
    let working_dir = if input.directory.is_empty() {
        input.checkout.to_path_buf()
    } else {
        input.checkout.join(input.directory)
    };
    let mut processes = Vec::new();
    for (name, container) in &input.workload.containers {
        let field = |rest: &str| format!("containers.{name}.{rest}");
        if container.image != "." {
            errors.push(error(
                field("image"),
                format!(
                    "`{}` is a container image; the local runtime runs only `image: .` (the component's own code from its repository). Use `.` with a `command`, or deploy to a runtime that runs images",
                    container.image
                ),
            ));
            continue;
        }
        let mut command: Vec<String> = container.command.clone().unwrap_or_default();
        command.extend(container.args.clone().unwrap_or_default());
        let Some((program, args)) = command.split_first() else {
            errors.push(error(
                field("command"),
                "the local runtime needs a `command` (and optional `args`) to start the process, e.g. `command: [python3, -m, app]`".into(),
            ));
            continue;
        };
        let mut files = Vec::new();
        for (target, file) in &container.files {
            match file_spec(target, file, &working_dir, input.checkout) {
                Ok(spec) => files.push(spec),
                Err(message) => errors.push(error(field(&format!("files.{target}")), message)),
            }
        }
        let probe =
            |probe: &Option<pave_workload::Probe>, key: &str| -> Result<Option<Probe>, PlanError> {
                let Some(probe) = probe else { return Ok(None) };
                if let Some(exec) = &probe.exec {
                    return Ok(Some(Probe::Exec {
                        command: exec.command.clone(),
                    }));
                }
                match &probe.http_get {
                    Some(http) => host_port(input.workload, input.ports, http.port)
                        .map(|port| {
                            Some(Probe::Http {
                                port,
                                path: http.path.clone(),
                                headers: http
                                    .http_headers
                                    .iter()
                                    .map(|header| (header.name.clone(), header.value.clone()))
                                    .collect(),
                            })
                        })
                        .map_err(|message| error(field(&format!("{key}.httpGet.port")), message)),
                    None => Ok(None),
                }
            };
        let readiness = probe(&container.readiness_probe, "readinessProbe");
        let liveness = probe(&container.liveness_probe, "livenessProbe");
        let (readiness, liveness) = match (readiness, liveness) {
            (Ok(readiness), Ok(liveness)) => (readiness, liveness),
            (readiness, liveness) => {
                errors.extend(readiness.err());
                errors.extend(liveness.err());
                continue;
            }
        };
        processes.push(ProcessSpec {
            name: name.clone(),
            program: program.clone(),
            args: args.to_vec(),
            env: container.variables.clone(),
            working_dir: working_dir.clone(),
            files,
            readiness,
            liveness,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(InstanceSpec {
        id: input.deployment_id.to_string(),
        workload: input.workload.metadata.name.clone(),
        processes,
        ports: input.ports.clone(),
        primary_port: port_names(input.workload).into_iter().next(),
    })
}

/// The host port behind a container port a probe names: the service port
/// whose `targetPort` (or `port`) it is, or the only port there is.
fn host_port(
    workload: &Workload,
    ports: &BTreeMap<String, u16>,
    container_port: u16,
) -> Result<u16, String> {
    let named = workload.service.as_ref().and_then(|service| {
        service.ports.iter().find(|(_, port)| {
            port.target_port_or_default() == container_port || port.port == container_port
        })
    });
    if let Some((name, _)) = named
        && let Some(port) = ports.get(name)
    {
        return Ok(*port);
    }
    if ports.len() == 1
        && let Some(port) = ports.values().next()
    {
        return Ok(*port);
    }
    Err(format!(
        "port {container_port} is not one of the workload's service ports; name it under `service.ports` so Pave can map it to the process's own port"
    ))
}

/// A Score file mount as a file written before start. Absolute targets are
/// placed under the instance's own directory (the local runtime has no
/// container file system); `source` files are read from the checkout.
fn file_spec(
    target: &str,
    file: &pave_workload::File,
    working_dir: &Path,
    checkout: &Path,
) -> Result<FileSpec, String> {
    let relative = Path::new(target.trim_start_matches('/'));
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return Err(format!("`{target}` must be a plain path without `..`"));
    }
    let content = match &file.content {
        FileContent::Inline(text) => text.as_bytes().to_vec(),
        FileContent::Binary(encoded) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|error| format!("`binaryContent` is not standard base64: {error}"))?
        }
        FileContent::Source(source) => {
            let path = confined(working_dir, source, checkout)?;
            std::fs::read(&path).map_err(|error| {
                format!("cannot read `source` `{source}` from the checkout: {error}")
            })?
        }
    };
    let mode = match &file.mode {
        None => None,
        Some(text) => Some(
            u32::from_str_radix(text.trim_start_matches("0o"), 8)
                .map_err(|_| format!("mode `{text}` is not an octal mode such as `0644`"))?,
        ),
    };
    Ok(FileSpec {
        path: relative.to_path_buf(),
        mode,
        content,
    })
}

/// `source` relative to the Score file's folder, refusing anything that
/// leaves the checkout.
fn confined(working_dir: &Path, source: &str, checkout: &Path) -> Result<PathBuf, String> {
    let mut path = working_dir.to_path_buf();
    for component in Path::new(source).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                path.pop();
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "`source` `{source}` must be relative to score.yaml"
                ));
            }
        }
    }
    let inside = path.starts_with(checkout)
        && std::fs::canonicalize(&path)
            .ok()
            .zip(std::fs::canonicalize(checkout).ok())
            .is_some_and(|(real, root)| real.starts_with(root));
    if inside {
        Ok(path)
    } else {
        Err(format!("`source` `{source}` is outside the repository"))
    }
}

#[cfg(test)]
mod tests;
