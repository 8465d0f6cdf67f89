//! `flowtrace mcp`: the trace, queryable by an AI assistant over the Model Context Protocol.
//!
//! A server on standard input and output (the official `rmcp` SDK) whose tools answer from an
//! index built once by `open` with the CLI's own reader, record parser, `stats` and `check`.
//!
//! # Layout
//!
//! `server` is the MCP glue (one method per tool); `index` builds and holds the per-trace index
//! and reads a call's lines back; the tools live in `open` (`open`, `close`), `summary`
//! (`summary`, `errors`), `calls` (`search`, `slowest`), `calltree` (`tree`, `critical_path`)
//! and `timeline`; `common` has what they share and `error` the tool errors.

use rmcp::ServiceExt;

use crate::error::Error;

mod calls;
mod calltree;
mod common;
mod error;
mod index;
mod open;
mod server;
mod summary;
#[cfg(test)]
mod tests;
mod timeline;
mod traces;

/// Calls kept per trace by default: about 76 bytes each, so at most ~380 MB.
pub(crate) const DEFAULT_MAX_CALLS: usize = 5_000_000;
/// Traces open at once by default.
pub(crate) const DEFAULT_MAX_TRACES: usize = 8;

/// The server's limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    /// Calls an index keeps; later calls count only in `summary` and `errors`.
    pub(crate) max_calls: usize,
    /// Traces open at once.
    pub(crate) max_traces: usize,
}

/// Serves MCP on standard input and output until the client closes them.
pub(crate) fn run(options: Options) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Mcp)?;
    runtime.block_on(async {
        let service = server::FlowtraceServer::new(options)
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::Mcp(std::io::Error::other(e)))?;
        service
            .waiting()
            .await
            .map_err(|e| Error::Mcp(std::io::Error::other(e)))?;
        Ok(())
    })
}
