//! Which files to read and in what order, and reading them line by line.
//!
//! Input paths are grouped into *streams*, one per traced process: a path `x.jsonl` and its
//! rotated files `x.jsonl.1`, `x.jsonl.2`, … form one stream, read oldest first
//! (`x.jsonl.N` … `x.jsonl.1`, then `x.jsonl`). Giving `x.jsonl` finds its rotated siblings on
//! disk; giving numbered files reads exactly those. Streams are read in the order they were
//! named. A START record begins a new process segment (a file appended to by several runs holds
//! several); call ids are matched within a segment only.
//!
//! [`LineReader`] yields the complete lines of a stream with their line numbers. A last line
//! without `\n` is a record still being written: it is skipped (and reported as
//! [`Item::Partial`]), or, when following, kept until the rest arrives.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::progress::Progress;
use crate::record::{self, Record, Strictness};

/// Read buffer per stream; large enough that reading costs far less than parsing.
const BUFFER: usize = 256 * 1024;

/// The files of one traced process, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stream {
    pub(crate) files: Vec<PathBuf>,
}

/// Splits `x.jsonl.3` into (`x.jsonl`, 3); anything else is its own base with index 0.
fn rotation_of(path: &Path) -> (PathBuf, u32) {
    if let (Some(ext), Some(stem)) = (path.extension(), path.file_stem())
        && let Some(index) = ext.to_str().and_then(|e| e.parse::<u32>().ok())
        && index > 0
        && !stem.is_empty()
    {
        return (path.with_file_name(stem), index);
    }
    (path.to_path_buf(), 0)
}

/// Groups `paths` into streams (see the module doc).
pub(crate) fn streams(paths: &[PathBuf]) -> Vec<Stream> {
    let mut groups: Vec<(PathBuf, Vec<(u32, PathBuf)>)> = Vec::new();
    for path in paths {
        let (base, index) = rotation_of(path);
        let at = match groups.iter().position(|(b, _)| *b == base) {
            Some(at) => at,
            None => {
                groups.push((base.clone(), Vec::new()));
                groups.len() - 1
            }
        };
        let group = &mut groups[at].1;
        group.push((index, path.clone()));
        if index == 0 {
            let mut n = 1;
            loop {
                let mut name = base.clone().into_os_string();
                name.push(format!(".{n}"));
                let rotated = PathBuf::from(name);
                if !rotated.is_file() {
                    break;
                }
                group.push((n, rotated));
                n += 1;
            }
        }
    }
    groups
        .into_iter()
        .map(|(_, mut files)| {
            files.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
            files.dedup_by(|a, b| a.0 == b.0);
            Stream {
                files: files.into_iter().map(|(_, path)| path).collect(),
            }
        })
        .collect()
}

/// Total size of all files, for the progress bar (unreadable files count 0 and fail later).
pub(crate) fn total_bytes(streams: &[Stream]) -> u64 {
    streams
        .iter()
        .flat_map(|s| &s.files)
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum()
}

/// A line's place: file and 1-based line number.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place<'a> {
    pub(crate) path: &'a Path,
    pub(crate) line: u64,
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// What [`LineReader::next`] found.
#[derive(Debug)]
pub(crate) enum Item<'a> {
    /// A complete line, without its `\n` (from [`LineReader::next_chunk`]: whole lines, each
    /// with its `\n`).
    Line {
        file: usize,
        line: u64,
        bytes: &'a [u8],
    },
    /// A last line without `\n`, skipped.
    Partial { file: usize, line: u64 },
    /// Following: no more data for now.
    Idle,
    /// Every file was read.
    End,
}

struct Open {
    index: usize,
    file: File,
    identity: u64,
    /// Bytes read from the file so far.
    position: u64,
    line: u64,
}

/// Reads the lines of one stream, file after file, handing out slices of its own buffer (no
/// copy per line).
pub(crate) struct LineReader<'s> {
    files: &'s [PathBuf],
    next_file: usize,
    open: Option<Open>,
    /// Storage; `buf[start..end]` is read but not yet returned.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    follow: bool,
    /// The followed file was replaced: read the old handle to its end, then switch.
    draining: bool,
}

