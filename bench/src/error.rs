//! The bench crate's error: what a caller may match on (a refused setting, a bench
//! file, the lab, a file to write) with the message the command line prints.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag's value, or the matrix they make, is refused; the message names the flag.
    #[error("{0}")]
    Usage(String),
    /// A bench file (`scenarios/bench/*.yaml`) that does not read or parse.
    #[error("{path}: {message}")]
    BenchFile { path: PathBuf, message: String },
    /// A scenario the bench generated or wrote does not load.
    #[error("{0}")]
    Scenario(String),
    /// The lab failed (its own failure, not a measurement's).
    #[error("{0}")]
    Lab(String),
    /// Ctrl-C: the lab was torn down.
    #[error("interrupted")]
    Interrupted,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The SVG plot could not be drawn.
    #[error("{0}")]
    Plot(String),
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
