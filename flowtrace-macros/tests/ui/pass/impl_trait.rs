use std::fmt::Display;

use flowtrace_runtime::flowtrace;

#[flowtrace]
fn describe(value: impl Display, items: impl IntoIterator<Item = u8>) -> impl Display {
    format!("{value}:{}", items.into_iter().count())
}

// The returned closure gets its parameter types from the declared return type only.
#[flowtrace]
fn measure() -> impl Fn(&str) -> usize {
    |text| text.len()
}

macro_rules! with_return_type {
    ($name:ident -> $ty:ty) => {
        #[flowtrace]
        fn $name(n: u64) -> $ty {
            async move { n * 2 }
        }
    };
}

with_return_type!(doubled -> impl std::future::Future<Output = u64>);

#[flowtrace]
async fn later(value: impl Display + Send) -> impl Display {
    value.to_string()
}

fn main() {
    assert_eq!(describe(1, vec![1, 2]).to_string(), "1:2");
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(later(3)).to_string(), "3");
    assert_eq!(measure()("four"), 4);
    assert_eq!(runtime.block_on(doubled(4)), 8);
}
