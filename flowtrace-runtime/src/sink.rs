//! Where encoded lines end up: a file (with optional size-based rotation), stdout, or any
//! injected writer. A sink receives whole batches of whole lines and never leaves a partial line
//! behind in a file, even when a write fails half-way (the file is cut back to its last good size).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::config::{Output, Rotation};
use crate::error::Error;

pub(crate) enum Sink {
    File(FileSink),
    Stdout(Box<dyn Write + Send>),
    Writer(Box<dyn Write + Send>),
}

impl Sink {
    pub(crate) fn open(output: Output, rotation: Option<Rotation>) -> Result<Self, Error> {
        Ok(match output {
            Output::File(path) => Self::File(FileSink::open(path, rotation)?),
            Output::Stdout => Self::Stdout(stdout().map_err(Error::Stdout)?),
            Output::Writer(writer) => Self::Writer(writer),
        })
    }

    /// A name for messages: the file path, or what else it is.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::File(file) => format!("trace file {}", file.path.display()),
            Self::Stdout(_) => "stdout".to_owned(),
            Self::Writer(_) => "trace writer".to_owned(),
        }
    }

    /// Writes one batch of complete lines and flushes it.
    pub(crate) fn write_batch(&mut self, lines: &[u8]) -> io::Result<()> {
        match self {
            Self::File(file) => file.write_batch(lines),
            Self::Stdout(writer) | Self::Writer(writer) => {
                writer.write_all(lines)?;
                writer.flush()
            }
        }
    }
}

/// Standard output as a file of its own (a duplicate of descriptor 1), written without
/// `std::io::Stdout`'s lock: a program that holds `stdout().lock()` while it calls traced
/// functions would otherwise block the writer, and once its ring is full, itself. Lines go
/// out whole, never appended to a partial line still buffered in the program's `Stdout`.
#[cfg(unix)]
fn stdout() -> io::Result<Box<dyn Write + Send>> {
    use std::os::fd::AsFd;
    Ok(Box::new(File::from(
        io::stdout().as_fd().try_clone_to_owned()?,
    )))
}

#[cfg(not(unix))]
fn stdout() -> io::Result<Box<dyn Write + Send>> {
    Ok(Box::new(io::stdout()))
}

pub(crate) struct FileSink {
    path: PathBuf,
    file: File,
    /// Bytes in the current file, as far as we wrote them successfully.
    size: u64,
    rotation: Option<Rotation>,
}

impl FileSink {
    fn open(path: PathBuf, rotation: Option<Rotation>) -> Result<Self, Error> {
        let file = open_append(&path).map_err(|source| Error::OpenFile {
            path: path.clone(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            path,
            file,
            size,
            rotation,
        })
    }

    fn write_batch(&mut self, mut lines: &[u8]) -> io::Result<()> {
        let Some(rotation) = self.rotation else {
            return self.append(lines);
        };
        while !lines.is_empty() {
            let room = rotation.max_bytes.saturating_sub(self.size);
            if lines.len() as u64 <= room {
                return self.append(lines);
            }
            // Fill the current file with the whole lines that fit, then rotate.
            let fitting = lines[..room as usize]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |last| last + 1);
            if fitting == 0 && self.size == 0 {
                // A single line longer than the limit: it gets a file of its own.
                let end = lines
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(lines.len(), |n| n + 1);
                self.append(&lines[..end])?;
                lines = &lines[end..];
            } else {
                self.append(&lines[..fitting])?;
                lines = &lines[fitting..];
            }
            if !lines.is_empty() {
                self.rotate(rotation.max_files)?;
            }
        }
        Ok(())
    }

    fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        match self.file.write_all(lines) {
            Ok(()) => {
                self.size += lines.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Never leave half a line behind: cut the file back to the last whole line.
                let _ = self.file.set_len(self.size);
                Err(error)
            }
        }
    }

    /// `FILE.(n-1)` → `FILE.n` …, `FILE` → `FILE.1`, then a fresh `FILE`.
    fn rotate(&mut self, max_files: usize) -> io::Result<()> {
        let oldest = numbered(&self.path, max_files);
        match fs::remove_file(&oldest) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        for n in (1..max_files).rev() {
            let from = numbered(&self.path, n);
            if from.exists() {
                fs::rename(&from, numbered(&self.path, n + 1))?;
            }
        }
        fs::rename(&self.path, numbered(&self.path, 1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..count {
            let body = format!("{i:0>width$}", width = width - 1);
            out.extend_from_slice(body.as_bytes());
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn rotation_keeps_whole_lines_and_at_most_max_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        let rotation = Rotation {
            max_bytes: 25,
            max_files: 2,
        };
        let mut sink = FileSink::open(path.clone(), Some(rotation)).expect("open");
        // 10 lines of 10 bytes: files hold 2 lines each, so 5 files were written and 3 kept.
        sink.write_batch(&lines(10, 10)).expect("write");
        let read = |p: PathBuf| fs::read_to_string(p).expect("read");
        assert_eq!(read(path.clone()), "000000008\n000000009\n");
        assert_eq!(read(numbered(&path, 1)), "000000006\n000000007\n");
        assert_eq!(read(numbered(&path, 2)), "000000004\n000000005\n");
        assert!(!numbered(&path, 3).exists());
    }

    #[test]
    fn a_line_longer_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        let rotation = Rotation {
            max_bytes: 5,
            max_files: 3,
        };
        let mut sink = FileSink::open(path.clone(), Some(rotation)).expect("open");
        sink.write_batch(b"0123456789\nab\n").expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "ab\n");
        assert_eq!(
            fs::read_to_string(numbered(&path, 1)).expect("read"),
            "0123456789\n"
        );
    }

    #[test]
    fn appends_to_an_existing_file_and_counts_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        fs::write(&path, "old-line\n").expect("seed");
        let rotation = Rotation {
            max_bytes: 12,
            max_files: 1,
        };
        let mut sink = FileSink::open(path.clone(), Some(rotation)).expect("open");
        sink.write_batch(b"new-line\n").expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new-line\n");
        assert_eq!(
            fs::read_to_string(numbered(&path, 1)).expect("read"),
            "old-line\n"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn full_disk_is_an_error_not_a_panic() {
        let mut sink = FileSink::open(PathBuf::from("/dev/full"), None).expect("open /dev/full");
        assert!(sink.write_batch(b"line\n").is_err());
    }
}
