//! Errors as every API route returns them:
//! `{"error": {"name": "...", "message": "..."}}` with a fitting status.
//! Names follow Backstage's (`InputError`, `NotFoundError`, …) so clients of
//! both read them the same way.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pave_access::{AccessError, AuthenticationError, Diagnostic, PolicyError};
use pave_store::StoreError;
use serde_json::json;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub name: &'static str,
    pub message: String,
    /// Policy diagnostics, for an invalid policy set.
    pub diagnostics: Vec<Diagnostic>,
}

impl ApiError {
    pub fn new(status: StatusCode, name: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            name,
            message: message.into(),
            diagnostics: Vec::new(),
        }
    }

    pub fn input(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "InputError", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NotFoundError", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "AuthenticationError", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "NotAllowedError", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"name": self.name, "message": self.message});
        if !self.diagnostics.is_empty() {
            error["diagnostics"] = json!(self.diagnostics);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Conflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "ConflictError", error.to_string())
            }
            other => {
                // The detail may name hosts or SQL: log it, return a plain message.
                tracing::error!(error = %other, "storage failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "StorageError",
                    "the database could not complete the request; try again, and tell the operator if it persists",
                )
            }
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> ApiError {
        match error {
            AccessError::Store(error) => error.into(),
            AccessError::NotFound(message) => ApiError::not_found(message),
            AccessError::Input(message) => ApiError::input(message),
            AccessError::Reference(error) => ApiError::input(error.to_string()),
            AccessError::Policy(error) => error.into(),
        }
    }
}

impl From<pave_catalog::CatalogError> for ApiError {
    fn from(error: pave_catalog::CatalogError) -> ApiError {
        use pave_catalog::CatalogError;
        match error {
            CatalogError::Store(error) => error.into(),
            CatalogError::NotFound(message) => ApiError::not_found(message),
            CatalogError::Input(message) => ApiError::input(message),
            CatalogError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "ConflictError", message)
            }
        }
    }
}

impl From<PolicyError> for ApiError {
    fn from(error: PolicyError) -> ApiError {
        let message = error.to_string();
        let diagnostics = match error {
            PolicyError::Invalid { diagnostics } => diagnostics,
            PolicyError::TooLarge { .. } => Vec::new(),
        };
        ApiError {
            status: StatusCode::BAD_REQUEST,
            name: "InvalidPolicyError",
            message,
            diagnostics,
        }
    }
}

impl From<AuthenticationError> for ApiError {
    fn from(error: AuthenticationError) -> ApiError {
        match error {
            AuthenticationError::Store(error) => error.into(),
            other => ApiError::unauthenticated(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        // axum answers 422 for a body of the wrong shape; Backstage (and so
        // Pave) calls every bad input 400 InputError.
        let status = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let name = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "PayloadTooLargeError"
        } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            "UnsupportedMediaTypeError"
        } else {
            "InputError"
        };
        ApiError::new(
            status,
            name,
            format!("request body: {}", rejection.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::input(format!("query string: {}", rejection.body_text()))
    }
}
