//! `flowtrace mcp` against a real MCP client that is not ours: the official MCP Python SDK
//! (PyPI `mcp`) runs `tests/mcp_client.py`, which starts the built `flowtrace mcp` over stdio,
//! lists the tools, calls each one on `tests/fixtures/chat.jsonl` and checks the results and
//! the error answers, then runs the README's workflow on `tests/fixtures/demo-chat.jsonl`.
//!
//! The SDK lives in a virtual environment next to the build, `target/mcp-venv`, which
//! `scripts/test` creates; without it this test fails and says so.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the whole client script may take (it sets a 60 s deadline of its own).
const DEADLINE: Duration = Duration::from_secs(120);

/// `target/mcp-venv`'s python, found from the binary's place (`target/<profile>/flowtrace`).
fn venv_python(binary: &Path) -> Option<PathBuf> {
    let target = binary.parent()?.parent()?;
    let venv = target.join("mcp-venv");
    ["bin/python3", "bin/python", "Scripts/python.exe"]
        .iter()
        .map(|name| venv.join(name))
        .find(|path| path.is_file())
}

#[test]
fn the_official_python_sdk_lists_and_calls_every_tool() {
    let binary = Path::new(env!("CARGO_BIN_EXE_flowtrace"));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = venv_python(binary) else {
        panic!(
            "no Python venv with the MCP SDK next to the build (target/mcp-venv): run \
             scripts/test, which creates it (python3 -m venv target/mcp-venv && \
             target/mcp-venv/bin/pip install mcp)"
        );
    };
    let mut child = Command::new(&python)
        .arg(manifest.join("tests/mcp_client.py"))
        .arg(binary)
        .arg(manifest.join("tests/fixtures/chat.jsonl"))
        .arg(manifest.join("tests/fixtures/demo-chat.jsonl"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    // Read both pipes on threads so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the MCP client script did not finish within {DEADLINE:?}");
            }
            Ok(None) => std::thread::park_timeout(Duration::from_millis(20)),
            Err(e) => panic!("waiting for the client script: {e}"),
        }
    };
    let (stdout, stderr) = (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    );
    assert!(
        status.success(),
        "the MCP client script failed ({status}):\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.trim(), "all checks passed: 9 tools", "{stderr}");
}
