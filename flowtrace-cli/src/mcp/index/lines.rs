//! Reading a call's own lines back from the files, by the position the index kept, for what it
//! does not hold: arguments, result and error, shortened as the CLI shows them.

use std::io::{Read, Seek, SeekFrom};
use std::sync::PoisonError;

use super::{Call, NO_POSITION, TraceIndex, unpack};
use crate::mcp::error::ToolError;
use crate::record::{self, Body, Record, Strictness, decoded};
use crate::render;

/// Longest line read back; a longer one is reported rather than read whole.
const MAX_LINE_BYTES: usize = 1 << 20;

/// What a call's lines say beyond the index.
#[derive(Debug, Default)]
pub(crate) struct Details {
    /// Arguments as `name=value, …`.
    pub(crate) args: String,
    pub(crate) result: Option<String>,
    pub(crate) error: Option<String>,
}

impl TraceIndex {
    /// The arguments, result and error of `call`, read from its lines.
    pub(crate) fn details(&self, call: &Call) -> Result<Details, ToolError> {
        let mut details = Details::default();
        let line = self.read_line(call.enter_at)?;
        match record::parse(&line, Strictness::Lenient) {
            Ok(Record {
                body:
                    Body::Enter {
                        call: entered,
                        args,
                        ..
                    },
                ..
            }) if entered.id == call.id => details.args = render::args_inline(args),
            _ => return Err(self.changed(call.enter_at)),
        }
        if call.close_at == NO_POSITION {
            return Ok(details);
        }
        let line = self.read_line(call.close_at)?;
        match record::parse(&line, Strictness::Lenient) {
            Ok(Record {
                body:
                    Body::Close {
                        call: closed,
                        result,
                        error,
                        ..
                    },
                ..
            }) if closed.id == call.id => {
                details.result = result.map(render::value_inline);
                details.error = error.map(render::value_inline);
            }
            _ => return Err(self.changed(call.close_at)),
        }
        Ok(details)
    }

    /// Whether `needle` occurs in the decoded arguments, result or error of `call`.
    pub(crate) fn mentions(&self, call: &Call, needle: &str) -> Result<bool, ToolError> {
        let line = self.read_line(call.enter_at)?;
        if let Ok(Record {
            body: Body::Enter { args, .. },
            ..
        }) = record::parse(&line, Strictness::Lenient)
            && decoded(args).contains(needle)
        {
            return Ok(true);
        }
        if call.close_at == NO_POSITION {
            return Ok(false);
        }
        let line = self.read_line(call.close_at)?;
        Ok(match record::parse(&line, Strictness::Lenient) {
            Ok(Record {
                body: Body::Close { result, error, .. },
                ..
            }) => [result, error]
                .into_iter()
                .flatten()
                .any(|raw| decoded(raw).contains(needle)),
            _ => false,
        })
    }

    fn changed(&self, position: u64) -> ToolError {
        ToolError::Changed {
            path: self.files[unpack(position).0].path.clone(),
        }
    }

    /// The line at `position`, without its line end.
    fn read_line(&self, position: u64) -> Result<Vec<u8>, ToolError> {
        let (file, offset) = unpack(position);
        let trace_file = &self.files[file];
        let reread = |source| ToolError::Reread {
            path: trace_file.path.clone(),
            source,
        };
        // The file has no state to protect beyond its cursor, which is set below anyway.
        let mut handle = trace_file
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        handle.seek(SeekFrom::Start(offset)).map_err(reread)?;
        let mut line = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let read = handle.read(&mut chunk).map_err(reread)?;
            if read == 0 {
                break;
            }
            if let Some(at) = memchr::memchr(b'\n', &chunk[..read]) {
                line.extend_from_slice(&chunk[..at]);
                break;
            }
            line.extend_from_slice(&chunk[..read]);
            if line.len() > MAX_LINE_BYTES {
                return Err(ToolError::LineTooLong {
                    path: trace_file.path.clone(),
                    max: MAX_LINE_BYTES,
                });
            }
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(line)
    }
}
