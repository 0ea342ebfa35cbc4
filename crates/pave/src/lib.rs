//! pave
