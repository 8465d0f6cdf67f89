use flowtrace_runtime::flowtrace;

#[flowtrace(name = "login", skip(session), redact(pin), fields(user_len = user.len(), kind = "web"), ret, max_arg_length = 40)]
fn login(user: &str, pin: u32, session: &mut Vec<u8>) -> bool {
    session.push(1);
    !user.is_empty() && pin > 0
}

#[flowtrace(skip_all)]
async fn quiet(_a: u8, _b: u8) {}

#[flowtrace(ret)]
async fn answer() -> u32 {
    42
}

fn main() {
    let mut session = Vec::new();
    assert!(login("ada", 1, &mut session));
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(quiet(1, 2));
    assert_eq!(runtime.block_on(answer()), 42);
}
