use std::fmt::Display;

use flowtrace_runtime::flowtrace;

#[flowtrace]
fn describe(value: impl Display, items: impl IntoIterator<Item = u8>) -> impl Display {
    format!("{value}:{}", items.into_iter().count())
}

#[flowtrace]
async fn later(value: impl Display + Send) -> impl Display {
    value.to_string()
}

fn main() {
    assert_eq!(describe(1, vec![1, 2]).to_string(), "1:2");
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(later(3)).to_string(), "3");
}