/// Tells one file from another with the same path (inode on Unix).
fn identity(meta: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::ino(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

impl<'s> LineReader<'s> {
    /// A reader over `stream`; with `follow`, the last file is watched for growth and rotation.
    pub(crate) fn new(stream: &'s Stream, follow: bool) -> Self {
        Self {
            files: &stream.files,
            next_file: 0,
            open: None,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            follow,
            draining: false,
        }
    }

    fn open(&mut self, index: usize) -> Result<(), Error> {
        let path = &self.files[index];
        let opened = |source| Error::Open {
            path: path.clone(),
            source,
        };
        let file = File::open(path).map_err(opened)?;
        let meta = file.metadata().map_err(opened)?;
        self.open = Some(Open {
            index,
            file,
            identity: identity(&meta),
            position: 0,
            line: 0,
        });
        (self.start, self.end) = (0, 0);
        Ok(())
    }

    /// Whether the followed path now names another file, or was truncated.
    fn replaced(files: &[PathBuf], open: &Open) -> bool {
        match std::fs::metadata(&files[open.index]) {
            Ok(meta) => identity(&meta) != open.identity || meta.len() < open.position,
            Err(_) => false,
        }
    }

    /// Reads more of the open file after the unread bytes; returns how many (0 at its end).
    fn fill(&mut self) -> Result<usize, Error> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.buf.len() {
            // A line longer than the buffer.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let Some(open) = &mut self.open else {
            return Ok(0);
        };
        loop {
            match open.file.read(&mut self.buf[self.end..]) {
                Ok(read) => {
                    self.end += read;
                    open.position += read as u64;
                    return Ok(read);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Read {
                        path: self.files[open.index].clone(),
                        source,
                    });
                }
            }
        }
    }

    /// The next line, partial line, or end; `progress` advances by the bytes read.
    pub(crate) fn next(&mut self, progress: &mut Progress) -> Result<Item<'_>, Error> {
        self.advance(progress, false)
    }

    /// Like [`next`](Self::next), but an [`Item::Line`] holds every whole line buffered (at
    /// least one), each with its `\n`, numbered from `line`; for parsing in batches.
    pub(crate) fn next_chunk(&mut self, progress: &mut Progress) -> Result<Item<'_>, Error> {
        self.advance(progress, true)
    }

    fn advance(&mut self, progress: &mut Progress, chunk: bool) -> Result<Item<'_>, Error> {
        loop {
            let Some(open) = &mut self.open else {
                if self.next_file == self.files.len() {
                    return Ok(Item::End);
                }
                self.open(self.next_file)?;
                self.next_file += 1;
                continue;
            };
            let unread = &self.buf[self.start..self.end];
            let found = if chunk {
                memchr::memrchr(b'\n', unread)
            } else {
                memchr::memchr(b'\n', unread)
            };
            if let Some(at) = found {
                let begin = self.start;
                self.start += at + 1;
                let first = open.line + 1;
                let mut bytes = &self.buf[begin..self.start];
                if chunk {
                    open.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
                } else {
                    open.line += 1;
                    bytes = &bytes[..at];
                    if let [rest @ .., b'\r'] = bytes {
                        bytes = rest;
                    }
                }
                return Ok(Item::Line {
                    file: open.index,
                    line: first,
                    bytes,
                });
            }
            let read = self.fill()?;
            if read > 0 {
                progress.advance(read as u64);
                continue;
            }
            let Some(open) = &self.open else {
                continue;
            };
            // End of the file for now; what is left is a line still being written.
            let last = self.next_file == self.files.len();
            if self.follow && last && !self.draining {
                if !Self::replaced(self.files, open) {
                    return Ok(Item::Idle);
                }
                self.draining = true;
                continue;
            }
            let (file, line) = (open.index, open.line + 1);
            let partial = self.end > self.start;
            if self.draining {
                // Reopen the same path: the new file the writer rotated to.
                self.draining = false;
                self.next_file -= 1;
            }
            self.open = None;
            if partial {
                return Ok(Item::Partial { file, line });
            }
        }
    }
}

/// Counts of one pass over the input.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub(crate) records: u64,
    pub(crate) malformed: u64,
}

/// Numbers process segments as records go by: each stream starts one, and a START record that
/// is not the first record of its stream starts the next (runs appended to one file). Call ids
/// are unique within a segment only.
#[derive(Debug, Default)]
pub(crate) struct Segments {
    next: usize,
    current: usize,
    /// A record of the current stream was seen.
    seen: bool,
}

