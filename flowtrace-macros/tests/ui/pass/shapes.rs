use flowtrace_runtime::flowtrace;

struct Point {
    x: i32,
    y: i32,
}

#[flowtrace]
fn destructured((a, b): (u8, u8), Point { x, y: why }: Point, [first, ..]: [u8; 3]) -> i32 {
    i32::from(a) + i32::from(b) + x + why + i32::from(first)
}

#[flowtrace]
fn mutable(mut counter: u32, _: &str) -> u32 {
    counter += 1;
    counter
}

#[flowtrace]
unsafe fn raw_read(pointer: *const u8) -> u8 {
    unsafe { *pointer }
}

#[flowtrace]
fn r#type(r#match: u8) -> u8 {
    r#match
}

#[flowtrace]
extern "C" fn exported(value: i32) -> i32 {
    value
}

#[flowtrace]
fn returns_future(n: u64) -> impl std::future::Future<Output = u64> + Send {
    async move { n + 1 }
}

#[flowtrace]
fn diverges(message: &str) -> ! {
    panic!("{message}")
}

#[flowtrace]
async fn serves_forever(ticks: u64) -> ! {
    loop {
        tokio::task::yield_now().await;
        let _ = ticks;
    }
}

#[flowtrace]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

fn main() {
    assert_eq!(destructured((1, 2), Point { x: 3, y: 4 }, [5, 6, 7]), 15);
    assert_eq!(mutable(1, "x"), 2);
    let value = 9u8;
    assert_eq!(unsafe { raw_read(&value) }, 9);
    assert_eq!(r#type(3), 3);
    assert_eq!(exported(2), 2);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(returns_future(1)), 2);
    if value == 0 {
        diverges("never");
        runtime.block_on(serves_forever(1));
    }
    assert_eq!(caller_line(), line!());
}
