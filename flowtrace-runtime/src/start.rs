//! The START record that opens every process segment: which service, which process, which run.

use crate::ids::hex16;
use crate::json;
use crate::stamp::Stamp;

/// The service name: the configured one, else the executable's file name.
pub(crate) fn service_name(configured: Option<&str>) -> String {
    if let Some(name) = configured {
        return name.to_owned();
    }
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "unknown_service".to_owned())
}

/// `{"timestamp","event":"START","service","pid","instance","timestampMicros"}` and a newline.
pub(crate) fn line(service: &str, pid: u32, instance: u64, micros: u64) -> Vec<u8> {
    let mut stamp = Stamp::default();
    stamp.set(micros);
    let mut out = Vec::with_capacity(160 + service.len());
    out.extend_from_slice(b"{\"timestamp\":");
    out.extend_from_slice(stamp.millis());
    out.extend_from_slice(b",\"event\":\"START\",\"service\":");
    json::write_str(&mut out, service.as_bytes());
    out.extend_from_slice(b",\"pid\":");
    out.extend_from_slice(itoa::Buffer::new().format(pid).as_bytes());
    out.extend_from_slice(b",\"instance\":\"");
    out.extend_from_slice(&hex16(instance));
    out.extend_from_slice(b"\",\"timestampMicros\":");
    out.extend_from_slice(stamp.micros());
    out.extend_from_slice(b"}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_line_has_the_keys_in_order() {
        let text = String::from_utf8(line("chat \"a\"", 42, 0xbeef, 1_700_000_000_123_456))
            .expect("utf-8");
        assert_eq!(
            text,
            "{\"timestamp\":1700000000123,\"event\":\"START\",\"service\":\"chat \\\"a\\\"\",\
             \"pid\":42,\"instance\":\"000000000000beef\",\"timestampMicros\":1700000000123456}\n"
        );
    }

    #[test]
    fn service_defaults_to_the_executable() {
        assert_eq!(service_name(Some("chat")), "chat");
        let exe = std::env::current_exe().expect("test executable");
        let name = exe.file_name().expect("file name").to_string_lossy();
        assert_eq!(service_name(None), name);
    }
}