impl Segments {
    /// A new stream begins.
    pub(crate) fn stream(&mut self) {
        self.current = self.next;
        self.next += 1;
        self.seen = false;
    }

    /// The segment of `record`, which comes next in the current stream.
    pub(crate) fn of(&mut self, record: &Record<'_>) -> usize {
        if matches!(record.body, record::Body::Start(_)) && self.seen {
            self.current = self.next;
            self.next += 1;
        }
        self.seen = true;
        self.current
    }
}

/// Calls `visit(segment, place, record)` for every valid record of every stream, in order;
/// `segment` numbers the process segments from 0 (see [`Segments`]). Malformed lines are
/// reported as warnings (with their place) and skipped; so are partial last lines.
pub(crate) fn for_each_record(
    streams: &[Stream],
    progress: &mut Progress,
    mut visit: impl FnMut(usize, Place<'_>, Record<'_>) -> Result<(), Error>,
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let mut segments = Segments::default();
    for stream in streams {
        segments.stream();
        let mut reader = LineReader::new(stream, false);
        loop {
            match reader.next(progress)? {
                Item::Line { file, line, bytes } => {
                    let place = Place {
                        path: &stream.files[file],
                        line,
                    };
                    match record::parse(bytes, Strictness::Lenient) {
                        Ok(record) => {
                            summary.records += 1;
                            visit(segments.of(&record), place, record)?;
                        }
                        Err(error) => {
                            summary.malformed += 1;
                            progress.warn(format_args!("{place}: skipped: {error}"));
                        }
                    }
                }
                Item::Partial { file, line } => {
                    let place = Place {
                        path: &stream.files[file],
                        line,
                    };
                    progress.warn(format_args!("{place}: skipped a partial last line"));
                }
                Item::Idle | Item::End => break,
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_path_brings_its_rotated_files_oldest_first() -> Result<(), std::io::Error> {
        let dir = tempfile::tempdir()?;
        let base = dir.path().join("t.jsonl");
        for name in ["t.jsonl", "t.jsonl.1", "t.jsonl.2", "other.jsonl"] {
            std::fs::write(dir.path().join(name), "")?;
        }
        let other = dir.path().join("other.jsonl");
        let found = streams(&[base.clone(), other.clone()]);
        let expected = vec![
            Stream {
                files: vec![
                    dir.path().join("t.jsonl.2"),
                    dir.path().join("t.jsonl.1"),
                    base.clone(),
                ],
            },
            Stream { files: vec![other] },
        ];
        assert_eq!(found, expected);
        // A shell glob names them in another order and twice over: same stream.
        let globbed = streams(&[
            base.clone(),
            dir.path().join("t.jsonl.1"),
            dir.path().join("t.jsonl.2"),
        ]);
        assert_eq!(globbed, expected[..1]);
        Ok(())
    }

    #[test]
    fn a_partial_last_line_is_skipped_and_reported() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "one\r\ntwo\nthr")?;
        let stream = Stream { files: vec![path] };
        let mut reader = LineReader::new(&stream, false);
        let mut progress = Progress::hidden();
        let mut seen = Vec::new();
        loop {
            match reader.next(&mut progress)? {
                Item::Line { line, bytes, .. } => {
                    seen.push(format!("{line}:{}", String::from_utf8_lossy(bytes)));
                }
                Item::Partial { line, .. } => seen.push(format!("{line}:partial")),
                Item::Idle | Item::End => break,
            }
        }
        assert_eq!(seen, ["1:one", "2:two", "3:partial"]);
        Ok(())
    }

    #[test]
    fn lines_longer_than_the_buffer_are_whole() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.jsonl");
        let long = "x".repeat(BUFFER * 2 + 17);
        std::fs::write(&path, format!("a\n{long}\nb\n"))?;
        let stream = Stream { files: vec![path] };
        let mut reader = LineReader::new(&stream, false);
        let mut progress = Progress::hidden();
        let mut lengths = Vec::new();
        while let Item::Line { bytes, .. } = reader.next(&mut progress)? {
            lengths.push(bytes.len());
        }
        assert_eq!(lengths, [1, long.len(), 1]);
        Ok(())
    }
}
