//! The process's open-file limit. Every connection is an open file, so the
//! host with a fleet of 10,000 readers (and the load generator simulating
//! them) needs more than the usual soft limit of 1,024: both raise it at
//! start as far as the hard limit allows, and say what to do when it does
//! not.

/// Files a process keeps open besides its connections: listeners, the
/// database and its readers, logs, the mail outbox. (HTTP connections are
/// counted by the caller, with `[http] max_connections`.)
const OTHER_FILES: u64 = 256;

/// Why the open-file limit could not be raised far enough.
#[derive(Debug, thiserror::Error)]
pub enum OpenFilesError {
    /// The hard limit is lower than what is needed.
    #[error(
        "the open-file limit is {limit}, below the {wanted} that {connections} connections need: \
         raise the hard limit (ulimit -Hn, or LimitNOFILE= in a systemd unit)"
    )]
    Short {
        /// The limit now in force.
        limit: u64,
        /// What was asked for.
        wanted: u64,
        /// The connections it was for.
        connections: u64,
    },
    /// The limit could not be read or set.
    #[error("cannot read or raise the open-file limit: {0}")]
    Unknown(#[from] std::io::Error),
}

/// Raises the open-file limit to fit `connections` sockets and the rest;
/// the limit reached when enough.
pub fn raise_open_files(connections: u64) -> Result<u64, OpenFilesError> {
    let wanted = connections.saturating_add(OTHER_FILES);
    let limit = rlimit::increase_nofile_limit(wanted)?;
    if limit >= wanted {
        Ok(limit)
    } else {
        Err(OpenFilesError::Short {
            limit,
            wanted,
            connections,
        })
    }
}
