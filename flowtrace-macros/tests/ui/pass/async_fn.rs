use flowtrace_runtime::flowtrace;

#[flowtrace]
async fn fetch(id: u64, label: &str) -> String {
    format!("{label}{id}")
}

#[flowtrace]
async fn borrowed<'a>(text: &'a str) -> &'a str {
    text
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let future = fetch(1, "a");
    assert_send(&future);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(future), "a1");
    assert_eq!(runtime.block_on(borrowed("x")), "x");
}
