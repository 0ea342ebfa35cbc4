//! The typed Score workload model.
//!
//! Field names follow the Score schema (`score-v1b1.json`) in snake case; the
//! serde names are the schema's camelCase ones, so a [`Workload`] serializes
//! back to a valid Score document (deprecated array forms of `files` and
//! `volumes` come back in the map form).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Score workload: the root of a `score.yaml` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    /// Always [`crate::API_VERSION`] (`score.dev/v1b1`) after a successful parse.
    pub api_version: String,
    /// The workload's name, annotations and any other metadata.
    pub metadata: Metadata,
    /// Named containers; there is always at least one.
    pub containers: BTreeMap<String, Container>,
    /// The network ports the workload publishes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// Named resources the workload depends on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Resource>,
}

impl Workload {
    /// The metadata as one JSON object, as `${metadata.…}` placeholders see it.
    pub fn metadata_json(&self) -> Value {
        let mut map = self.metadata.extra.clone();
        map.insert("name".to_owned(), Value::String(self.metadata.name.clone()));
        if !self.metadata.annotations.is_empty() {
            let annotations = self
                .metadata
                .annotations
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect();
            map.insert("annotations".to_owned(), Value::Object(annotations));
        }
        Value::Object(map)
    }
}

/// Workload metadata: a required name, optional annotations, and any other
/// fields (kept as JSON, since Score allows arbitrary extra metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// An RFC 1123 label of 2 to 63 characters.
    pub name: String,
    /// Annotations; the values are strings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Every other metadata field, unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One container of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    /// The image and tag; `.` means "the image built from this repository".
    pub image: String,
    /// Overrides the image's entrypoint when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Overrides the arguments to the entrypoint when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables; values may hold placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// Files to mount, by target path in the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, File>,
    /// Volumes to mount, by mount path in the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    /// CPU and memory limits and requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ContainerResources>,
    /// Restart the container when this probe fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Send traffic only when this probe succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Containers that must reach a state before this one starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub before: BTreeMap<String, Before>,
}

/// A file mounted into a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawFile", into = "RawFile")]
pub struct File {
    /// Where the content comes from.
    pub content: FileContent,
    /// Octal access mode such as `0600`, if given.
    pub mode: Option<String>,
    /// When true, placeholders in inline content are not expanded.
    pub no_expand: bool,
}

/// The content of a [`File`]: exactly one of Score's `source`, `content` and
/// `binaryContent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// `source`: a path, relative to the Score file, whose content is mounted.
    Source(String),
    /// `content`: inline UTF-8 text (placeholders are expanded).
    Inline(String),
    /// `binaryContent`: inline standard base64 (never expanded).
    Binary(String),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    binary_content: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    no_expand: bool,
}

impl TryFrom<RawFile> for File {
    type Error = String;

    fn try_from(raw: RawFile) -> Result<Self, Self::Error> {
        let content = match (raw.source, raw.content, raw.binary_content) {
            (Some(source), None, None) => FileContent::Source(source),
            (None, Some(content), None) => FileContent::Inline(content),
            (None, None, Some(binary)) => FileContent::Binary(binary),
            _ => {
                return Err(
                    "a file needs exactly one of `source`, `content` and `binaryContent`".into(),
                );
            }
        };
        Ok(File {
            content,
            mode: raw.mode,
            no_expand: raw.no_expand,
        })
    }
}

impl From<File> for RawFile {
    fn from(file: File) -> Self {
        let (source, content, binary_content) = match file.content {
            FileContent::Source(source) => (Some(source), None, None),
            FileContent::Inline(content) => (None, Some(content), None),
            FileContent::Binary(binary) => (None, None, Some(binary)),
        };
        RawFile {
            mode: file.mode,
            source,
            content,
            binary_content,
            no_expand: file.no_expand,
        }
    }
}

/// A volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// The external volume, usually `${resources.<name>}`.
    pub source: String,
    /// A sub path inside the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mount read-only; Score's default is read-write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Container compute resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerResources {
    /// The most the container may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceLimits>,
    /// The least the container needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceLimits>,
}

/// CPU and memory amounts, as Score writes them (`250m`, `0.5`, `128Mi`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceLimits {
    /// Whole or fractional CPUs, or milli-CPUs with `m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Bytes with an optional unit (`K` … `E`, `Ki` … `Ei`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// A health probe: an HTTP GET, a command, or (when both are given) both;
/// Score says the exec probe should be preferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// Probe over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpProbe>,
    /// Probe by running a command in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
}

/// An HTTP GET probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProbe {
    /// `HTTP` (Score's default) or `HTTPS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<HttpScheme>,
    /// Host to connect to; defaults to the workload's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The path to request.
    pub path: String,
    /// The port to connect to.
    pub port: u16,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

impl HttpProbe {
    /// The scheme, with Score's default (`HTTP`) applied.
    pub fn scheme_or_default(&self) -> HttpScheme {
        self.scheme.unwrap_or_default()
    }
}

/// The scheme of an [`HttpProbe`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpScheme {
    /// Plain HTTP, the default.
    #[default]
    #[serde(rename = "HTTP")]
    Http,
    /// HTTP over TLS.
    #[serde(rename = "HTTPS")]
    Https,
}

/// One header of an [`HttpProbe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A probe that runs a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecProbe {
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// A start-order condition on another container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Before {
    /// The state the other container must reach first.
    pub ready: Readiness,
}

/// The states of [`Before::ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// The container has started.
    Started,
    /// The container's readiness probe passes.
    Healthy,
    /// The container has run to completion.
    Complete,
}

/// The service a workload publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Named ports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, Port>,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    /// The public port.
    pub port: u16,
    /// The port the container listens on; defaults to [`Port::port`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
    /// `TCP` (Score's default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

impl Port {
    /// The target port, with Score's default (the public port) applied.
    pub fn target_port_or_default(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }

    /// The protocol, with Score's default (`TCP`) applied.
    pub fn protocol_or_default(&self) -> Protocol {
        self.protocol.unwrap_or_default()
    }
}

/// The transport protocol of a [`Port`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP, the default.
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
}

/// A resource the workload depends on (a database, a DNS name, a volume, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The resource type (`postgres`, `dns`, `volume`, …); Score's `type`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// A specialisation of the type; Score implementations treat a missing
    /// class as `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// A shared identity: resources with the same type, class and id are one
    /// resource across workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Resource metadata (annotations and any other fields), kept as JSON.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Provisioning parameters, kept as JSON; strings may hold placeholders.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
}

impl Resource {
    /// The class, with the conventional default (`default`) applied.
    pub fn class_or_default(&self) -> &str {
        self.class.as_deref().unwrap_or("default")
    }
}
