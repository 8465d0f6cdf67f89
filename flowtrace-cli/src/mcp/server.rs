//! The MCP side: one [`FlowtraceServer`] holding the open traces, with each tool a thin method
//! that looks up the trace by handle and calls the tool's function.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::Options;
use super::calls::{self, Found, SearchParams, Slowest, SlowestParams};
use super::calltree::{self, CriticalPath, CriticalPathParams, Tree, TreeParams};
use super::error::ToolError;
use super::index::{self, TraceIndex};
use super::open::{self, CloseParams, Closed, OpenParams, Opened};
use super::summary::{self, Errors, ErrorsParams, Summary, SummaryParams};
use super::timeline::{self, Timeline, TimelineParams};

const INSTRUCTIONS: &str = "Reads flowtrace traces (JSON Lines of ENTER/EXIT records of \
    #[flowtrace] functions). Start with `open` on a trace file: it returns a handle for every \
    other tool. To find why something was slow: `slowest`, then `critical_path` on a slow call's \
    id, then `tree` or `timeline` around it (or the whole request across services with `trace`, the \
    trace id of its root calls). For failures: `errors`. Durations are in \
    microseconds; times are epoch microseconds or UTC.";

/// The traces opened by this client, by handle.
#[derive(Debug, Default)]
struct Traces {
    opened: u64,
    by_handle: BTreeMap<String, Arc<TraceIndex>>,
}

/// The flowtrace MCP server.
#[derive(Clone)]
pub(crate) struct FlowtraceServer {
    traces: Arc<Mutex<Traces>>,
    options: Options,
    tool_router: ToolRouter<Self>,
}

impl FlowtraceServer {
    fn traces(&self) -> std::sync::MutexGuard<'_, Traces> {
        // The map is only ever inserted into or removed from whole: nothing to repair.
        self.traces.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The trace opened under `handle`.
    pub(super) fn trace(&self, handle: &str) -> Result<Arc<TraceIndex>, ToolError> {
        let traces = self.traces();
        traces.by_handle.get(handle).cloned().ok_or_else(|| {
            let open: Vec<&str> = traces.by_handle.keys().map(String::as_str).collect();
            ToolError::UnknownHandle {
                handle: handle.to_owned(),
                open: if open.is_empty() {
                    "none is open".to_owned()
                } else {
                    format!("open: {}", open.join(", "))
                },
            }
        })
    }
}

#[tool_router]
impl FlowtraceServer {
    pub(crate) fn new(options: Options) -> Self {
        Self {
            traces: Arc::default(),
            options,
            tool_router: Self::tool_router(),
        }
    }

    /// Opens a trace and builds its index (one pass over the files).
    #[tool(
        description = "Open a flowtrace trace (a .jsonl file, its rotated set, or several files) \
        and index it. Returns a handle for the other tools, the line and call counts, the time \
        range, the processes (with the service, pid and instance of their START), the busiest \
        functions and `flowtrace check`'s verdict."
    )]
    pub(super) async fn open(
        &self,
        Parameters(params): Parameters<OpenParams>,
    ) -> Result<Json<Opened>, ToolError> {
        if params.paths.is_empty() {
            return Err(ToolError::NoPaths);
        }
        // Refused before the work, so that no index is built and kept for an answer never sent.
        open::functions_limit(params.limit)?;
        if self.traces().by_handle.len() >= self.options.max_traces {
            return Err(ToolError::TooManyTraces {
                max: self.options.max_traces,
            });
        }
        let paths: Vec<PathBuf> = params.paths.iter().map(PathBuf::from).collect();
        let (max_calls, check) = (self.options.max_calls, params.check.unwrap_or(true));
        let built = tokio::task::spawn_blocking(move || index::build(&paths, max_calls, check))
            .await
            .map_err(|e| ToolError::Interrupted(e.to_string()))??;
        let built = Arc::new(built);
        let handle = {
            let mut traces = self.traces();
            traces.opened += 1;
            let handle = format!("t{}", traces.opened);
            traces.by_handle.insert(handle.clone(), built.clone());
            handle
        };
        open::describe(&handle, &built, params.limit).map(Json)
    }

    #[tool(description = "Close a trace opened with `open`, freeing its index.")]
    fn close(
        &self,
        Parameters(params): Parameters<CloseParams>,
    ) -> Result<Json<Closed>, ToolError> {
        self.trace(&params.handle)?;
        self.traces().by_handle.remove(&params.handle);
        Ok(Json(Closed {
            closed: params.handle,
        }))
    }

    #[tool(
        description = "Per function: calls, errors, panics, cancels, total, mean, p50, p95, p99 \
        and max duration (microseconds), like `flowtrace stats`; sortable, filterable by name."
    )]
    fn summary(
        &self,
        Parameters(params): Parameters<SummaryParams>,
    ) -> Result<Json<Summary>, ToolError> {
        summary::summary(&*self.trace(&params.handle)?, &params).map(Json)
    }

    #[tool(
        description = "Find calls by function or module (substring or glob), how they ended, \
        text in their arguments/result/error, start time range, minimum duration, thread or \
        distributed trace id; in the order they started, paged with limit and offset."
    )]
    fn search(
        &self,
        Parameters(params): Parameters<SearchParams>,
    ) -> Result<Json<Found>, ToolError> {
        calls::search(&*self.trace(&params.handle)?, &params).map(Json)
    }

    #[tool(
        description = "The K slowest calls (optionally of matching functions), slowest first, \
        each with its path from the root call. Follow up with `critical_path` on an id."
    )]
    fn slowest(
        &self,
        Parameters(params): Parameters<SlowestParams>,
    ) -> Result<Json<Slowest>, ToolError> {
        calls::slowest(&*self.trace(&params.handle)?, &params).map(Json)
    }

    #[tool(
        description = "Failed calls (EXCEPTION, PANIC, CANCEL) grouped by function, event and \
        message, most frequent first, each group with one example call and its path from the root."
    )]
    fn errors(
        &self,
        Parameters(params): Parameters<ErrorsParams>,
    ) -> Result<Json<Errors>, ToolError> {
        summary::errors(&*self.trace(&params.handle)?, &params).map(Json)
    }

    #[tool(
        description = "The call tree under one call id, or of one distributed trace id across \
        processes, depth first, each call with its share of its parent's time, limited in depth \
        and size, like `flowtrace tree --id` and `flowtrace tree --trace`."
    )]
    fn tree(&self, Parameters(params): Parameters<TreeParams>) -> Result<Json<Tree>, ToolError> {
        calltree::tree(&*self.trace(&params.handle)?, &params).map(Json)
    }

    #[tool(
        description = "The records of one thread, of one call and all calls under it, or of \
        one distributed trace across processes, in time order (ENTER with arguments, closing records with duration and result or error), \
        windowed by from, offset and limit."
    )]
    fn timeline(
        &self,
        Parameters(params): Parameters<TimelineParams>,
    ) -> Result<Json<Timeline>, ToolError> {
        timeline::timeline(&*self.trace(&params.handle)?, &params).map(Json)
    }

    #[tool(
        description = "For one call, the chain of children that accounts for most of its time \
        (each step the longest child of the one before), with each step's own time and the \
        hotspot: the step whose own time is largest, what to look at first when it is slow."
    )]
    fn critical_path(
        &self,
        Parameters(params): Parameters<CriticalPathParams>,
    ) -> Result<Json<CriticalPath>, ToolError> {
        calltree::critical_path(&*self.trace(&params.handle)?, &params).map(Json)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FlowtraceServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("flowtrace", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
