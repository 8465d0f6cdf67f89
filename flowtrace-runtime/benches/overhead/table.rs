//! The summary printed after the criterion runs: medians side by side and the ratios the
//! README quotes, read back from criterion's estimates.

use std::path::PathBuf;

/// Where criterion keeps its estimates: `<target>/criterion`, next to `<target>/release`.
fn criterion_dir() -> Option<PathBuf> {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn median_ns(group: &str, variant: &str) -> Option<f64> {
    let path = criterion_dir()?
        .join(group)
        .join(variant)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> String {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => format!("{:.2}x", n / d),
        _ => "-".to_owned(),
    }
}

fn difference(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) => format!("{:+.1}", v - b),
        _ => "-".to_owned(),
    }
}

pub(crate) const VARIANTS: [&str; 9] = [
    "plain",
    "flowtrace-disabled",
    "tracing-disabled",
    "flowtrace-unsampled",
    "flowtrace-devnull",
    "flowtrace",
    "tracing-json",
    "fastrace",
    "fastrace-noargs",
];

/// Prints the medians, then the derived figures, then the thread CPU times measured apart.
pub(crate) fn print(groups: &[&str], thread_cpu: &[(String, f64)]) {
    println!(
        "\nmedian ns per call (per call per thread for two-threads; traced variants until written)"
    );
    print!("{:<12}", "group");
    for variant in VARIANTS {
        print!(" {variant:>20}");
    }
    println!();
    for group in groups {
        print!("{group:<12}");
        for variant in VARIANTS {
            print!(" {:>20}", show(median_ns(group, variant)));
        }
        println!();
    }
    println!(
        "\n{:<12} {:>16} {:>24} {:>18} {:>22} {:>22} {:>26}",
        "group",
        "disabled-plain",
        "tracing-disabled-plain",
        "unsampled-plain",
        "tracing/flowtrace",
        "fastrace/flowtrace",
        "fastrace-noargs/flowtrace"
    );
    for group in groups {
        let m = |variant: &str| median_ns(group, variant);
        println!(
            "{group:<12} {:>16} {:>24} {:>18} {:>22} {:>22} {:>26}",
            difference(m("flowtrace-disabled"), m("plain")),
            difference(m("tracing-disabled"), m("plain")),
            difference(m("flowtrace-unsampled"), m("plain")),
            ratio(m("tracing-json"), m("flowtrace")),
            ratio(m("fastrace"), m("flowtrace")),
            ratio(m("fastrace-noargs"), m("flowtrace")),
        );
    }
    println!("\ncalling thread's own CPU ns per call (writer on the other core, to /dev/null)");
    for (what, ns) in thread_cpu {
        println!("{what:<40} {ns:>8.1}");
    }
}
